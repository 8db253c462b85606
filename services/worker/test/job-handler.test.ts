// The job handler on real Postgres, RabbitMQ (delay and dead-letter queues included), S3
// and ffmpeg. The engine is the deterministic one (test/support): these tests are about
// the handler's policy, so chosen calls fail, hang or finish on cue and the text is the
// reference's; everything else is the production path. Recognition itself is proven
// with real pocketsphinx in pipeline.test.ts, sphinx.test.ts and the testkit's e2e.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import {
  appendJobEvent,
  claimJob,
  ensureTenant,
  findJobById,
  insertJob,
  listJobChunks,
  listJobEvents,
  setTenantMaxConcurrentJobs,
  type JobRow,
} from '@transcribe/db';
import { cancelJob, enqueueTranscription } from '@transcribe/jobs';
import {
  connectBroker,
  startOutboxRelay,
  type Broker,
  type MessageHandler,
  type OutboxRelay,
} from '@transcribe/queue';
import { createLogger, createRegistry } from '@transcribe/telemetry';
import {
  createTestEnv,
  audioFixture,
  librivoxClips,
  wordErrorRate,
  type TestEnv,
} from '../../../packages/testkit/src/index.js';
import type { Engine } from '../src/engines/engine.js';
import { createEngineSelector } from '../src/engines/selector.js';
import { createJobHandler, type JobHandlerDeps } from '../src/consumer.js';
import { createWorkerMetrics } from '../src/metrics.js';
import { reapOnce } from '../src/reaper.js';
import { joinLibrivox } from './speech.js';
import {
  createDeterministicEngine,
  knownClip,
  type DeterministicEngine,
  type KnownSpeech,
} from './support/deterministic-engine.js';
import { waitFor } from '../../../packages/testkit/src/wait-for.js';
import { processesMentioning } from '../../../packages/testkit/src/processes.js';

const run = promisify(execFile);
// ffmpeg runs many times slower when other suites share the cores: wait on conditions
// with generous limits.
jest.setTimeout(400_000);
/** What the deterministic engines recognise: the recordings these tests submit. */
const knownSpeech: KnownSpeech[] = [];
const speech = createDeterministicEngine({ speech: knownSpeech });
const jfkWav = audioFixture('jfk.wav');
// The shortest real speech at hand (3 s), for jobs that only need to complete.
const shortClip = librivoxClips().find((c) => c.wav.endsWith('0880.wav'))!;

let env: TestEnv;
let broker: Broker;
let relay: OutboxRelay;
let tenantId: string;
let scratch: string;
let media: string;
/** Messages that reached the dead-letter queue, with their headers. */
const dead: { body: string; headers: Record<string, unknown> }[] = [];
const metrics = createWorkerMetrics(createRegistry('worker-test'));
const logger = createLogger('worker-test', process.env.TEST_LOG_LEVEL ?? 'silent');

/** The engine the next jobs run on; tests swap in engines that fail, hang or wait. */
let engine: Engine = speech;
let handler: MessageHandler;
let active = 0;

/** An engine whose calls numbered in `failing` (1-based) throw at once. */
function failingOn(failing: (call: number) => boolean): DeterministicEngine {
  return createDeterministicEngine({ speech: knownSpeech, fail: failing });
}

function makeHandler(overrides: Partial<JobHandlerDeps> = {}, pipeline = {}): MessageHandler {
  return createJobHandler({
    db: env.db,
    relay,
    logger,
    metrics,
    pipeline: {
      storage: env.storage,
      // Resolved per call, so a test's engine applies to the jobs it starts.
      engines: createEngineSelector([
        { name: 'sphinx', transcribe: (...args) => engine.transcribe(...args) },
      ]),
      tmpDir: scratch,
      maxDurationS: 3600,
      chunkS: 300,
      chunkWindowS: 3,
      ...pipeline,
    },
    maxAttempts: 3,
    leaseMs: 3000,
    progressIntervalMs: 200,
    jobTimeoutMs: 120_000,
    retry: { baseMs: 800, maxMs: 2000 },
    ...overrides,
  });
}

beforeAll(async () => {
  env = await createTestEnv();
  knownSpeech.push(await knownClip(shortClip));
  tenantId = await ensureTenant(env.db, 'tenant-worker');
  scratch = await mkdtemp(join(tmpdir(), 'handler-scratch-'));
  media = await mkdtemp(join(tmpdir(), 'handler-media-'));
  broker = connectBroker({ url: env.env.AMQP_URL!, prefix: env.prefix });
  await broker.ready();
  relay = startOutboxRelay({ db: env.db, broker, pollMs: 200 });
  handler = makeHandler();
  await broker.consume(
    broker.names.jobsQueue,
    async (body, ctx) => {
      active++;
      try {
        await handler(body, ctx);
      } finally {
        active--;
      }
    },
    { prefetch: 4 },
  );
  await broker.consume(
    broker.names.deadQueue,
    async (body, ctx) => {
      dead.push({ body: body.toString(), headers: ctx.headers });
      ctx.ack();
    },
    { prefetch: 10 },
  );
}, 60_000);

