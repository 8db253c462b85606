// A long recording fanned out to a pool of two workers (two consumers, each with its own
// broker connection and handler) on real Postgres, RabbitMQ, S3 and ffmpeg. The engine is
// the deterministic one: what is proven is the fan-out (who runs which chunk, retries,
// cancel, the stitched text), not recognition, which pipeline.test.ts proves on pocketsphinx.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { ensureTenant, listJobChunks, listJobEvents, type JobRow } from '@transcribe/db';
import { cancelJob } from '@transcribe/jobs';
import { createLogger } from '@transcribe/telemetry';
import { createTestEnv, wordErrorRate, type TestEnv } from '../../../packages/testkit/src/index.js';
import { chunkObjectKey } from '../src/chunk-handler.js';
import type { Engine } from '../src/engines/engine.js';
import { joinLibrivox, type Recording } from './speech.js';
import { createDeterministicEngine } from './support/deterministic-engine.js';
import { startWorkerPool, type WorkerPool } from './support/worker-pool.js';
import { waitFor } from '../../../packages/testkit/src/wait-for.js';

// ffmpeg runs many times slower when other suites share the cores: wait on conditions
// with generous limits.
jest.setTimeout(600_000);
/** When set, chunk transcriptions finish only after it resolves. */
let chunksFinishAfter: Promise<unknown> | undefined;
const speech = createDeterministicEngine({ gate: () => chunksFinishAfter });
/** For chunks that must still be running when the test acts: only an abort ends them. */
const hanging = createDeterministicEngine({ hang: () => true });
const logger = createLogger('fanout-test', process.env.TEST_LOG_LEVEL ?? 'silent');

let env: TestEnv;
let workers: WorkerPool;
let tenantId: string;
let scratch: string;
let recording: Recording;

interface Worker {
  calls: number;
  /** Throws on the calls (1-based, across the pool) for which this returns true. */
  failOn?: (call: number) => boolean;
  /** Hangs, until aborted, on the calls (1-based, across the pool) for which this is true. */
  hangOn?: (call: number) => boolean;
}
const pool: Worker[] = [{ calls: 0 }, { calls: 0 }];
let poolCalls = 0;

function engineOf(worker: Worker): Engine {
  return {
    name: 'sphinx',
    transcribe: (...args) => {
      worker.calls++;
      poolCalls++;
      if (worker.failOn?.(poolCalls)) {
        return Promise.reject(new Error(`engine exploded on call ${poolCalls}`));
      }
      if (worker.hangOn?.(poolCalls)) return hanging.transcribe(...args);
      return speech.transcribe(...args);
    },
  };
}

beforeAll(async () => {
  env = await createTestEnv();
  tenantId = await ensureTenant(env.db, 'tenant-fanout');
  scratch = await mkdtemp(join(tmpdir(), 'fanout-scratch-'));
  recording = await joinLibrivox(join(scratch, '..', `fanout-${uuidv7()}.wav`), 1);
  speech.learn(recording);
  workers = await startWorkerPool({
    env,
    tenantId,
    scratch,
    logger,
    engines: pool.map(engineOf),
    settings: { chunkS: 7, chunkWindowS: 3, leaseMs: 3000, progressIntervalMs: 200 },
  });
}, 60_000);

afterEach(() => {
  for (const worker of pool) {
    worker.calls = 0;
    worker.failOn = undefined;
    worker.hangOn = undefined;
  }
  chunksFinishAfter = undefined;
  poolCalls = 0;
});

afterAll(async () => {
  await workers?.close();
  await env?.close();
  await rm(scratch, { recursive: true, force: true });
  if (recording) await rm(recording.file, { force: true });
});

const submit = (file: string) => workers.submit(file);
const settled = (id: string) => workers.settled(id);

/** Chunk objects of every attempt that are still in storage. */
async function leftoverChunkObjects(job: JobRow, chunks: number): Promise<string[]> {
  const left: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    for (let index = 0; index < chunks; index++) {
      const key = chunkObjectKey({ tenantId, jobId: job.id }, attempt, index);
      if (await env.storage.head(key)) left.push(key);
    }
  }
  return left;
}

