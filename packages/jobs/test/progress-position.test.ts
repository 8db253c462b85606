// Issue 16 on a real Postgres: a job's progress summed over its chunks (monotonic within an
// attempt, restarting under a new one), its events paced per job, and queued jobs' places
// and their `position` events. The worker's side (engines, heartbeats, fan-out) is in
// services/worker/test/progress-*.test.ts.
import { randomUUID } from 'node:crypto';
import {
  ensureChunkPlan,
  ensureTenant,
  findJobById,
  listJobEvents,
  type JobRow,
} from '@transcribe/db';
import { sql } from 'kysely';
import { createTestEnv, type TestEnv } from '../../testkit/src/index.js';
import {
  announcePositions,
  claimAttempt,
  estimateChunkedEtaS,
  estimateEtaS,
  estimateStart,
  insertQueuedJob,
  queuePositions,
  reportProgress,
  requeueForRetry,
  storeChunk,
} from '../src/index.js';

let env: TestEnv;
let tenantId: string;
const LEASE_MS = 60_000;

beforeAll(async () => {
  env = await createTestEnv();
  tenantId = await ensureTenant(env.db, 'tenant-progress');
}, 60_000);

afterAll(async () => {
  await env?.close();
});

async function queued(priority: 'low' | 'default' | 'high' = 'default'): Promise<JobRow> {
  const id = randomUUID();
  return insertQueuedJob(env.db, {
    id,
    tenant_id: tenantId,
    priority,
    object_key: `${tenantId}/${id}/a.wav`,
    filename: 'a.wav',
    content_type: 'audio/wav',
    size_bytes: 1,
    language: 'en',
    engine: 'sphinx',
  });
}

const progressEvents = async (id: string) =>
  (await listJobEvents(env.db, id, 0)).filter((e) => e.type === 'progress');

it('derives the job figure from its chunks, never going back within an attempt', async () => {
  const job = (await claimAttempt(env.db, (await queued()).id, { leaseMs: LEASE_MS }))!;
  await ensureChunkPlan(env.db, job.id, [
    { startS: 0, endS: 30 },
    { startS: 30, endS: 60 },
  ]);
  const report = (index: number, doneS: number) =>
    reportProgress(env.db, job, {
      progress: 0,
      stage: 'transcribing',
      chunk: { index, doneS },
      leaseMs: LEASE_MS,
    });
  expect(await report(0, 6)).toBe(true);
  expect(await report(1, 9)).toBe(true);
  // A late, lower figure of chunk 0 (a reordered write) changes nothing.
  expect(await report(0, 3)).toBe(true);
  let row = (await findJobById(env.db, job.id))!;
  expect(row.audio_done_s).toBeCloseTo(15, 5);
  expect(row.progress).toBeCloseTo(10 + (88 * 15) / 60, 1);
  expect(row.stage).toBe('transcribing');
  // A late report of an earlier stage keeps the later one.
  await reportProgress(env.db, job, { progress: 9, stage: 'splitting', leaseMs: LEASE_MS });
  row = (await findJobById(env.db, job.id))!;
  expect(row.stage).toBe('transcribing');

  // Chunk 0 stored: counted whole, with a partial event carrying its segments.
  const segments = [{ start: 1, end: 4, text: 'hello there' }];
  expect(
    await storeChunk(env.db, job, {
      index: 0,
      startS: 0,
      endS: 30,
      text: 'hello there',
      segments,
      model: null,
      processingMs: 10,
    }),
  ).toBe(true);
  await report(1, 10);
  row = (await findJobById(env.db, job.id))!;
  expect(row.audio_done_s).toBeCloseTo(40, 5);
  const events = await listJobEvents(env.db, job.id, 0);
  const partial = events.find((e) => e.type === 'partial');
  expect(partial).toMatchObject({ attempt: job.attempts, index: 0, startS: 0, endS: 30, segments });

  // Every progress event carries the attempt, and never goes back within it.
  const progress = await progressEvents(job.id);
  expect(progress.length).toBeGreaterThan(0);
  let last = -1;
  for (const e of progress) {
    expect(e.type === 'progress' && e.attempt).toBe(job.attempts);
    if (e.type === 'progress') {
      expect(e.progress).toBeGreaterThanOrEqual(last);
      last = e.progress;
    }
  }

  // A retry: the next attempt starts from its own figure (chunk 0 stays stored, chunk 1
  // starts again) and says which attempt it is.
  expect(await requeueForRetry(env.db, row, { level: 1, delayMs: 1000 })).toBe(true);
  const second = (await claimAttempt(env.db, job.id, { leaseMs: LEASE_MS }))!;
  expect(second.attempts).toBe(job.attempts + 1);
  expect(second.progress).toBe(0);
  await reportProgress(env.db, second, {
    progress: 0,
    stage: 'transcribing',
    chunk: { index: 1, doneS: 2 },
    leaseMs: LEASE_MS,
  });
  const after = (await progressEvents(job.id)).at(-1)!;
  expect(after).toMatchObject({ attempt: second.attempts, audioDoneS: 32, audioTotalS: 60 });
});

