// ETA accuracy benchmark (issue 16; not a test): recordings of 1–60 minutes of real speech
// (Debian's LibriVox clips, looped) each go through a running stack (built gateway,
// notifier and two workers as processes, pocketsphinx, default chunking; local Postgres
// and RabbitMQ, embedded S3), one at a time. For each, the `etaS` of the first progress
// event at or after 50 % of the audio transcribed is compared with the time that really
// remained until the job's `completed` event (both from the stored events' own `at`).
// Target: |eta − true| / true ≤ 20 %.
// Run: `pnpm bench:eta` or `pnpm bench:eta --minutes 1,5` (default 1,5,15,30,60).
// The emitted JS lands beside this file (ignored by git) so the relative import of the
// built testkit resolves from both.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createFaultAudio,
  createTestEnv,
  startStack,
  submitRecording,
} from '../packages/testkit/dist/index.js';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '1,5,15,30,60' } },
});
const minutesList = values.minutes
  .split(',')
  .map((m) => Number(m.trim()))
  .filter((m) => m > 0);

const watchdog = setTimeout(
  () => {
    console.error('benchmark ran past its limit; giving up');
    process.exit(1);
  },
  (30 + 3 * minutesList.reduce((a, b) => a + b, 0)) * 60_000,
);

interface StoredEvent {
  type: string;
  seq: number;
  at: string;
  progress?: number;
  stage?: string;
  audioDoneS?: number;
  audioTotalS?: number;
  etaS?: number;
}

interface Row {
  minutes: number;
  audioS: number;
  processingS: number;
  /** When the 50 % event came, seconds after transcription's first progress event. */
  halfAtS: number;
  etaS: number | null;
  trueS: number;
  error: number | null;
  /**
   * Audio per wall second after the 50 % event over before it (from the first audio): how
   * much the machine's speed changed under the job. An ETA from measured throughput cannot
   * foresee that; on a shared machine it is most of the error.
   */
  speedChange: number | null;
  /** [seconds since the first transcribing event, audio s done, etaS] of every transcribing event (≤ 200). */
  trace: [number, number, number | null][];
  /** Each chunk: [length s, began, finished] (seconds since the first transcribing event). */
  chunks: [number, number | null, number | null][];
}

const env = await createTestEnv();
const dir = await mkdtemp(join(tmpdir(), 'bench-eta-'));
const audio = await createFaultAudio();
const key = `bench-eta-${randomBytes(8).toString('hex')}`;
const stack = await startStack({
  env: { ...env.env, DEV_API_KEY: key, LOG_LEVEL: 'warn' },
  workers: 2,
});
const api = (path: string, init: RequestInit = {}) =>
  fetch(`${stack.gatewayUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, ...init.headers },
  });

/** `minutes` of speech as 32 kb/s MP3 (small enough for the form upload): a minute of clips, looped. */
async function recording(minutes: number, minute: string): Promise<string> {
  const out = join(dir, `speech-${minutes}m.mp3`);
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-stream_loop',
    String(minutes - 1),
    '-i',
    minute,
    '-ac',
    '1',
    '-ar',
    '16000',
    '-c:a',
    'libmp3lame',
    '-b:a',
    '32k',
    '-y',
    out,
  ]);
  return out;
}

async function events(jobId: string): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  for (;;) {
    const res = await api(`/v1/jobs/${jobId}/events?after=${all.at(-1)?.seq ?? 0}`);
    const body = (await res.json()) as { events: StoredEvent[] };
    if (body.events.length === 0) return all;
    all.push(...body.events);
  }
}

async function run(minutes: number, minute: string): Promise<Row> {
  const file = await recording(minutes, minute);
  const jobId = await submitRecording(stack.gatewayUrl, key, {
    bytes: await readFile(file),
    name: `speech-${minutes}m.mp3`,
    type: 'audio/mpeg',
  });

  for (;;) {
    const status = ((await (await api(`/v1/jobs/${jobId}`)).json()) as { status: string }).status;
    if (status === 'completed') break;
    if (status === 'failed' || status === 'canceled') throw new Error(`job ${status}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const all = await events(jobId);
  const progress = all.filter((e) => e.type === 'progress' && e.stage === 'transcribing');
  const completed = all.find((e) => e.type === 'completed')!;
  const processing = all.find((e) => e.type === 'processing')!;
  const half = progress.find((e) => (e.audioDoneS ?? 0) >= 0.5 * (e.audioTotalS ?? Infinity));
  if (!half) throw new Error('no progress event at or after 50 %');
  const trueS = (Date.parse(completed.at) - Date.parse(half.at)) / 1000;
  const t0 = Date.parse(progress[0]!.at);
  const since = (d: Date | null) => (d ? Math.round(d.getTime() - t0) / 1000 : null);
  const chunks = (
    await env.db
      .selectFrom('job_chunks')
      .select(['start_s', 'end_s', 'started_at', 'finished_at'])
      .where('job_id', '=', jobId)
      .orderBy('index')
      .execute()
  ).map((c): [number, number | null, number | null] => [
    Math.round(c.end_s - c.start_s),
    since(c.started_at),
    since(c.finished_at),
  ]);
  const etaS = half.etaS ?? null;
  const firstAudio = progress.find((e) => (e.audioDoneS ?? 0) > 0);
  const before = firstAudio
    ? ((half.audioDoneS ?? 0) - (firstAudio.audioDoneS ?? 0)) /
      ((Date.parse(half.at) - Date.parse(firstAudio.at)) / 1000)
    : NaN;
  const after = ((half.audioTotalS ?? 0) - (half.audioDoneS ?? 0)) / trueS;
  const speedChange = Number.isFinite(before) && before > 0 ? after / before : null;
  return {
    minutes,
    audioS: half.audioTotalS ?? 0,
    processingS: (Date.parse(completed.at) - Date.parse(processing.at)) / 1000,
    halfAtS: (Date.parse(half.at) - Date.parse(progress[0]!.at)) / 1000,
    etaS,
    trueS,
    error: etaS === null ? null : (etaS - trueS) / trueS,
    speedChange,
    trace: progress
      .filter((_, i) => i % Math.max(1, Math.ceil(progress.length / 200)) === 0)
      .map((e) => [
        Math.round(Date.parse(e.at) - Date.parse(progress[0]!.at)) / 1000,
        e.audioDoneS ?? 0,
        e.etaS ?? null,
      ]),
    chunks,
  };
}