afterEach(() => {
  engine = speech;
  handler = makeHandler();
});

afterAll(async () => {
  await waitFor(async () => active === 0, { timeoutMs: 120_000 }).catch(() => undefined);
  await relay?.stop();
  await broker?.close();
  await env?.close();
  await rm(scratch, { recursive: true, force: true });
  await rm(media, { recursive: true, force: true });
});

/** Uploads a file, creates its job and queues its message, as the gateway does. */
async function submit(file: string, options: { publish?: boolean } = {}): Promise<JobRow> {
  const id = uuidv7();
  const key = `${tenantId}/${id}/${file.split('/').pop()}`;
  await env.storage.upload(key, await readFile(file), 'application/octet-stream');
  const job = await env.db.transaction().execute(async (trx) => {
    const row = await insertJob(trx, {
      id,
      tenant_id: tenantId,
      status: 'queued',
      stage: 'queued',
      priority: 'default',
      object_key: key,
      filename: 'upload',
      content_type: 'application/octet-stream',
      size_bytes: 1,
      language: 'en',
      engine: 'sphinx',
    });
    await appendJobEvent(trx, { id, tenantId }, { type: 'queued' });
    if (options.publish !== false) {
      await enqueueTranscription(trx, { id, tenantId, priority: 'default' });
    }
    return row;
  });
  relay.kick();
  return job;
}

const reload = async (id: string) => (await findJobById(env.db, id))!;
const isTerminal = (job: JobRow) => ['completed', 'failed', 'canceled'].includes(job.status);
async function settled(id: string, timeoutMs = 300_000): Promise<JobRow> {
  await waitFor(async () => isTerminal(await reload(id)), { timeoutMs: timeoutMs });
  return reload(id);
}

async function ffmpeg(...args: string[]): Promise<void> {
  await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args]);
}

it('fails each kind of broken file with its code at once, without retries', async () => {
  handler = makeHandler({}, { maxDurationS: 5 });
  const noise = join(media, 'noise.wav');
  await writeFile(noise, randomBytes(64 * 1024));
  const videoOnly = join(media, 'video-only.mp4');
  await ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=10:duration=2', videoOnly);
  const empty = join(media, 'empty.m4a');
  await ffmpeg('-i', jfkWav, '-t', '0', '-c:a', 'aac', empty);
  const cases = [
    [noise, 'invalid_media'],
    [videoOnly, 'no_audio_stream'],
    [empty, 'empty_audio'],
    [jfkWav, 'too_long'],
  ] as const;
  const jobs = await Promise.all(cases.map(([file]) => submit(file)));
  for (const [i, [, code]] of cases.entries()) {
    const job = await settled(jobs[i]!.id);
    expect([job.status, job.error_code, job.attempts]).toEqual(['failed', code, 1]);
    expect(job.error_message!.length).toBeGreaterThan(10);
    const events = await listJobEvents(env.db, job.id, 0);
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['queued', 'processing', 'failed']),
    );
  }
  // Bad input is not an engine failure: nothing dead-lettered.
  expect(dead.filter((m) => jobs.some((j) => m.body.includes(j.id)))).toEqual([]);
  expect(await readdir(scratch)).toEqual([]);
});

it('retries a transient failure after a backoff in the delay queue, then completes', async () => {
  const flaky = failingOn((call) => call === 1);
  engine = flaky;
  const job = await submit(shortClip.wav);
  const done = await settled(job.id);
  expect([done.status, done.attempts]).toEqual(['completed', 2]);
  expect(wordErrorRate(shortClip.reference, done.text!)).toBeLessThan(1);
  expect(flaky.calls).toBe(2);

  const rows = await env.db
    .selectFrom('job_events')
    .select(['type', 'created_at', 'payload'])
    .where('job_id', '=', job.id)
    .orderBy('seq')
    .execute();
  const types = rows.map((r) => r.type);
  expect(types.filter((t) => t === 'processing')).toHaveLength(2);
  expect(types.at(-1)).toBe('completed');
  // The second attempt waited out at least the jittered backoff (≥ half of 800 ms).
  const requeued = rows.findLastIndex((r) => r.type === 'queued');
  const second = rows.findIndex((r, i) => i > requeued && r.type === 'processing');
  const waitedMs = rows[second]!.created_at.getTime() - rows[requeued]!.created_at.getTime();
  expect(waitedMs).toBeGreaterThanOrEqual(350);
});