it('paces events per job: a burst of reports is at most one event per ~0.5 s, stage changes excepted', async () => {
  const job = (await claimAttempt(env.db, (await queued()).id, { leaseMs: LEASE_MS }))!;
  await ensureChunkPlan(env.db, job.id, [{ startS: 0, endS: 100 }]);
  const started = Date.now();
  for (let i = 1; i <= 20; i++) {
    await reportProgress(env.db, job, {
      progress: 0,
      stage: 'transcribing',
      chunk: { index: 0, doneS: i },
      leaseMs: LEASE_MS,
    });
  }
  const elapsedMs = Date.now() - started;
  const events = await progressEvents(job.id);
  // One event, then one more per 450 ms the burst took at most (not one per report).
  expect(events.length).toBeLessThanOrEqual(1 + Math.floor(elapsedMs / 450));
  expect(events.length).toBeLessThan(20);
  // The row has the latest figure all the same.
  expect((await findJobById(env.db, job.id))!.audio_done_s).toBeCloseTo(20, 5);
});

it('estimates the time left from the measured throughput', () => {
  // 30 s of audio done in 10 s: 3 audio s per s; 90 s left → 30 s.
  expect(estimateEtaS({ doneS: 30, baseS: 0, totalS: 120, elapsedS: 10 })).toBeCloseTo(30, 5);
  // Audio stored by an earlier attempt is not this attempt's throughput.
  expect(estimateEtaS({ doneS: 60, baseS: 30, totalS: 120, elapsedS: 10 })).toBeCloseTo(20, 5);
  // Nothing measured yet: no estimate.
  expect(estimateEtaS({ doneS: 0, baseS: 0, totalS: 120, elapsedS: 10 })).toBeNull();
  // Between reports it counts down by the time since the figure last moved.
  expect(
    estimateEtaS({ doneS: 30, baseS: 0, totalS: 120, elapsedS: 10, sinceMoveS: 4 }),
  ).toBeCloseTo(26, 5);
});

it('follows a short recording’s measured rate, not its first estimates', async () => {
  // Reported per utterance, as pocketsphinx does: the first reports suggest a slow rate,
  // then a burst shows the real one. The estimate is what the whole measurement says at
  // that point, not an average with the early guesses (which made a one-minute
  // recording's ETA 61 % long at its half-way point in `pnpm bench:eta`).
  const job = (await claimAttempt(env.db, (await queued()).id, { leaseMs: LEASE_MS }))!;
  await ensureChunkPlan(env.db, job.id, [{ startS: 0, endS: 60 }]);
  const report = (doneS: number) =>
    reportProgress(env.db, job, {
      progress: 0,
      stage: 'transcribing',
      chunk: { index: 0, doneS },
      leaseMs: LEASE_MS,
    });
  const pause = () => new Promise((r) => setTimeout(r, 1200));
  await report(7.2);
  await report(10.1); // the first audio of the measurement
  await pause();
  await report(11);
  const early = (await findJobById(env.db, job.id))!.eta_s!;
  await pause();
  await report(40);
  const row = (await findJobById(env.db, job.id))!;
  const elapsedS =
    (row.progress_moved_at!.getTime() - row.transcribing_started_at!.getTime()) / 1000;
  const measured = (60 - 40) / ((40 - row.transcribing_base_s) / elapsedS);
  expect(early).toBeGreaterThan(4 * measured);
  expect(row.eta_s).toBeCloseTo(measured, 0);
});

