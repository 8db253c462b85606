// The fair scheduler's pick order (issue 17) on a real Postgres: which unit of work a
// token claims, between tenants, priorities, backoffs, caps and fanned-out chunks, and
// that concurrent claimers never take the same unit.
import { randomUUID } from 'node:crypto';
import type { Priority } from '@transcribe/contracts';
import { createDb, ensureChunkPlan, ensureTenant, type Db, type JobRow } from '@transcribe/db';
import { sql } from 'kysely';
import { createTestEnv, jobFields, type TestEnv } from '../../testkit/src/index.js';
import {
  claimAttempt,
  claimNextWork,
  fanOutChunks,
  insertQueuedJob,
  markFailed,
  queuePositions,
  requeueForHandover,
  requeueForRetry,
  retryJob,
  type ClaimedWork,
} from '../src/index.js';

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
}, 60_000);

afterAll(async () => {
  await env?.close();
});

beforeEach(async () => {
  // Every test starts from an empty queue: the scheduler looks at all tenants' work.
  await sql`TRUNCATE tenants, jobs, job_events, job_chunks, outbox CASCADE`.execute(env.db);
});

const LEASE_MS = 60_000;

async function tenant(name: string, options: { weight?: number; maxConcurrent?: number } = {}) {
  const id = await ensureTenant(env.db, name);
  await env.db
    .updateTable('tenants')
    .set({ weight: options.weight ?? 1, max_concurrent_jobs: options.maxConcurrent ?? null })
    .where('id', '=', id)
    .execute();
  return id;
}

async function submit(tenantId: string, count = 1, priority: Priority = 'default') {
  const jobs: JobRow[] = [];
  for (let i = 0; i < count; i++) {
    jobs.push(await insertQueuedJob(env.db, jobFields(tenantId, { priority })));
  }
  return jobs;
}

function claim(db: Db = env.db, tenantMaxConcurrent = 100): Promise<ClaimedWork> {
  return claimNextWork(db, {
    leaseMs: LEASE_MS,
    chunkLeaseMs: LEASE_MS,
    tenantMaxConcurrent,
    chunks: true,
    holderId: randomUUID(),
  });
}

/** The tenant whose unit the claim took, or the claim's kind when it took none. */
async function claimTenant(db: Db = env.db, cap?: number): Promise<string> {
  const work = await claim(db, cap);
  return work.kind === 'job' || work.kind === 'chunk' ? work.job.tenant_id : work.kind;
}

/** Holds a row lock on the job, as a queue-position announcement does, until released. */
async function holdRowLock(jobId: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const done = env.db.transaction().execute(async (trx) => {
    await sql`UPDATE jobs SET queue_position = 1 WHERE id = ${jobId}`.execute(trx);
    locked();
    await released;
  });
  await isLocked;
  return { release, done };
}

/** Tenant A's flood (one of it served), then tenant B's only job, held locked. */
async function floodThenLockedSmallJob() {
  const a = await tenant('a');
  const b = await tenant('b');
  await submit(a, 5);
  expect(await claimTenant()).toBe(a);
  const [bJob] = await submit(b, 1);
  const holder = await holdRowLock(bJob!.id);
  return { a, b, bJob: bJob!, holder };
}

test('a small tenant whose only job is locked for a moment (its position going out) still goes next', async () => {
  const { bJob, holder } = await floodThenLockedSmallJob();
  const claiming = claim();
  setTimeout(() => holder.release(), 300);
  const next = await claiming;
  await holder.done;
  expect(next.kind === 'job' && next.job.id).toBe(bJob.id);
});

test('a queued row held past the bound is passed over, and the claim takes the next tenant', async () => {
  const { a, b, holder } = await floodThenLockedSmallJob();
  try {
    expect(await claimTenant()).toBe(a);
  } finally {
    holder.release();
    await holder.done;
  }
  // Once it is free, it is next.
  expect(await claimTenant()).toBe(b);
});

test('a small tenant submitting behind a flood is served next', async () => {
  const a = await tenant('a');
  const b = await tenant('b');
  await submit(a, 20);
  expect(await claimTenant()).toBe(a);
  expect(await claimTenant()).toBe(a);
  const [bJob] = await submit(b, 1);
  const next = await claim();
  expect(next.kind === 'job' && next.job.id).toBe(bJob!.id);
  // B has nothing left: A's jobs carry on, oldest first.
  expect(await claimTenant()).toBe(a);
});