it('resumes a retried job from its last finished chunk', async () => {
  const recording = await joinLibrivox(join(media, 'resume.wav'), 1);
  knownSpeech.push(recording);
  handler = makeHandler({}, { chunkS: 8 });
  const flaky = failingOn((call) => call === 2);
  engine = flaky;
  const job = await submit(recording.file);
  const done = await settled(job.id);
  expect([done.status, done.attempts]).toEqual(['completed', 2]);

  const chunks = await listJobChunks(env.db, job.id);
  expect(chunks.length).toBeGreaterThanOrEqual(3);
  expect(chunks.every((c) => c.done)).toBe(true);
  // Chunk 0 was not transcribed again: one call per chunk plus the one that failed.
  expect(flaky.calls).toBe(chunks.length + 1);
  const attempts = await env.db
    .selectFrom('job_chunks')
    .select('attempt')
    .where('job_id', '=', job.id)
    .orderBy('index')
    .execute();
  expect(attempts.map((a) => a.attempt)).toEqual(chunks.map((_, i) => (i === 0 ? 1 : 2)));
  expect(done.text).toBe(
    chunks
      .map((c) => c.text)
      .filter(Boolean)
      .join(' '),
  );
  expect(wordErrorRate(recording.reference, done.text!)).toBeLessThan(0.8);
});

it('dead-letters a job that fails every attempt, with the reason, and fails it', async () => {
  handler = makeHandler({ maxAttempts: 2, retry: { baseMs: 200, maxMs: 400 } });
  engine = failingOn(() => true);
  const job = await submit(jfkWav);
  const failed = await settled(job.id);
  expect([failed.status, failed.error_code, failed.attempts]).toEqual([
    'failed',
    'engine_failed',
    2,
  ]);
  expect(failed.error_message).toContain('engine exploded');
  await waitFor(async () => dead.some((m) => m.body.includes(job.id)), { timeoutMs: 120_000 });
  const message = dead.find((m) => m.body.includes(job.id))!;
  expect(JSON.parse(message.body)).toMatchObject({ v: 1, jobId: job.id });
  expect(message.headers).toMatchObject({
    'x-error-code': 'engine_failed',
    'x-attempts': 2,
  });
  expect(String(message.headers['x-reason'])).toContain('engine exploded');
});

it('stops a job canceled mid-transcription: engine killed, nothing more stored, temp files gone', async () => {
  const recording = await joinLibrivox(join(media, 'cancel.wav'), 2);
  handler = makeHandler({}, { chunkS: 8 });
  // Every chunk after the first runs until something aborts it: only the cancel can.
  engine = createDeterministicEngine({ hang: (call) => call > 1 });
  const job = await submit(recording.file);
  await waitFor(async () => (await listJobChunks(env.db, job.id)).some((c) => c.done));
  const canceled = await cancelJob(env.db, tenantId, job.id);
  expect(canceled?.status).toBe('canceled');
  // The worker notices at its next progress write, chunk or heartbeat and lets go.
  await waitFor(async () => active === 0, { timeoutMs: 120_000 });
  const chunks = await listJobChunks(env.db, job.id);
  expect(chunks.filter((c) => c.done).length).toBeLessThan(chunks.length);
  const after = await reload(job.id);
  expect(after.status).toBe('canceled');
  const types = (await listJobEvents(env.db, job.id, 0)).map((e) => e.type);
  expect(types.at(-1)).toBe('canceled');
  expect(types).not.toContain('completed');
  expect(await readdir(scratch)).toEqual([]);
  expect(await processesMentioning(scratch)).toEqual([]);
});

it('cancels a queued job at once; its message later finds nothing to do', async () => {
  const job = await submit(jfkWav, { publish: false });
  expect((await cancelJob(env.db, tenantId, job.id))?.status).toBe('canceled');
  expect(await cancelJob(env.db, tenantId, job.id)).toBeUndefined();
  expect(await cancelJob(env.db, uuidv7(), job.id)).toBeUndefined();
  await env.db
    .transaction()
    .execute((trx) => enqueueTranscription(trx, { id: job.id, tenantId, priority: 'default' }));
  relay.kick();
  await waitFor(async () => (await env.db.selectFrom('outbox').selectAll().execute()).length === 0);
  await waitFor(async () => active === 0);
  const after = await reload(job.id);
  expect([after.status, after.attempts]).toEqual(['canceled', 0]);
  expect((await listJobEvents(env.db, job.id, 0)).map((e) => e.type)).toEqual([
    'queued',
    'canceled',
  ]);
});

it('fails a job that runs past its time limit with timeout', async () => {
  handler = makeHandler({ jobTimeoutMs: 300 });
  // A transcription that never ends: only the time limit can end the job.
  engine = createDeterministicEngine({ hang: () => true });
  const job = await submit(jfkWav);
  const failed = await settled(job.id);
  expect([failed.status, failed.error_code, failed.attempts]).toEqual(['failed', 'timeout', 1]);
  expect(await readdir(scratch)).toEqual([]);
});