const pct = (x: number | null) => (x === null ? '     –' : `${(x * 100).toFixed(1).padStart(6)}%`);
try {
  const minute = await audio.long(60);
  const rows: Row[] = [];
  for (const minutes of minutesList) {
    const row = await run(minutes, minute);
    rows.push(row);
    console.error(`done: ${minutes} min (load ${loadavg()[0]!.toFixed(1)})`);
  }
  // The error had the machine kept its speed: the true remaining time scaled by how much
  // slower (or faster) the second half ran. What is left is the estimator's own error.
  const steadyError = (r: Row) =>
    r.etaS === null || !r.speedChange ? null : r.etaS / (r.trueS * r.speedChange) - 1;
  console.log(
    'minutes  audio s  processing s  50% at s   eta s   true s   error  speed after/before  error at steady speed',
  );
  for (const r of rows) {
    console.log(
      `${String(r.minutes).padStart(7)}  ${r.audioS.toFixed(0).padStart(7)}  ${r.processingS.toFixed(1).padStart(12)}  ${r.halfAtS.toFixed(1).padStart(8)}  ${(r.etaS ?? NaN).toFixed(1).padStart(6)}  ${r.trueS.toFixed(1).padStart(7)}  ${pct(r.error)}  ${(r.speedChange ?? NaN).toFixed(2).padStart(18)}  ${pct(steadyError(r)).padStart(21)}`,
    );
  }
  const errors = rows.flatMap((r) => (r.error === null ? [] : [r.error])).sort((a, b) => a - b);
  const median = errors.length
    ? errors.length % 2
      ? errors[(errors.length - 1) / 2]!
      : (errors[errors.length / 2 - 1]! + errors[errors.length / 2]!) / 2
    : null;
  const within = errors.filter((e) => Math.abs(e) <= 0.2).length;
  console.log(
    `error (eta − true) / true: min ${pct(errors[0] ?? null)}, median ${pct(median)}, max ${pct(errors.at(-1) ?? null)}; within ±20 %: ${within}/${rows.length}`,
  );
  console.log(
    JSON.stringify({
      rows,
      errors: { min: errors[0], median, max: errors.at(-1) },
      loadavg: loadavg(),
    }),
  );
} finally {
  clearTimeout(watchdog);
  await stack.stop();
  await audio.close();
  await env.close();
  await rm(dir, { recursive: true, force: true });
}
