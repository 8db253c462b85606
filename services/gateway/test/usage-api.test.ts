// GET /v1/usage and GET /v1/queue (issue 17): a tenant's own usage by UTC day, counted by
// the job lifecycle, and its queue figures and limits in effect; another tenant's jobs
// never show. Real Postgres, RabbitMQ and S3.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { CreateJobResponse, QueueResponse, UsageResponse } from '@transcribe/contracts';
import { findJobById, updateTenantLimits } from '@transcribe/db';
import { claimAttempt, markCompleted, markFailed } from '@transcribe/jobs';
import { seedTenant } from '../../../packages/testkit/src/index.js';
import { expectError, startGatewayHarness, type GatewayHarness } from './support/harness.js';

let h: GatewayHarness;

beforeAll(async () => {
  h = await startGatewayHarness({
    settings: { tenantMaxQueuedJobs: 50, tenantMaxAudioSPerDay: 3600, tenantMaxConcurrentJobs: 4 },
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const today = () => new Date().toISOString().slice(0, 10);

async function newTenant(): Promise<{ id: string; key: string }> {
  const { id, apiKey } = await seedTenant(h.env.db, `usage-${randomBytes(4).toString('hex')}`, {
    apiKey: `tk_test_u_${randomBytes(12).toString('hex')}`,
  });
  return { id, key: apiKey };
}

async function createJob(key: string): Promise<string> {
  const res = await h.createJob((await h.uploadJfk(key)).uploadId, key);
  expect(res.status).toBe(202);
  return CreateJobResponse.parse(res.json).id;
}

async function usage(key: string, query = ''): Promise<UsageResponse> {
  const res = await h.api(`/v1/usage${query}`, { key });
  expect(res.status).toBe(200);
  return UsageResponse.parse(res.json);
}

async function queue(key: string): Promise<QueueResponse> {
  const res = await h.api('/v1/queue', { key });
  expect(res.status).toBe(200);
  return QueueResponse.parse(res.json);
}

async function runToEnd(id: string, outcome: 'completed' | 'failed'): Promise<void> {
  const job = await claimAttempt(h.env.db, id, { leaseMs: 60_000 });
  if (!job) throw new Error(`job ${id} was not claimable`);
  const ended =
    outcome === 'completed'
      ? await markCompleted(h.env.db, job, {
          text: 'ask not',
          segments: [{ start: 0, end: 11, text: 'ask not' }],
          durationS: 11,
          processingMs: 4000,
          model: 'en-us',
        })
      : await markFailed(h.env.db, job, { code: 'invalid_media', message: 'not audio' });
  expect(ended).toBe(true);
}

describe('GET /v1/usage', () => {
  it("answers the last 30 days by default, with today's counts and totals, for the caller only", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const done = await createJob(a.key);
    const failed = await createJob(a.key);
    await createJob(a.key);
    await createJob(b.key);
    await runToEnd(done, 'completed');
    await runToEnd(failed, 'failed');

    const body = await usage(a.key);
    expect(body.to).toBe(today());
    expect(body.days).toHaveLength(30);
    expect(body.days[0]!.day).toBe(body.from);
    expect(body.days.at(-1)).toMatchObject({
      day: today(),
      jobsSubmitted: 3,
      jobsCompleted: 1,
      jobsFailed: 1,
      audioSeconds: 11,
    });
    expect(body.days.at(-1)!.processingSeconds).toBeGreaterThanOrEqual(4);
    expect(body.totals).toMatchObject({
      jobsSubmitted: 3,
      jobsCompleted: 1,
      jobsFailed: 1,
      audioSeconds: 11,
    });
    // Every other day of the range is zeros.
    expect(body.days.slice(0, -1).every((d) => d.jobsSubmitted === 0)).toBe(true);

    // The other tenant sees its own job only.
    expect((await usage(b.key)).totals).toEqual({
      jobsSubmitted: 1,
      jobsCompleted: 0,
      jobsFailed: 0,
      audioSeconds: 0,
      processingSeconds: 0,
    });
    // A range that misses today has nothing.
    expect((await usage(a.key, '?from=2025-01-01&to=2025-01-31')).totals.jobsSubmitted).toBe(0);
  });

  it('accepts up to 366 days and refuses bad ranges with 400 validation_failed', async () => {
    const ok = await usage(h.keyA, '?from=2024-01-01&to=2024-12-31');
    expect(ok.days).toHaveLength(366);
    expect((await usage(h.keyA, '?to=2024-03-01')).from).toBe('2024-02-01'); // 30 days, leap February
    for (const query of [
      '?from=2024-01-01&to=2025-01-01', // 367 days
      '?from=2024-02-01&to=2024-01-31', // from after to
      '?from=2024-13-01',
      '?from=yesterday',
      '?to=2024-02-30',
    ]) {
      const res = await h.api(`/v1/usage${query}`);
      expectError(res, 400, 'validation_failed');
    }
    expectError(await h.api('/v1/usage', { key: null }), 401, 'unauthorized');
  });
});

describe('GET /v1/queue', () => {
  it("reports the caller's queued and running jobs, limits in effect, today's audio and its next job", async () => {
    const c = await newTenant();
    const d = await newTenant();
    const empty = await queue(c.key);
    expect(empty).toMatchObject({
      queued: 0,
      running: 0,
      limits: { maxRunning: 4, maxQueued: 50, audioSecondsPerDay: 3600, weight: 1 },
      audioSecondsToday: 0,
      next: null,
    });
    expect(new Date(empty.audioResetsAt).getTime()).toBeGreaterThan(Date.now());

    const first = await createJob(c.key);
    await createJob(c.key);
    const running = await createJob(c.key);
    await createJob(d.key); // another tenant's: never counted here
    const job = await claimAttempt(h.env.db, running, { leaseMs: 60_000 });
    expect(job).toBeDefined();
    // What the worker records when it admits the job: its decoded audio, started today.
    await h.env.db
      .updateTable('jobs')
      .set({ duration_s: 11, started_at: sql<Date>`now()` })
      .where('id', '=', running)
      .execute();
    await updateTenantLimits(h.env.db, c.id, {
      weight: 2.5,
      maxConcurrentJobs: 1,
      maxQueuedJobs: 7,
      maxAudioSPerDay: 0,
    });

    const body = await queue(c.key);
    expect(body).toMatchObject({
      queued: 2,
      running: 1,
      // The tenant's own limits; 0 audio is no limit, as in TENANT_MAX_AUDIO_S_PER_DAY.
      limits: { maxRunning: 1, maxQueued: 7, audioSecondsPerDay: null, weight: 2.5 },
      audioSecondsToday: 11,
    });
    expect(body.next?.jobId).toBe(first);
    expect(body.next!.position).toBeGreaterThanOrEqual(0);
    const queuedEverywhere = await h.env.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('status', '=', 'queued')
      .executeTakeFirstOrThrow();
    expect(body.next!.position).toBeLessThan(Number(queuedEverywhere.n));
    expect((await findJobById(h.env.db, first))?.status).toBe('queued');

    const other = await queue(d.key);
    expect(other).toMatchObject({ queued: 1, running: 0, audioSecondsToday: 0 });
    expect(other.next?.jobId).not.toBe(first);
  });
});
