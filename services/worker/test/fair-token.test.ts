// The worker's handler under SCHEDULER=fair (issue 17), on real Postgres, S3 and ffmpeg,
// messages handed to it directly: a message is a token, whichever job it names. It runs
// the next unit in fair order (here another tenant's job), puts itself back through the
// first delay queue when work waits on a cap, and is dropped when nothing waits.
import { readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { claimAttempt, insertQueuedJob } from '@transcribe/jobs';
import { ensureTenant, findJobById, type JobRow } from '@transcribe/db';
import type { MessageContext } from '@transcribe/queue';
import { createLogger, createRegistry } from '@transcribe/telemetry';
import { createTestEnv, librivoxClips, type TestEnv } from '../../../packages/testkit/src/index.js';
import { createEngineSelector } from '../src/engines/selector.js';
import { createJobHandler } from '../src/consumer.js';
import { createWorkerMetrics } from '../src/metrics.js';
import {
  createDeterministicEngine,
  knownClip,
  type KnownSpeech,
} from './support/deterministic-engine.js';

const knownSpeech: KnownSpeech[] = [];
const clip = librivoxClips().find((c) => c.wav.endsWith('0880.wav'))!;
let env: TestEnv;
let scratch: string;
let handle: ReturnType<typeof createJobHandler>;

beforeAll(async () => {
  env = await createTestEnv();
  knownSpeech.push(await knownClip(clip));
  scratch = await mkdtemp(join(tmpdir(), 'fair-token-'));
  handle = createJobHandler({
    db: env.db,
    relay: { kick: () => undefined },
    logger: createLogger('fair-token-test', process.env.TEST_LOG_LEVEL ?? 'silent'),
    metrics: createWorkerMetrics(createRegistry('fair-token-test')),
    pipeline: {
      storage: env.storage,
      engines: createEngineSelector([createDeterministicEngine({ speech: knownSpeech })]),
      tmpDir: scratch,
      maxDurationS: 3600,
      chunkS: 300,
      chunkWindowS: 3,
    },
    maxAttempts: 3,
    leaseMs: 5000,
    progressIntervalMs: 500,
    jobTimeoutMs: 120_000,
    retry: { baseMs: 800, maxMs: 2000 },
    tenantMaxConcurrent: 1,
    scheduler: 'fair',
  });
}, 60_000);

afterAll(async () => {
  await env?.close();
  await rm(scratch, { recursive: true, force: true });
});

async function submit(tenantId: string): Promise<JobRow> {
  const id = uuidv7();
  const key = `${tenantId}/${id}/clip.wav`;
  await env.storage.upload(key, await readFile(clip.wav), 'audio/wav');
  return insertQueuedJob(env.db, {
    id,
    tenant_id: tenantId,
    upload_id: null,
    priority: 'default',
    object_key: key,
    filename: 'clip.wav',
    content_type: 'audio/wav',
    size_bytes: 1,
    language: 'en',
    engine: 'sphinx',
  });
}

/** Hands the handler the message that names `job`; resolves to how it was settled. */
async function deliver(job: JobRow): Promise<'ack' | 'requeue' | 'dead'> {
  let settled: 'ack' | 'requeue' | 'dead' = 'dead';
  const ctx: MessageContext = {
    redelivered: false,
    headers: {},
    routingKey: 'transcribe',
    ack: () => (settled = 'ack'),
    nack: (requeue) => (settled = requeue ? 'requeue' : 'dead'),
  };
  const body = Buffer.from(JSON.stringify({ v: 1, jobId: job.id, tenantId: job.tenant_id }));
  await handle(body, ctx);
  return settled;
}

const tokensPutBack = async () =>
  (
    await env.db
      .selectFrom('outbox')
      .select('payload')
      .where('routing_key', '=', 'retry.1')
      .execute()
  ).length;

test('a token runs the fair choice, defers while the only work waits on a cap, and is dropped when none is left', async () => {
  const a = await ensureTenant(env.db, 'tenant-a');
  const b = await ensureTenant(env.db, 'tenant-b');
  const first = await submit(a);
  await claimAttempt(env.db, first.id, { leaseMs: 60_000 });
  const aQueued = await submit(a);
  const bJob = await submit(b);
  await sql`DELETE FROM outbox`.execute(env.db);

  // A's message, but A is at its cap of 1: B's job is the one that runs.
  expect(await deliver(aQueued)).toBe('ack');
  expect((await findJobById(env.db, bJob.id))?.status).toBe('completed');
  expect((await findJobById(env.db, aQueued.id))?.status).toBe('queued');

  // Only A's job waits, on its cap: the token goes back through the first delay queue.
  expect(await deliver(bJob)).toBe('ack');
  expect(await tokensPutBack()).toBe(1);
  expect((await findJobById(env.db, aQueued.id))?.status).toBe('queued');

  // A's running job ends: the next token runs A's queued one, and a spare one is dropped.
  await env.db
    .updateTable('jobs')
    .set({ status: 'completed', finished_at: sql`now()` })
    .where('id', '=', first.id)
    .execute();
  expect(await deliver(bJob)).toBe('ack');
  expect((await findJobById(env.db, aQueued.id))?.status).toBe('completed');
  expect(await deliver(bJob)).toBe('ack');
  expect(await tokensPutBack()).toBe(1);
});
