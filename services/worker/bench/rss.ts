// Benchmark (not a test): peak memory of a real worker process on a 1-minute and a
// 60-minute recording of real speech, next to pocketsphinx's own on one chunk. The
// worker streams everything through disk, so its peak must not grow with the file.
//
//   pnpm bench:worker-rss      (env: CHUNK_SECONDS=300, BENCH_LONG_CHUNKS=2, FANOUT_MIN_CHUNKS=0)
//
// The 60-minute recording is downloaded, probed, normalised and split in full, then
// BENCH_LONG_CHUNKS chunks are transcribed and the job is canceled: transcribing all
// of it would take pocketsphinx most of an hour on one core and add nothing to the
// memory picture, since every chunk is the same size.
import { execFile, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { v7 as uuidv7 } from 'uuid';
import { ensureTenant, findJobById, listJobChunks } from '@transcribe/db';
import { cancelJob, insertQueuedJob } from '@transcribe/jobs';
import { createTestEnv, freePort, librivoxClips, startService } from '@transcribe/testkit';

const run = promisify(execFile);
const CHUNK_S = Number(process.env.CHUNK_SECONDS ?? 300);
const LONG_CHUNKS = Number(process.env.BENCH_LONG_CHUNKS ?? 2);
const MB = 1024;

interface Sample {
  /** VmHWM of the worker's node process: its exact peak so far. */
  nodePeakKb: number;
  nodeKb: number;
  /** VmRSS of the node process plus all its descendants (ffmpeg, pocketsphinx). */
  treeKb: number;
  children: number;
}

async function procStatus(pid: number): Promise<Record<string, number>> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(VmRSS|VmHWM):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

async function descendants(root: number): Promise<number[]> {
  const parent = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // The command name may contain spaces; the ppid is the second field after ')'.
    const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
    parent.set(Number(entry), ppid);
  }
  const found: number[] = [];
  const frontier = [root];
  while (frontier.length) {
    const p = frontier.pop()!;
    for (const [pid, pp] of parent) {
      if (pp === p) {
        found.push(pid);
        frontier.push(pid);
      }
    }
  }
  return found;
}

async function sample(pid: number): Promise<Sample> {
  const root = await procStatus(pid);
  const kids = await descendants(pid);
  const kidRss = await Promise.all(kids.map(async (k) => (await procStatus(k)).VmRSS ?? 0));
  return {
    nodePeakKb: root.VmHWM ?? 0,
    nodeKb: root.VmRSS ?? 0,
    treeKb: (root.VmRSS ?? 0) + kidRss.reduce((a, b) => a + b, 0),
    children: kids.length,
  };
}

/** Peak RSS of a command run on its own, sampled from /proc (VmHWM at exit). */
async function engineAlone(wav: string): Promise<{ peakKb: number; seconds: number }> {
  const started = Date.now();
  const child = spawn(
    'pocketsphinx_continuous',
    ['-infile', wav, '-time', 'yes', '-logfn', '/dev/null'],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  let peakKb = 0;
  const timer = setInterval(() => {
    void procStatus(child.pid!).then((s) => (peakKb = Math.max(peakKb, s.VmHWM ?? 0)));
  }, 100);
  await new Promise((resolve) => child.on('exit', resolve));
  clearInterval(timer);
  return { peakKb, seconds: (Date.now() - started) / 1000 };
}

async function ffmpeg(...args: string[]) {
  await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args], { maxBuffer: 1 << 20 });
}

/** The five LibriVox clips with pauses, looped to `seconds` (16 kHz mono WAV). */
async function speech(dir: string, seconds: number): Promise<string> {
  const round = join(dir, 'round.wav');
  if (!(await stat(round).catch(() => undefined))) {
    const clips = librivoxClips();
    const inputs = clips.flatMap((c) => ['-i', c.wav]);
    const pads = clips.map((_, i) => `[${i}:a]aresample=16000,apad=pad_dur=0.8[a${i}]`);
    const labels = clips.map((_, i) => `[a${i}]`).join('');
    await ffmpeg(
      ...inputs,
      '-filter_complex',
      `${pads.join(';')};${labels}concat=n=${clips.length}:v=0:a=1[out]`,
      '-map',
      '[out]',
      '-ac',
      '1',
      '-ar',
      '16000',
      round,
    );
  }
  const out = join(dir, `speech-${seconds}s.wav`);
  await ffmpeg('-stream_loop', '-1', '-i', round, '-t', String(seconds), '-c', 'copy', out);
  return out;
}