test('weights share the claims: 2:1 gives the heavier tenant about twice as many', async () => {
  const a = await tenant('a', { weight: 2 });
  const b = await tenant('b', { weight: 1 });
  await submit(a, 30);
  await submit(b, 30);
  const taken = { [a]: 0, [b]: 0 };
  // Nothing finishes, so each tenant's running units grow with its claims.
  for (let i = 0; i < 30; i++) taken[await claimTenant()]! += 1;
  expect(taken[a]).toBeGreaterThanOrEqual(19);
  expect(taken[a]).toBeLessThanOrEqual(21);
  expect(taken[b]).toBe(30 - taken[a]!);
});

test('priority beats fairness', async () => {
  const a = await tenant('a');
  const b = await tenant('b');
  await submit(a, 5);
  for (let i = 0; i < 3; i++) expect(await claimTenant()).toBe(a);
  await submit(b, 3);
  const [urgent] = await submit(a, 1, 'high');
  // A runs 3 jobs and B none, yet A's high-priority job goes first.
  const next = await claim();
  expect(next.kind === 'job' && next.job.id).toBe(urgent!.id);
  expect(await claimTenant()).toBe(b);
});

test("a retry's backoff (not_before) is respected; the token is kept while it waits", async () => {
  const a = await tenant('a');
  const b = await tenant('b');
  const [job] = await submit(a, 1);
  const claimed = await claimAttempt(env.db, job!.id, { leaseMs: LEASE_MS });
  await requeueForRetry(env.db, claimed!, { level: 1, delayMs: 60_000 });
  expect(await claimTenant()).toBe('blocked');
  await submit(b, 1);
  expect(await claimTenant()).toBe(b);
  expect(await claimTenant()).toBe('blocked');
  await env.db
    .updateTable('jobs')
    .set({ not_before: sql`now()` })
    .where('id', '=', job!.id)
    .execute();
  expect(await claimTenant()).toBe(a);
  expect(await claimTenant()).toBe('idle');
});

test("a tenant at its running cap is skipped (its own cap, else the deployment's)", async () => {
  const a = await tenant('a', { maxConcurrent: 1 });
  const b = await tenant('b');
  await submit(a, 3);
  expect(await claimTenant()).toBe(a);
  await submit(b, 1);
  expect(await claimTenant()).toBe(b);
  // A has its one job running and B nothing left: the token is kept for A's next slot.
  expect(await claimTenant()).toBe('blocked');
  await env.db
    .updateTable('tenants')
    .set({ max_concurrent_jobs: null })
    .where('id', '=', a)
    .execute();
  expect(await claimTenant(env.db, 2)).toBe(a);
  expect(await claimTenant(env.db, 2)).toBe('blocked');
});

test("a tenant's running fanned-out chunks count against its share; its chunks go before its jobs", async () => {
  const a = await tenant('a');
  const b = await tenant('b');
  // A: one long job fanned out into 4 chunks; B: two whole jobs running.
  const [long] = await submit(a, 1);
  const job = (await claimAttempt(env.db, long!.id, { leaseMs: LEASE_MS }))!;
  await ensureChunkPlan(
    env.db,
    job.id,
    [0, 1, 2, 3].map((i) => ({ startS: i * 30, endS: (i + 1) * 30 })),
  );
  await fanOutChunks(env.db, job, { indexes: [0, 1, 2, 3], leaseMs: LEASE_MS });
  for (const bJob of await submit(b, 2)) await claimAttempt(env.db, bJob.id, { leaseMs: LEASE_MS });
  // Only A's chunks wait: three of them start (three live chunk leases).
  for (const index of [0, 1, 2]) {
    const work = await claim();
    expect(work.kind === 'chunk' && work.chunk.index).toBe(index);
  }
  await submit(a, 1);
  const [bNext] = await submit(b, 1);
  // A runs 3 units (its one job's chunks), B 2 jobs: B goes first. Counted as one job,
  // A's long job would have won.
  const next = await claim();
  expect(next.kind === 'job' && next.job.id).toBe(bNext!.id);
  // 3 against 3, A served longer ago: A, and its last chunk before its queued job.
  const chunk = await claim();
  expect(chunk.kind === 'chunk' && chunk.chunk.index).toBe(3);
  const last = await claim();
  expect(last.kind === 'job' && last.job.tenant_id).toBe(a);
});

