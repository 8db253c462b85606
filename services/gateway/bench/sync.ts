// Synchronous-path benchmark (not a test): request → response of `POST /v1/audio/transcriptions`
// for a 10 s clip cut from jfk.wav, through a running stack (built gateway, notifier and one
// worker as processes; Postgres, RabbitMQ, embedded S3), against pocketsphinx run directly on
// the same file (ffmpeg decode + pocketsphinx_continuous, nothing of ours), interleaved in the
// same run so both see the same machine load. Target: p95(sync) ≤ p95(direct) + 300 ms.
// Run: `pnpm bench:sync` (needs the local Postgres and RabbitMQ). BENCH_RUNS (default 20).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestEnv, fixturesDir, rawSphinxTranscript, startStack } from '@transcribe/testkit';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const WARMUP = 2;

// Everything is bounded: a stuck run ends itself.
const watchdog = setTimeout(() => {
  console.error('benchmark took over 15 minutes; giving up');
  process.exit(1);
}, 15 * 60_000);

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const summary = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted.at(-1)! };
};
const fmt = (n: number) => `${n.toFixed(0).padStart(6)} ms`;

const env = await createTestEnv();
const dir = await mkdtemp(join(tmpdir(), 'bench-sync-'));
const key = `bench-sync-${randomBytes(8).toString('hex')}`;
const clip = join(dir, 'jfk-10s.wav');
execFileSync('ffmpeg', [
  '-v',
  'error',
  '-i',
  join(fixturesDir(), 'audio', 'jfk.wav'),
  '-t',
  '10',
  clip,
]);
const bytes = await readFile(clip);
const stack = await startStack({ env: { ...env.env, DEV_API_KEY: key, LOG_LEVEL: 'warn' } });

/** Request → response, and the part of it the worker spent on the job (claim → completed). */
async function viaGateway(): Promise<{ ms: number; workerMs: number }> {
  const form = new FormData();
  form.set('model', 'whisper-1');
  form.set('response_format', 'json');
  form.set('file', new Blob([bytes], { type: 'audio/wav' }), 'jfk-10s.wav');
  const started = performance.now();
  const res = await fetch(`${stack.gatewayUrl}/v1/audio/transcriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  const body = (await res.json()) as { text?: string };
  const ms = performance.now() - started;
  if (res.status !== 200 || !body.text) throw new Error(`${res.status} ${JSON.stringify(body)}`);
  const job = (await (
    await fetch(`${stack.gatewayUrl}/v1/jobs/${res.headers.get('x-transcribe-job-id')}`, {
      headers: { authorization: `Bearer ${key}` },
    })
  ).json()) as { startedAt: string; finishedAt: string };
  return { ms, workerMs: Date.parse(job.finishedAt) - Date.parse(job.startedAt) };
}

async function direct(): Promise<number> {
  const started = performance.now();
  const text = await rawSphinxTranscript(clip);
  const ms = performance.now() - started;
  if (!text) throw new Error('pocketsphinx recognised nothing');
  return ms;
}

try {
  for (let i = 0; i < WARMUP; i++) {
    await viaGateway();
    await direct();
  }
  const sync: number[] = [];
  const engine: number[] = [];
  // Request time not spent in the worker's job: upload, queueing, claim, completion push, answer.
  const outside: number[] = [];
  const measure = async () => {
    const { ms, workerMs } = await viaGateway();
    sync.push(ms);
    outside.push(ms - workerMs);
  };
  const loadBefore = loadavg()[0]!;
  for (let i = 0; i < RUNS; i++) {
    // Alternating order, one at a time: neither side runs on a machine the other is loading.
    if (i % 2 === 0) {
      await measure();
      engine.push(await direct());
    } else {
      engine.push(await direct());
      await measure();
    }
  }
  const s = summary(sync);
  const e = summary(engine);
  const o = summary(outside);
  console.log(
    `10 s clip, ${RUNS} runs each, load average ${loadBefore.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}`,
  );
  console.log(`                                p50        p95        max`);
  console.log(`POST /v1/audio/transcriptions ${fmt(s.p50)} ${fmt(s.p95)} ${fmt(s.max)}`);
  console.log(`pocketsphinx directly         ${fmt(e.p50)} ${fmt(e.p95)} ${fmt(e.max)}`);
  console.log(`difference                    ${fmt(s.p50 - e.p50)} ${fmt(s.p95 - e.p95)}`);
  console.log(`outside the worker's job      ${fmt(o.p50)} ${fmt(o.p95)} ${fmt(o.max)}`);
  const ok = s.p95 <= e.p95 + 300;
  console.log(ok ? 'within target (p95 ≤ direct + 300 ms)' : 'OVER target (p95 > direct + 300 ms)');
} finally {
  await stack.stop();
  await env.close();
  await rm(dir, { recursive: true, force: true });
  clearTimeout(watchdog);
}
