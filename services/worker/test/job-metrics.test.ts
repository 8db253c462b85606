// The worker's job metrics on real Postgres, RabbitMQ and S3, through the production
// handler: each job's queue wait (from jobs.queued_at to the claim) overall and per tenant
// with bounded labels, its processing time by outcome, and each end counted once by outcome.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { appendJobEvent, ensureTenant, findJobById, insertJob, type JobRow } from '@transcribe/db';
import { cancelJob, enqueueTranscription } from '@transcribe/jobs';
import { connectBroker, startOutboxRelay, type Broker, type OutboxRelay } from '@transcribe/queue';
import { createLogger, createRegistry, type Registry } from '@transcribe/telemetry';
import { audioFixture, createTestEnv, type TestEnv } from '../../../packages/testkit/src/index.js';
import { waitFor } from '../../../packages/testkit/src/wait-for.js';
import { createJobHandler } from '../src/consumer.js';
import { createEngineSelector } from '../src/engines/selector.js';
import { createWorkerMetrics, type WorkerMetrics } from '../src/metrics.js';
import { settle } from '../src/settle.js';
import { createDeterministicEngine } from './support/deterministic-engine.js';

jest.setTimeout(120_000);

let env: TestEnv;
let broker: Broker;
let relay: OutboxRelay;
let scratch: string;
let tenantA: string;
let tenantB: string;
let registry: Registry;
let metrics: WorkerMetrics;
const logger = createLogger('worker-test', process.env.TEST_LOG_LEVEL ?? 'silent');
/** While set, transcriptions hang until something aborts them (the cancel test's). */
let hang = false;
const engine = createDeterministicEngine();

beforeAll(async () => {
  env = await createTestEnv();
  tenantA = await ensureTenant(env.db, 'tenant-metrics-a');
  tenantB = await ensureTenant(env.db, 'tenant-metrics-b');
  scratch = await mkdtemp(join(tmpdir(), 'metrics-scratch-'));
  registry = createRegistry('worker');
  // One tenant of its own: the second one seen is `other`.
  metrics = createWorkerMetrics(registry, { tenantLabels: 1 });
  broker = connectBroker({ url: env.env.AMQP_URL!, prefix: env.prefix });
  await broker.ready();
  relay = startOutboxRelay({ db: env.db, broker, pollMs: 200 });
  const handler = createJobHandler({
    db: env.db,
    relay,
    logger,
    metrics,
    pipeline: {
      storage: env.storage,
      engines: createEngineSelector([
        {
          name: 'sphinx',
          transcribe: (wav, options, onProgress) =>
            hang
              ? new Promise((_resolve, reject) =>
                  options.signal?.addEventListener('abort', () => reject(options.signal!.reason)),
                )
              : engine.transcribe(wav, options, onProgress),
        },
      ]),
      tmpDir: scratch,
      maxDurationS: 3600,
      chunkS: 300,
      chunkWindowS: 3,
    },
    maxAttempts: 3,
    leaseMs: 3000,
    progressIntervalMs: 200,
    jobTimeoutMs: 60_000,
    retry: { baseMs: 500, maxMs: 1000 },
  });
  await broker.consume(broker.names.jobsQueue, handler, { prefetch: 2 });
}, 60_000);

afterAll(async () => {
  await relay?.stop();
  await broker?.close();
  await env?.close();
  await rm(scratch, { recursive: true, force: true });
});

/** A job of `tenant` queued `waitedS` seconds ago, its upload stored, its message sent. */
async function submit(tenant: string, bytes: Buffer, waitedS = 0): Promise<JobRow> {
  const id = uuidv7();
  const key = `${tenant}/${id}/audio.wav`;
  await env.storage.upload(key, bytes, 'application/octet-stream');
  const job = await env.db.transaction().execute(async (trx) => {
    const row = await insertJob(trx, {
      id,
      tenant_id: tenant,
      status: 'queued',
      stage: 'queued',
      priority: 'high',
      object_key: key,
      filename: 'audio.wav',
      content_type: 'application/octet-stream',
      size_bytes: bytes.length,
      language: 'en',
      engine: 'sphinx',
      queued_at: new Date(Date.now() - waitedS * 1000),
    });
    await appendJobEvent(trx, { id, tenantId: tenant }, { type: 'queued' });
    await enqueueTranscription(trx, { id, tenantId: tenant, priority: 'high' });
    return row;
  });
  relay.kick();
  return job;
}