test('concurrent claimers never take the same unit, and N tokens claim exactly N units', async () => {
  const tenants = await Promise.all(['a', 'b', 'c', 'd'].map((n) => tenant(n)));
  for (const t of tenants) await submit(t, 10);
  const pool = createDb(env.databaseUrl, { max: 12 });
  try {
    // 40 units, 40 tokens at once, then 10 more: the spare ones find nothing.
    const first = await Promise.all(Array.from({ length: 40 }, () => claim(pool)));
    const ids = first.flatMap((w) => (w.kind === 'job' ? [w.job.id] : []));
    const blocked = first.filter((w) => w.kind === 'blocked').length;
    // A token that lost every race for a group is kept ('blocked'): redelivered, it claims.
    let retried = 0;
    for (let i = 0; i < blocked; i++) {
      const w = await claim(pool);
      if (w.kind === 'job') ids.push(w.job.id);
      retried++;
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(40);
    const spare = await Promise.all(Array.from({ length: 10 }, () => claim(pool)));
    expect(spare.every((w) => w.kind === 'idle')).toBe(true);
    const rows = await env.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('status', '=', 'processing')
      .where('attempts', '=', 1)
      .executeTakeFirstOrThrow();
    expect(Number(rows.n)).toBe(40);
    expect(retried).toBe(blocked);
  } finally {
    await pool.destroy();
  }
});

test('queue positions follow the fair order: rounds between tenants, priorities first', async () => {
  const a = await tenant('a');
  const b = await tenant('b');
  const c = await tenant('c');
  const aJobs = await submit(a, 4);
  expect(await claimTenant()).toBe(a);
  const bJobs = await submit(b, 2);
  const [urgent] = await submit(c, 1, 'high');
  const queued = [...aJobs.slice(1), ...bJobs, urgent!];
  const places = await queuePositions(
    env.db,
    queued.map((j) => j.id),
  );
  const position = (job: JobRow) => places.get(job.id)?.position;
  // C's high job; then B (never served) and A by rounds: B0 A1 B1 A2 A3.
  expect(position(urgent!)).toBe(0);
  expect([bJobs[0], aJobs[1], bJobs[1], aJobs[2], aJobs[3]].map((j) => position(j!))).toEqual([
    1, 2, 3, 4, 5,
  ]);
  // And the claims come in that order.
  const order: string[] = [];
  for (let i = 0; i < queued.length; i++) {
    const w = await claim();
    if (w.kind === 'job') order.push(w.job.id);
  }
  expect(order).toEqual(
    [urgent, bJobs[0], aJobs[1], bJobs[1], aJobs[2], aJobs[3]].map((j) => j!.id),
  );
});

test('the lifecycle keeps the columns the scheduler reads', async () => {
  const a = await tenant('a');
  const [job] = await submit(a, 1);
  const row = () =>
    env.db.selectFrom('jobs').selectAll().where('id', '=', job!.id).executeTakeFirstOrThrow();
  const created = await row();
  // A retry with backoff: back in line now, not to be taken before its delay.
  let claimed = (await claimAttempt(env.db, job!.id, { leaseMs: LEASE_MS }))!;
  await requeueForRetry(env.db, claimed, { level: 1, delayMs: 30_000 });
  const retried = await row();
  expect(retried.queued_at.getTime()).toBeGreaterThan(created.queued_at.getTime());
  expect(retried.not_before!.getTime() - retried.queued_at.getTime()).toBeGreaterThanOrEqual(
    29_000,
  );
  // A hand-over: back in line, no backoff.
  await env.db.updateTable('jobs').set({ not_before: null }).where('id', '=', job!.id).execute();
  claimed = (await claimAttempt(env.db, job!.id, { leaseMs: LEASE_MS }))!;
  await requeueForHandover(env.db, claimed);
  expect((await row()).not_before).toBeNull();
  // A manual retry of a failed job: back in line, no backoff.
  claimed = (await claimAttempt(env.db, job!.id, { leaseMs: LEASE_MS }))!;
  await markFailed(env.db, claimed, { code: 'unsupported_media_type', message: 'x' });
  const failedAt = (await row()).queued_at;
  await retryJob(env.db, a, job!.id);
  const again = await row();
  expect(again.queued_at.getTime()).toBeGreaterThan(failedAt.getTime());
  expect(again.not_before).toBeNull();
  // A fan-out marks the chunks it publishes with its attempt.
  claimed = (await claimAttempt(env.db, job!.id, { leaseMs: LEASE_MS }))!;
  await ensureChunkPlan(env.db, job!.id, [
    { startS: 0, endS: 30 },
    { startS: 30, endS: 60 },
  ]);
  await fanOutChunks(env.db, claimed, { indexes: [1], leaseMs: LEASE_MS });
  const chunks = await env.db
    .selectFrom('job_chunks')
    .select(['index', 'dispatched_attempt'])
    .where('job_id', '=', job!.id)
    .orderBy('index')
    .execute();
  expect(chunks).toEqual([
    { index: 0, dispatched_attempt: null },
    { index: 1, dispatched_attempt: claimed.attempts },
  ]);
});
