// Issue 16, "progress you can trust", on a fanned-out job run by a pool of two workers on
// real Postgres, RabbitMQ, S3 and ffmpeg (a minute of LibriVox speech cut into ~15 s
// chunks). The engine is the deterministic one, reporting its progress as it goes at a
// known pace, so what is proven is the progress plumbing (chunk figures summed per job,
// cadence, attempt, partial text, stall), not recognition.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobEvent } from '@transcribe/contracts';
import { countStalledJobs, ensureTenant, listJobChunks, listJobEvents } from '@transcribe/db';
import { cancelJob } from '@transcribe/jobs';
import { createLogger } from '@transcribe/telemetry';
import {
  createFaultAudio,
  createTestEnv,
  type FaultAudio,
  type TestEnv,
} from '../../../packages/testkit/src/index.js';
import { waitFor } from '../../../packages/testkit/src/wait-for.js';
import { stalledSinceS } from '../../gateway/src/job-view.js';
import type { Engine } from '../src/engines/engine.js';
import { createDeterministicEngine } from './support/deterministic-engine.js';
import { startWorkerPool, type WorkerPool } from './support/worker-pool.js';

jest.setTimeout(600_000);
// 15 s chunks at 150 ms per audio second: ~2.3 s each, progress every 0.5 audio s.
const speech = createDeterministicEngine({ msPerAudioS: 150, progressStepS: 0.5 });
const hanging = createDeterministicEngine({ hang: () => true });
const logger = createLogger('progress-test', process.env.TEST_LOG_LEVEL ?? 'silent');

let env: TestEnv;
let workers: WorkerPool;
let tenantId: string;
let scratch: string;
let audio: FaultAudio;
let minute: string;
let poolCalls = 0;
let failOn: ((call: number) => boolean) | undefined;
let hangOn: ((call: number) => boolean) | undefined;

const engine: Engine = {
  name: 'sphinx',
  transcribe: (...args) => {
    poolCalls++;
    if (failOn?.(poolCalls))
      return Promise.reject(new Error(`engine exploded on call ${poolCalls}`));
    if (hangOn?.(poolCalls)) return hanging.transcribe(...args);
    return speech.transcribe(...args);
  },
};

beforeAll(async () => {
  env = await createTestEnv();
  tenantId = await ensureTenant(env.db, 'tenant-progress-fanout');
  scratch = await mkdtemp(join(tmpdir(), 'progress-scratch-'));
  audio = await createFaultAudio();
  minute = await audio.long(60);
  workers = await startWorkerPool({
    env,
    tenantId,
    scratch,
    logger,
    engines: [engine, engine],
    settings: { chunkS: 15, chunkWindowS: 4, leaseMs: 5000, progressIntervalMs: 500 },
  });
}, 120_000);

afterEach(() => {
  failOn = undefined;
  hangOn = undefined;
  poolCalls = 0;
});

afterAll(async () => {
  await workers?.close();
  await env?.close();
  await rm(scratch, { recursive: true, force: true });
  await audio?.close();
});

const submit = (file: string) => workers.submit(file);
const reload = (id: string) => workers.reload(id);
const settled = (id: string) => workers.settled(id);

type Progress = Extract<JobEvent, { type: 'progress' }>;
const progressOf = (events: JobEvent[]) =>
  events.filter((e): e is Progress => e.type === 'progress');
const gapsMs = (events: JobEvent[]) =>
  events.slice(1).map((e, i) => Date.parse(e.at) - Date.parse(events[i]!.at));

/** Progress and audio seconds never go back within an attempt, and every event says its attempt. */
function expectMonotonicPerAttempt(events: Progress[]) {
  const last = new Map<number, { progress: number; audioDoneS: number }>();
  for (const e of events) {
    expect(e.attempt).toBeDefined();
    const before = last.get(e.attempt!) ?? { progress: 0, audioDoneS: 0 };
    expect(e.progress).toBeGreaterThanOrEqual(before.progress);
    expect(e.audioDoneS ?? 0).toBeGreaterThanOrEqual(before.audioDoneS);
    last.set(e.attempt!, { progress: e.progress, audioDoneS: e.audioDoneS ?? 0 });
  }
}

