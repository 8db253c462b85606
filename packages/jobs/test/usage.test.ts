// Usage per tenant and UTC day (issue 17) is counted by the lifecycle's edges, in their
// transactions: one submission per created job, one completion or failure per job end,
// and nothing for an edge that was refused (a late or repeated writer). Real Postgres.
import { ensureTenant, findJobById, listTenantUsage, type JobRow } from '@transcribe/db';
import { createTestEnv, jobFields, type TestEnv } from '../../testkit/src/index.js';
import {
  cancelJob,
  claimAttempt,
  insertQueuedJob,
  markCompleted,
  markDeadLettered,
  markFailed,
  requeueForRetry,
  retryJob,
} from '../src/index.js';

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
}, 60_000);

afterAll(async () => {
  await env?.close();
});

const LEASE_MS = 60_000;
const today = () => new Date().toISOString().slice(0, 10);

function queue(tenantId: string): Promise<JobRow> {
  return insertQueuedJob(env.db, jobFields(tenantId));
}

async function claim(job: JobRow): Promise<JobRow> {
  const claimed = await claimAttempt(env.db, job.id, { leaseMs: LEASE_MS });
  if (!claimed) throw new Error(`job ${job.id} was not claimable`);
  return claimed;
}

const result = (durationS: number, processingMs: number) => ({
  text: 'and so my fellow americans',
  segments: [{ start: 0, end: durationS, text: 'and so my fellow americans' }],
  durationS,
  processingMs,
  model: 'en-us',
});

async function usageOf(tenantId: string) {
  const days = await listTenantUsage(env.db, tenantId, { from: '2000-01-01', to: '2100-01-01' });
  expect(days.map((d) => d.day)).toEqual(days.length ? [today()] : []);
  return (
    days[0] ?? {
      jobsSubmitted: 0,
      jobsCompleted: 0,
      jobsFailed: 0,
      audioS: 0,
      processingS: 0,
    }
  );
}

it('counts a submission, and a completion with its audio and processing time, once', async () => {
  const tenantId = await ensureTenant(env.db, 'usage-complete');
  const job = await claim(await queue(tenantId));
  expect(await usageOf(tenantId)).toMatchObject({ jobsSubmitted: 1, jobsCompleted: 0 });

  expect(await markCompleted(env.db, job, result(11, 2500))).toBe(true);
  // The same attempt completing again (a duplicate delivery) is refused and counts nothing.
  expect(await markCompleted(env.db, job, result(11, 2500))).toBe(false);
  expect(await markFailed(env.db, job, { code: 'engine_failed', message: 'late' })).toBe(false);
  expect(await usageOf(tenantId)).toEqual({
    day: today(),
    jobsSubmitted: 1,
    jobsCompleted: 1,
    jobsFailed: 0,
    audioS: 11,
    processingS: 2.5,
  });
});

it('counts a failure and a dead letter once each, with the time since the attempt started', async () => {
  const tenantId = await ensureTenant(env.db, 'usage-fail');
  const failed = await claim(await queue(tenantId));
  const dead = await claim(await queue(tenantId));
  expect(await markFailed(env.db, failed, { code: 'invalid_media', message: 'not audio' })).toBe(
    true,
  );
  expect(await markFailed(env.db, failed, { code: 'invalid_media', message: 'again' })).toBe(false);
  expect(await markDeadLettered(env.db, dead, { code: 'engine_failed', message: 'gave up' })).toBe(
    true,
  );
  expect(await markDeadLettered(env.db, dead, { code: 'engine_failed', message: 'again' })).toBe(
    false,
  );
  expect(await markCompleted(env.db, dead, result(5, 100))).toBe(false);
  const usage = await usageOf(tenantId);
  expect(usage).toMatchObject({ jobsSubmitted: 2, jobsCompleted: 0, jobsFailed: 2, audioS: 0 });
  expect(usage.processingS).toBeGreaterThanOrEqual(0);
  expect(usage.processingS).toBeLessThan(60);
});

it('counts a job retried by its worker once, at its end; a manual retry after a failure ends again', async () => {
  const tenantId = await ensureTenant(env.db, 'usage-retry');
  const job = await claim(await queue(tenantId));
  // A transient failure: back to the queue, no end yet.
  expect(await requeueForRetry(env.db, job, { level: 1, delayMs: 1000 })).toBe(true);
  const second = await claim((await findJobById(env.db, job.id))!);
  expect(await markCompleted(env.db, job, result(3, 100))).toBe(false); // the first attempt, late
  expect(await markCompleted(env.db, second, result(3, 1000))).toBe(true);
  expect(await usageOf(tenantId)).toMatchObject({
    jobsSubmitted: 1,
    jobsCompleted: 1,
    jobsFailed: 0,
    audioS: 3,
    processingS: 1,
  });

  // Failed, then retried by the tenant and completed: two ends of one submission.
  const other = await claim(await queue(tenantId));
  expect(await markFailed(env.db, other, { code: 'engine_failed', message: 'boom' })).toBe(true);
  await retryJob(env.db, tenantId, other.id);
  const again = await claim((await findJobById(env.db, other.id))!);
  expect(await markCompleted(env.db, again, result(2, 1000))).toBe(true);
  // Canceled jobs are not an end the usage counts (nothing was transcribed or failed).
  await cancelJob(env.db, tenantId, (await queue(tenantId)).id);
  expect(await usageOf(tenantId)).toMatchObject({
    jobsSubmitted: 3,
    jobsCompleted: 2,
    jobsFailed: 1,
    audioS: 5,
  });
});

it('keeps tenants apart and answers only the days asked for', async () => {
  const a = await ensureTenant(env.db, 'usage-a');
  const b = await ensureTenant(env.db, 'usage-b');
  await queue(a);
  await queue(a);
  await queue(b);
  expect((await usageOf(a)).jobsSubmitted).toBe(2);
  expect((await usageOf(b)).jobsSubmitted).toBe(1);
  expect(await listTenantUsage(env.db, a, { from: '2000-01-01', to: '2000-12-31' })).toEqual([]);
});