async function ended(id: string): Promise<JobRow> {
  return waitFor(async () => {
    const job = await findJobById(env.db, id);
    return job && ['completed', 'failed', 'canceled'].includes(job.status) && job;
  });
}

/** A sample of a metric: a counter's value, or a histogram's `_count`/`_sum`, by labels. */
async function value(name: string, labels: Record<string, string>, part = ''): Promise<number> {
  const metric = await registry.getSingleMetric(name)!.get();
  // Histogram samples carry their series' name (_bucket, _sum, _count); counters' do not.
  const values = metric.values as { value: number; labels: object; metricName?: string }[];
  const match = values.find(
    (v) =>
      (part === '' || v.metricName === `${name}${part}`) &&
      Object.entries(labels).every(
        ([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want,
      ),
  );
  return match?.value ?? 0;
}

it('observes the queue wait from queued_at, by priority and by tenant, and the processing time of a completed job', async () => {
  const job = await submit(tenantA, await readFile(audioFixture('jfk.wav')), 90);
  expect((await ended(job.id)).status).toBe('completed');
  expect(await value('worker_jobs_total', { outcome: 'completed' })).toBe(1);
  expect(await value('worker_job_queue_wait_seconds', { priority: 'high' }, '_count')).toBe(1);
  const waitedS = await value('worker_job_queue_wait_seconds', { priority: 'high' }, '_sum');
  expect(waitedS).toBeGreaterThanOrEqual(90);
  expect(waitedS).toBeLessThan(120);
  // Under the 2-minute bucket's bound and not under the 1-minute one.
  expect(
    await value('worker_job_queue_wait_seconds', { priority: 'high', le: '60' }, '_bucket'),
  ).toBe(0);
  expect(
    await value('worker_job_queue_wait_seconds', { priority: 'high', le: '120' }, '_bucket'),
  ).toBe(1);
  expect(await value('worker_tenant_queue_wait_seconds', { tenant: tenantA }, '_count')).toBe(1);
  const processing = { outcome: 'completed', priority: 'high' };
  expect(await value('worker_job_processing_seconds', processing, '_count')).toBe(1);
  expect(await value('worker_job_processing_seconds', processing, '_sum')).toBeGreaterThan(0);
});

it('counts a failed job once, labels a tenant past the limit `other`', async () => {
  const job = await submit(tenantB, randomBytes(64 * 1024));
  const done = await ended(job.id);
  expect([done.status, done.error_code]).toEqual(['failed', 'invalid_media']);
  expect(await value('worker_jobs_total', { outcome: 'failed' })).toBe(1);
  expect(
    await value('worker_job_processing_seconds', { outcome: 'failed', priority: 'high' }, '_count'),
  ).toBe(1);
  expect(await value('worker_tenant_queue_wait_seconds', { tenant: 'other' }, '_count')).toBe(1);
  expect(await value('worker_tenant_queue_wait_seconds', { tenant: tenantB }, '_count')).toBe(0);
  // The first tenant keeps its label whoever comes after.
  await ended((await submit(tenantA, await readFile(audioFixture('jfk.wav')))).id);
  expect(await value('worker_tenant_queue_wait_seconds', { tenant: tenantA }, '_count')).toBe(2);
  expect(await value('worker_jobs_total', { outcome: 'completed' })).toBe(2);
});

it('counts a job canceled while it runs as canceled, not abandoned', async () => {
  hang = true;
  const job = await submit(tenantA, await readFile(audioFixture('jfk.wav')));
  await waitFor(async () => (await findJobById(env.db, job.id))?.stage === 'transcribing', {
    what: 'the job transcribing',
  });
  expect((await cancelJob(env.db, tenantA, job.id))?.status).toBe('canceled');
  await waitFor(async () => (await value('worker_jobs_total', { outcome: 'canceled' })) === 1, {
    what: 'canceled counted',
  });
  hang = false;
  expect(await value('worker_jobs_total', { outcome: 'abandoned' })).toBe(0);
  expect(await value('worker_jobs_total', { outcome: 'completed' })).toBe(2);
});

it('does not count an end whose transition did not apply (the job was taken over or canceled)', async () => {
  const job = (await findJobById(env.db, (await submit(tenantA, Buffer.alloc(0))).id))!;
  await ended(job.id);
  const before = await value('worker_jobs_total', { outcome: 'completed' });
  const applied = await settle({ relay, logger, metrics }, job, async () => false, 'completed');
  expect(applied).toBe(false);
  expect(await value('worker_jobs_total', { outcome: 'completed' })).toBe(before);
});