it('moves while the chunks run elsewhere: transcribing before the first chunk lands, an event about every 2 s, at most ~2/s, partial text per chunk', async () => {
  const job = await submit(minute);
  const done = await settled(job.id);
  expect(done.status).toBe('completed');
  const chunks = await listJobChunks(env.db, job.id);
  expect(chunks.length).toBeGreaterThanOrEqual(3);

  const events = await listJobEvents(env.db, job.id, 0);
  const progress = progressOf(events);
  expectMonotonicPerAttempt(progress);
  expect(progress.every((e) => e.attempt === 1)).toBe(true);

  // `transcribing`, with audio seconds moving, before any chunk's result is stored.
  const firstPartial = events.find((e) => e.type === 'partial')!;
  const moving = progress.find((e) => e.stage === 'transcribing' && (e.audioDoneS ?? 0) > 0);
  expect(moving).toBeDefined();
  expect(moving!.seq).toBeLessThan(firstPartial.seq);
  expect(moving!.audioTotalS).toBeCloseTo(done.duration_s!, 0);

  // One `partial` per chunk, with its segments, before the completion.
  const partials = events.filter(
    (e): e is Extract<JobEvent, { type: 'partial' }> => e.type === 'partial',
  );
  expect(partials.map((p) => p.index).sort((a, b) => a - b)).toEqual(chunks.map((c) => c.index));
  for (const p of partials) {
    expect(p.segments.length).toBeGreaterThan(0);
    expect(p.segments[0]!.start).toBeGreaterThanOrEqual(p.startS - 0.01);
  }

  // Cadence: from the first progress event to the completion, never long without an
  // event, and never more than ~2 per second. The pacing runs on the database's clock and
  // an event's `at` is taken after its transaction began, so on a loaded machine single
  // gaps stretch or shrink by the delay: the bounds below are the 2 s heartbeat target and
  // the 450 ms pacing with that slack (a rate over a window, not a gap between two).
  const completed = events.find((e) => e.type === 'completed')!;
  const live = [...progress, completed];
  const gaps = gapsMs(live);
  logger.info({ maxGapMs: Math.max(...gaps) }, 'progress gaps');
  expect(Math.max(...gaps)).toBeLessThanOrEqual(3000);
  const sameStage = progress.slice(1).filter((e, i) => e.stage === progress[i]!.stage);
  for (const e of sameStage) {
    const at = Date.parse(e.at);
    const inLastSecond = sameStage.filter((o) => {
      const t = Date.parse(o.at);
      return t <= at && t > at - 1000;
    });
    expect(inLastSecond.length).toBeLessThanOrEqual(3);
  }
  // A measured ETA rides on the transcribing events once there is a measurement.
  const withEta = progress.filter((e) => e.stage === 'transcribing' && e.etaS !== undefined);
  expect(withEta.length).toBeGreaterThan(0);
});

it('restarts the progress visibly under the next attempt after a chunk fails', async () => {
  failOn = (call) => call === 3;
  const job = await submit(minute);
  const done = await settled(job.id);
  expect([done.status, done.attempts]).toEqual(['completed', 2]);
  const events = await listJobEvents(env.db, job.id, 0);
  const progress = progressOf(events);
  expectMonotonicPerAttempt(progress);
  const secondClaim = events.find((e) => e.type === 'processing' && e.attempt === 2)!;
  const after = progress.filter((e) => e.seq > secondClaim.seq);
  // Every progress event after the second claim is the second attempt's, starting again.
  expect(after.length).toBeGreaterThan(0);
  expect(after.every((e) => e.attempt === 2)).toBe(true);
  expect(after[0]!.stage).toBe('downloading');
  expect(progress.filter((e) => e.attempt === 1).length).toBeGreaterThan(0);
});

it('flags a job whose progress stopped moving, while its heartbeats still say the worker is alive', async () => {
  hangOn = () => true;
  const job = await submit(minute);
  // Chunks are hanging: the figure no longer moves.
  await waitFor(
    async () =>
      (await listJobChunks(env.db, job.id)).some((c) => c.done === false) &&
      (await reload(job.id)).stage === 'transcribing',
  );
  const stallAfterS = 2;
  await waitFor(async () => {
    const row = await reload(job.id);
    return (stalledSinceS(row, { now: new Date(), stallAfterS }) ?? 0) >= stallAfterS + 3;
  });
  expect(await countStalledJobs(env.db, stallAfterS)).toBeGreaterThanOrEqual(1);
  const row = await reload(job.id);
  expect(row.status).toBe('processing');
  // Heartbeats went on through the stall, with the same figure, never 2 s apart.
  const checkedAt = new Date().toISOString();
  const stalledFrom = row.progress_moved_at!.getTime();
  const beats = progressOf(await listJobEvents(env.db, job.id, 0)).filter(
    (e) => Date.parse(e.at) > stalledFrom,
  );
  expect(beats.length).toBeGreaterThanOrEqual(2);
  expect(new Set(beats.map((e) => e.audioDoneS)).size).toBe(1);
  const gaps = gapsMs([...beats, { ...beats.at(-1)!, at: checkedAt }]);
  expect(Math.max(...gaps)).toBeLessThanOrEqual(3000);

  await cancelJob(env.db, tenantId, job.id);
  workers.relay.kick();
  expect((await settled(job.id)).status).toBe('canceled');
  expect(await countStalledJobs(env.db, stallAfterS)).toBe(0);
});