it('spreads the chunks over the pool and completes the job exactly once', async () => {
  const job = await submit(recording.file);
  // Chunks finish only once the coordinator's `splitting` report is stored, so the events
  // below come in one order. (A late stage report can no longer move progress back: the
  // progress write orders stages, issue 16.)
  chunksFinishAfter = waitFor(
    async () =>
      (await listJobEvents(env.db, job.id, 0)).some(
        (e) => e.type === 'progress' && e.stage === 'splitting',
      ),
    { what: "the coordinator's splitting progress" },
  );
  const done = await settled(job.id);
  expect([done.status, done.attempts]).toEqual(['completed', 1]);

  const chunks = await listJobChunks(env.db, job.id);
  expect(chunks.length).toBeGreaterThanOrEqual(4);
  expect(chunks.every((c) => c.done)).toBe(true);
  // Every worker transcribed some of it, and no chunk was transcribed twice.
  expect(pool.map((w) => w.calls > 0)).toEqual([true, true]);
  expect(pool[0]!.calls + pool[1]!.calls).toBe(chunks.length);

  const events = await listJobEvents(env.db, job.id, 0);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events.filter((e) => e.type === 'completed')).toHaveLength(1);
  expect(events.at(-1)?.type).toBe('completed');
  const progress = events.flatMap((e) => (e.type === 'progress' ? [e.progress] : []));
  expect([...progress].sort((a, b) => a - b)).toEqual(progress);

  expect(done.text).toBe(
    chunks
      .map((c) => c.text)
      .filter(Boolean)
      .join(' '),
  );
  expect(wordErrorRate(recording.reference, done.text!)).toBeLessThan(0.8);
  let last = 0;
  for (const s of done.segments!) {
    expect(s.start).toBeGreaterThanOrEqual(last);
    last = s.end;
  }
  expect(last).toBeLessThanOrEqual(recording.durationS);
  // The chunks' words, stitched on the job row by whichever worker landed the last chunk.
  const words = done.words ?? [];
  expect(words.map((w) => w.word).join(' ')).toBe(done.text);
  words.forEach((w, i) => expect(w.start).toBeGreaterThanOrEqual(words[i - 1]?.end ?? 0));
  expect(words.at(-1)?.end).toBe(last);
  expect(done.duration_s).toBeCloseTo(recording.durationS, 1);
  expect(await leftoverChunkObjects(job, chunks.length)).toEqual([]);
  expect(await readdir(scratch)).toEqual([]);
});

it('retries the job after a chunk fails, keeping the chunks already done', async () => {
  // Calls 1 and 2 run at once on the two workers; call 3 starts after one of them stored
  // its chunk, and fails: the job is retried with that chunk kept.
  pool[0]!.failOn = (call) => call === 3;
  pool[1]!.failOn = (call) => call === 3;
  const job = await submit(recording.file);
  const done = await settled(job.id);
  expect([done.status, done.attempts]).toEqual(['completed', 2]);
  const chunks = await listJobChunks(env.db, job.id);
  expect(chunks.every((c) => c.done)).toBe(true);
  const byAttempt = await env.db
    .selectFrom('job_chunks')
    .select('attempt')
    .where('job_id', '=', job.id)
    .execute();
  // Chunks finished by the first attempt were kept, not transcribed again.
  expect(byAttempt.some((c) => c.attempt === 1)).toBe(true);
  expect(byAttempt.some((c) => c.attempt === 2)).toBe(true);
  const events = await listJobEvents(env.db, job.id, 0);
  expect(events.filter((e) => e.type === 'completed')).toHaveLength(1);
  expect(await leftoverChunkObjects(job, chunks.length)).toEqual([]);
});

it('stops every chunk of a canceled job and cleans up its chunk objects', async () => {
  // The first two chunks finish; every later one runs until the cancel aborts it.
  for (const worker of pool) worker.hangOn = (call) => call > 2;
  const job = await submit(recording.file);
  await waitFor(async () => (await listJobChunks(env.db, job.id)).some((c) => c.done));
  expect((await cancelJob(env.db, tenantId, job.id))?.status).toBe('canceled');
  const after = await settled(job.id);
  expect(after.status).toBe('canceled');
  // Chunk messages still queued are dropped (and their objects deleted) as they arrive.
  await waitFor(async () => (await leftoverChunkObjects(job, 8)).length === 0, {
    timeoutMs: 300_000,
  });
  const chunks = await listJobChunks(env.db, job.id);
  expect(chunks.filter((c) => c.done).length).toBeLessThan(chunks.length);
  const types = (await listJobEvents(env.db, job.id, 0)).map((e) => e.type);
  expect(types).not.toContain('completed');
  expect(types.at(-1)).toBe('canceled');
});