it('hands its job back on shutdown; another handler resumes and completes it', async () => {
  const shutdown = new AbortController();
  handler = makeHandler({ shutdown: shutdown.signal });
  // No transcription finishes before the shutdown: the first attempt is still running
  // when it comes (whichever step it is at), and only the next one can complete.
  const shutDown = new Promise((resolve) =>
    shutdown.signal.addEventListener('abort', resolve, { once: true }),
  );
  engine = createDeterministicEngine({ speech: knownSpeech, gate: () => shutDown });
  const job = await submit(shortClip.wav);
  await waitFor(async () => (await reload(job.id)).status === 'processing');
  handler = makeHandler();
  shutdown.abort();
  const done = await settled(job.id);
  // The handed-back attempt is lost, not charged to MAX_ATTEMPTS.
  expect([done.status, done.attempts, done.lost_attempts]).toEqual(['completed', 2, 1]);
  const types = (await listJobEvents(env.db, job.id, 0)).map((e) => e.type);
  const second = types.lastIndexOf('processing');
  expect(types.slice(0, second)).toContain('queued');
  expect(types.at(-1)).toBe('completed');
});

it("holds a tenant's jobs beyond its concurrency cap queued until a slot frees", async () => {
  handler = makeHandler({ tenantMaxConcurrent: 10, retry: { baseMs: 400, maxMs: 800 } });
  await setTenantMaxConcurrentJobs(env.db, tenantId, 1);
  try {
    const jobs = await Promise.all([submit(shortClip.wav), submit(shortClip.wav)]);
    const done = await Promise.all(jobs.map((j) => settled(j.id)));
    expect(done.map((j) => [j.status, j.attempts])).toEqual([
      ['completed', 1],
      ['completed', 1],
    ]);
    // One after the other: the second started processing after the first completed.
    const spans = await Promise.all(
      jobs.map(async (j) => {
        const rows = await env.db
          .selectFrom('job_events')
          .select(['type', 'created_at'])
          .where('job_id', '=', j.id)
          .execute();
        const at = (type: string) => rows.find((r) => r.type === type)!.created_at.getTime();
        return { start: at('processing'), end: at('completed') };
      }),
    );
    spans.sort((a, b) => a.start - b.start);
    expect(spans[1]!.start).toBeGreaterThanOrEqual(spans[0]!.end);
  } finally {
    await setTenantMaxConcurrentJobs(env.db, tenantId, null);
  }
});

describe('the reaper', () => {
  const reap = (staleQueuedMs = 3_600_000) =>
    reapOnce({ db: env.db, maxLostAttempts: 3, staleQueuedMs });

  it('requeues a job whose worker died (lease expired), and a worker completes it', async () => {
    const job = await submit(shortClip.wav, { publish: false });
    // A worker claims it and dies without a word: no ack, no renewals.
    await claimJob(env.db, job.id, { leaseMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    const result = await reap();
    expect(result.requeued).toBe(1);
    expect(await reap()).toMatchObject({ requeued: 0 });
    relay.kick();
    const done = await settled(job.id);
    // The vanished worker's attempt is lost, not charged.
    expect([done.status, done.attempts, done.lost_attempts]).toEqual(['completed', 2, 1]);
  });

  it('fails worker_lost, dead-lettered, a job whose workers keep vanishing', async () => {
    const job = await submit(jfkWav, { publish: false });
    await env.db
      .updateTable('jobs')
      .set({ attempts: 2, lost_attempts: 2 })
      .where('id', '=', job.id)
      .execute();
    await claimJob(env.db, job.id, { leaseMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    expect(await reap()).toMatchObject({ failed: 1 });
    relay.kick();
    expect(await reload(job.id)).toMatchObject({ status: 'failed', error_code: 'worker_lost' });
    await waitFor(async () => dead.some((m) => m.body.includes(job.id)), { timeoutMs: 120_000 });
    const message = dead.find((m) => m.body.includes(job.id))!;
    expect(String(message.headers['x-reason'])).toMatch(/lease expired/);
  });

  it('republishes a queued job whose message was lost', async () => {
    const job = await submit(shortClip.wav, { publish: false });
    await env.db
      .updateTable('jobs')
      .set({ updated_at: sql<Date>`now() - interval '1 hour'` })
      .where('id', '=', job.id)
      .execute();
    expect(await reap(60_000)).toMatchObject({ republished: 1 });
    expect(await reap(60_000)).toMatchObject({ republished: 0 });
    relay.kick();
    const done = await settled(job.id);
    expect([done.status, done.attempts]).toEqual(['completed', 1]);
  });
});