interface RunResult {
  label: string;
  fileMb: number;
  nodePeakMb: number;
  treePeakPrepareMb: number;
  treePeakTranscribeMb: number;
  chunksDone: number;
  chunks: number;
  status: string;
  /** Peak sampled RSS of the node process alone, by the job's stage. */
  nodeByStageMb: Record<string, number>;
  processingS: number;
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'bench-rss-'));
  const env = await createTestEnv();
  try {
    const tenantId = await ensureTenant(env.db, 'bench');
    console.log(`making recordings in ${dir} (chunks of ${CHUNK_S} s)…`);
    const oneMinute = await speech(dir, 60);
    const sixtyMinutes = await speech(dir, 3600);

    const chunkWav = join(dir, 'one-chunk.wav');
    await ffmpeg('-i', sixtyMinutes, '-t', String(CHUNK_S), '-c', 'copy', chunkWav);
    const engine = await engineAlone(chunkWav);
    const rawMinute = await engineAlone(oneMinute);

    const results: RunResult[] = [];
    for (const [label, file, stopAfter] of [
      ['1 minute', oneMinute, Infinity],
      ['60 minutes', sixtyMinutes, LONG_CHUNKS],
    ] as const) {
      results.push(await runWorker(env, tenantId, label, file, stopAfter));
    }

    const engineMb = engine.peakKb / MB;
    const f = (n: number) => n.toFixed(1).padStart(7);
    console.log('');
    console.log(
      `pocketsphinx alone on one ${CHUNK_S} s chunk: peak RSS ${engineMb.toFixed(1)} MB (${engine.seconds.toFixed(1)} s)`,
    );
    console.log(
      'recording    file MB  node peak  tree peak: prepare  transcribe  (tree − engine)  chunks  status',
    );
    for (const r of results) {
      const treePeak = Math.max(r.treePeakPrepareMb, r.treePeakTranscribeMb);
      console.log(
        `${r.label.padEnd(11)} ${f(r.fileMb)} ${f(r.nodePeakMb)}   ${f(r.treePeakPrepareMb)}     ${f(r.treePeakTranscribeMb)}   ${f(treePeak - engineMb)}       ${r.chunksDone}/${r.chunks}  ${r.status}`,
      );
    }
    for (const r of results) {
      const stages = Object.entries(r.nodeByStageMb).map(([k, v]) => `${k} ${v}`);
      console.log(`${r.label}: node process RSS by stage (MB): ${stages.join(', ')}`);
    }
    const [minute] = results;
    if (minute && minute.status === 'completed') {
      console.log(
        `\n1 minute: worker ${minute.processingS.toFixed(1)} s (download→completed) vs pocketsphinx alone ${rawMinute.seconds.toFixed(1)} s: ratio ${(minute.processingS / rawMinute.seconds).toFixed(2)}`,
      );
    }
    console.log(
      'MB = MiB of resident memory; "tree" = worker node process + ffmpeg/pocketsphinx children.',
    );
  } finally {
    await env.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function runWorker(
  env: Awaited<ReturnType<typeof createTestEnv>>,
  tenantId: string,
  label: string,
  file: string,
  stopAfterChunks: number,
): Promise<RunResult> {
  const port = await freePort();
  const worker = await startService(
    'worker',
    {
      ...env.env,
      METRICS_PORT: String(port),
      CHUNK_SECONDS: String(CHUNK_S),
      // 0: chunks transcribed where the job was claimed; set it to measure the fan-out path.
      FANOUT_MIN_CHUNKS: process.env.FANOUT_MIN_CHUNKS ?? '0',
      LOG_LEVEL: 'warn',
    },
    `http://127.0.0.1:${port}/readyz`,
  );
  const pid = worker.child.pid!;
  try {
    const id = uuidv7();
    const key = `${tenantId}/${id}/speech.wav`;
    await env.storage.upload(key, createReadStream(file), 'audio/wav');
    const sizeBytes = (await stat(file)).size;
    await env.db.transaction().execute((trx) =>
      insertQueuedJob(trx, {
        id,
        tenant_id: tenantId,
        priority: 'default',
        object_key: key,
        filename: 'speech.wav',
        content_type: 'audio/wav',
        size_bytes: sizeBytes,
        language: 'en',
        engine: 'sphinx',
      }),
    );

    let nodePeakKb = 0;
    const nodeByStage: Record<string, number> = {};
    let prepareKb = 0;
    let transcribeKb = 0;
    let stage = 'queued';
    let status = 'queued';
    let canceled = false;
    let chunksDone = 0;
    let chunks = 0;
    let lastPoll = 0;
    const started = Date.now();
    for (;;) {
      const s = await sample(pid);
      nodePeakKb = Math.max(nodePeakKb, s.nodePeakKb);
      nodeByStage[stage] = Math.max(nodeByStage[stage] ?? 0, s.nodeKb);
      if (stage === 'transcribing') transcribeKb = Math.max(transcribeKb, s.treeKb);
      else prepareKb = Math.max(prepareKb, s.treeKb);
      if (Date.now() - lastPoll > 1000) {
        lastPoll = Date.now();
        const job = await findJobById(env.db, id);
        stage = job?.stage ?? stage;
        status = job?.status ?? status;
        const list = await listJobChunks(env.db, id);
        chunks = list.length;
        chunksDone = list.filter((c) => c.done).length;
        process.stdout.write(`\r${label}: ${status} ${stage} ${chunksDone}/${chunks} chunks   `);
        if (!canceled && chunksDone >= stopAfterChunks && status === 'processing') {
          canceled = true;
          await cancelJob(env.db, tenantId, id);
        }
        if (['completed', 'failed', 'canceled'].includes(status) && s.children === 0) break;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    const job = await findJobById(env.db, id);
    process.stdout.write('\n');
    return {
      label,
      fileMb: (await stat(file)).size / MB / MB,
      nodePeakMb: nodePeakKb / MB,
      treePeakPrepareMb: prepareKb / MB,
      treePeakTranscribeMb: transcribeKb / MB,
      chunksDone,
      chunks,
      status: canceled ? `canceled after ${chunksDone} chunks` : status,
      nodeByStageMb: Object.fromEntries(
        Object.entries(nodeByStage).map(([k, v]) => [k, Math.round(v / MB)]),
      ),
      processingS: (job?.processing_ms ?? Date.now() - started) / 1000,
    };
  } finally {
    await worker.stop();
  }
}

await main();