it('places queued jobs by priority then age, and announces changed places at most once per gap', async () => {
  // Whatever earlier cases left queued is not this case's.
  await sql`UPDATE jobs SET status = 'canceled' WHERE status = 'queued'`.execute(env.db);
  const a = await queued('default');
  const b = await queued('low');
  const c = await queued('high');
  const places = await queuePositions(env.db, [a.id, b.id, c.id]);
  expect(places.get(c.id)?.position).toBe(0);
  expect(places.get(a.id)?.position).toBe(1);
  expect(places.get(b.id)?.position).toBe(2);

  expect(await announcePositions(env.db, { minGapS: 5 })).toBe(3);
  // Nothing changed: nothing to say.
  expect(await announcePositions(env.db, { minGapS: 0 })).toBe(0);
  // c is taken: a and b move up, but not before the gap has passed.
  await claimAttempt(env.db, c.id, { leaseMs: LEASE_MS });
  expect(await announcePositions(env.db, { minGapS: 5 })).toBe(0);
  expect(await announcePositions(env.db, { minGapS: 0 })).toBe(2);
  const positions = async (id: string) =>
    (await listJobEvents(env.db, id, 0)).flatMap((e) =>
      e.type === 'position' ? [e.position] : [],
    );
  expect(await positions(a.id)).toEqual([1, 0]);
  expect(await positions(b.id)).toEqual([2, 1]);
  expect(await positions(c.id)).toEqual([0]);
});

it('lays the chunks still to do over the workers running the job: the last ones run alone', () => {
  const now = new Date('2026-01-01T00:10:00Z');
  const ago = (s: number) => new Date(now.getTime() - s * 1000);
  // Two workers, 1 audio s per wall s each; chunks of 100 s: two half done, one pending.
  const chunks = [
    { lengthS: 100, doneS: 50, startedAt: ago(50), finishedAt: null },
    { lengthS: 100, doneS: 50, startedAt: ago(50), finishedAt: null },
    { lengthS: 100, doneS: 0, startedAt: null, finishedAt: null },
  ];
  // 50 s for the running ones, then 100 s for the last on whichever frees first.
  expect(estimateChunkedEtaS(chunks, now)).toBeCloseTo(150, 5);
  // One worker, one chunk at a time: the rest in sequence.
  expect(estimateChunkedEtaS([chunks[0]!, chunks[2]!], now)).toBeCloseTo(150, 5);
  expect(estimateChunkedEtaS([{ ...chunks[2]! }], now)).toBeNull();
});

it('pays each pending chunk its start-up, and meets the job stream halfway', () => {
  const now = new Date('2026-01-01T00:10:00Z');
  const ago = (s: number) => new Date(now.getTime() - s * 1000);
  // Both began 60 s ago; the first audio came 10 s after: 50 s of decoding gave 50 s of
  // audio each (1 audio s per s per worker), and the last chunk will pay the 10 s too.
  const chunks = [
    { lengthS: 100, doneS: 50, startedAt: ago(60), finishedAt: null },
    { lengthS: 100, doneS: 50, startedAt: ago(60), finishedAt: null },
    { lengthS: 100, doneS: 0, startedAt: null, finishedAt: null },
  ];
  const layout = estimateChunkedEtaS(chunks, now, { firstAudioAt: ago(50) });
  expect(layout).toBeCloseTo(50 + 10 + 100, 5);
  // The stream: 100 audio s in 50 s since the first audio, 200 left → 100 s.
  const stream = { doneS: 100, baseS: 0, totalS: 300, elapsedS: 50 };
  expect(estimateChunkedEtaS(chunks, now, { firstAudioAt: ago(50), stream })).toBeCloseTo(
    (160 + 100) / 2,
    5,
  );
});

it('never expects a job to start before its retry backoff ends', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const pool = { finishedInWindow: 0, windowS: 900, processing: 0, now };
  const later = new Date(now.getTime() + 3600_000);
  // First in line on an idle pool: now, unless a backoff holds it back.
  expect(estimateStart(0, pool)).toEqual(now);
  expect(estimateStart(0, pool, later)).toEqual(later);
  // A backoff already over changes nothing; an estimate past it stands.
  expect(estimateStart(0, pool, new Date(now.getTime() - 1000))).toEqual(now);
  const busy = { ...pool, finishedInWindow: 1, processing: 2 };
  expect(estimateStart(3, busy, new Date(now.getTime() + 1000))).toEqual(
    new Date(now.getTime() + 4 * 900_000),
  );
});
