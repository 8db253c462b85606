// Repositories against a real Postgres: guarded job transitions, gap-free event seqs,
// migrations, API key lookup. Each test makes its own job, so order does not matter.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { createTestEnv, jobFields, type TestEnv } from '../../testkit/src/index.js';
import { migrations } from '../src/migrations/index.js';
import {
  appendJobEvent,
  chargedAttempts,
  claimChunk,
  claimJob,
  completeJob,
  createDb,
  ensureChunkPlan,
  ensureTenant,
  failJob,
  findJob,
  findJobById,
  findTenantIdByApiKey,
  hashApiKey,
  insertApiKey,
  insertJob,
  listJobEvents,
  migrateToLatest,
  releaseChunk,
  renewLease,
  requeueJob,
  updateJobProgress,
  type JobRow,
} from '../src/index.js';

let env: TestEnv;
let tenantId: string;

beforeAll(async () => {
  env = await createTestEnv();
  tenantId = await ensureTenant(env.db, 'tenant-jobs');
}, 60_000);

afterAll(async () => {
  await env?.close();
});

async function newJob(overrides: Partial<JobRow> = {}): Promise<JobRow> {
  return insertJob(
    env.db,
    jobFields(tenantId, {
      id: uuidv7(),
      status: 'queued',
      stage: 'queued',
      ...(overrides as object),
    }),
  );
}

const reload = async (id: string) => (await findJobById(env.db, id))!;
const LEASE = { leaseMs: 60_000 };
const done = (id: string, attempt: number) => ({
  id,
  attempt,
  text: 'and so my fellow americans',
  segments: [{ start: 0, end: 2, text: 'and so my fellow americans' }],
  durationS: 11,
  processingMs: 5000,
  model: 'en-us',
});

describe('claimJob', () => {
  it('takes a queued job once: processing, attempt 1, started, leased', async () => {
    const job = await newJob();
    const claimed = await claimJob(env.db, job.id, LEASE);
    expect(claimed).toMatchObject({ id: job.id, status: 'processing', attempts: 1 });
    expect(claimed!.started_at).toBeInstanceOf(Date);
    expect(claimed!.lease_expires_at!.getTime()).toBeGreaterThan(Date.now() + 50_000);

    expect(await claimJob(env.db, job.id, LEASE)).toBeUndefined();
    expect(await reload(job.id)).toMatchObject({ status: 'processing', attempts: 1 });
  });

  it('lets exactly one of many concurrent claimers win', async () => {
    const job = await newJob();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => claimJob(env.db, job.id, LEASE)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await reload(job.id)).toMatchObject({ status: 'processing', attempts: 1 });
  });

  it('never takes over a processing job whose lease is live (a redelivered message)', async () => {
    const job = await newJob();
    await claimJob(env.db, job.id, LEASE);
    expect(await claimJob(env.db, job.id, LEASE)).toBeUndefined();
    expect(await reload(job.id)).toMatchObject({ attempts: 1, lost_attempts: 0 });
  });

  it('takes over a processing job whose lease ran out, counting the old attempt as lost', async () => {
    const job = await newJob();
    const first = (await claimJob(env.db, job.id, { leaseMs: -1000 }))!;
    const again = await claimJob(env.db, job.id, LEASE);
    expect(again).toMatchObject({ status: 'processing', attempts: 2, lost_attempts: 1 });
    expect(again!.started_at).toEqual(first.started_at);
    expect(chargedAttempts(again!)).toBe(1);
  });

  it.each(['completed', 'failed', 'canceled'] as const)('never claims a %s job', async (status) => {
    const job = await newJob({ status });
    expect(await claimJob(env.db, job.id, LEASE)).toBeUndefined();
    expect(await reload(job.id)).toMatchObject({ status, attempts: 0 });
  });

  it('returns undefined for an unknown id', async () => {
    expect(await claimJob(env.db, uuidv7(), LEASE)).toBeUndefined();
  });
});

describe('completeJob, failJob, requeueJob, updateJobProgress', () => {
  it('completes the current attempt with text, segments and progress 100', async () => {
    const job = await newJob();
    await claimJob(env.db, job.id, LEASE);
    const completed = await completeJob(env.db, done(job.id, 1));
    expect(completed).toMatchObject({
      status: 'completed',
      stage: 'completed',
      progress: 100,
      text: 'and so my fellow americans',
      segments: [{ start: 0, end: 2, text: 'and so my fellow americans' }],
      duration_s: 11,
      processing_ms: 5000,
      model: 'en-us',
      lease_expires_at: null,
    });
    expect(completed!.finished_at).toBeInstanceOf(Date);
    // A redelivered message's second completion finds nothing to do.
    expect(await completeJob(env.db, done(job.id, 1))).toBeUndefined();
  });

  it('ignores a completion from a stale attempt and changes nothing', async () => {
    const job = await newJob();
    await claimJob(env.db, job.id, { leaseMs: -1000 });
    await claimJob(env.db, job.id, LEASE);
    const before = await reload(job.id);

    expect(await completeJob(env.db, done(job.id, 1))).toBeUndefined();
    expect(await reload(job.id)).toEqual(before);
    expect(before).toMatchObject({ status: 'processing', attempts: 2, text: null });

    expect(await completeJob(env.db, done(job.id, 2))).toMatchObject({ status: 'completed' });
  });

  it('does not complete a queued job', async () => {
    const job = await newJob();
    expect(await completeJob(env.db, done(job.id, 0))).toBeUndefined();
    expect(await reload(job.id)).toMatchObject({ status: 'queued', text: null });
  });

  it('never fails a completed job', async () => {
    const job = await newJob();
    await claimJob(env.db, job.id, LEASE);
    await completeJob(env.db, done(job.id, 1));
    const before = await reload(job.id);

    expect(
      await failJob(env.db, { id: job.id, attempt: 1, code: 'engine_failed', message: 'x' }),
    ).toBeUndefined();
    expect(
      await failJob(env.db, { id: job.id, attempt: null, code: 'engine_failed', message: 'x' }),
    ).toBeUndefined();
    expect(await reload(job.id)).toEqual(before);
    expect(before).toMatchObject({ status: 'completed', error_code: null });
  });

  it('fails a queued job (attempt null) and a processing one under its attempt only', async () => {
    const queued = await newJob();
    expect(
      await failJob(env.db, {
        id: queued.id,
        attempt: null,
        code: 'object_missing',
        message: 'gone',
      }),
    ).toMatchObject({
      status: 'failed',
      stage: 'failed',
      error_code: 'object_missing',
      error_message: 'gone',
    });

    const processing = await newJob();
    await claimJob(env.db, processing.id, LEASE);
    // attempt null only fails queued jobs; a wrong attempt fails nothing.
    expect(
      await failJob(env.db, { id: processing.id, attempt: null, code: 'timeout', message: 't' }),
    ).toBeUndefined();
    expect(
      await failJob(env.db, { id: processing.id, attempt: 7, code: 'timeout', message: 't' }),
    ).toBeUndefined();
    expect(await reload(processing.id)).toMatchObject({ status: 'processing', error_code: null });
    const failed = await failJob(env.db, {
      id: processing.id,
      attempt: 1,
      code: 'invalid_media',
      message: 'bad',
    });
    expect(failed).toMatchObject({
      status: 'failed',
      error_code: 'invalid_media',
      lease_expires_at: null,
    });
    expect(failed!.finished_at).toBeInstanceOf(Date);
  });

  it('requeues a processing job for its holder only, and the next claim is a new attempt', async () => {
    const job = await newJob();
    await claimJob(env.db, job.id, LEASE);
    expect(await requeueJob(env.db, { id: job.id, attempt: 2 })).toBeUndefined();
    expect(await reload(job.id)).toMatchObject({ status: 'processing' });

    const requeued = await requeueJob(env.db, { id: job.id, attempt: 1 });
    expect(requeued).toMatchObject({
      status: 'queued',
      stage: 'queued',
      lease_expires_at: null,
      attempts: 1,
    });
    expect(await requeueJob(env.db, { id: job.id, attempt: 1 })).toBeUndefined();

    expect(await claimJob(env.db, job.id, LEASE)).toMatchObject({
      status: 'processing',
      attempts: 2,
    });
  });

  it('does not requeue a completed job', async () => {
    const job = await newJob();
    await claimJob(env.db, job.id, LEASE);
    await completeJob(env.db, done(job.id, 1));
    expect(await requeueJob(env.db, { id: job.id, attempt: 1 })).toBeUndefined();
    expect(await reload(job.id)).toMatchObject({ status: 'completed' });
  });

  it('updates progress for the current attempt only', async () => {
    const job = await newJob();
    await claimJob(env.db, job.id, LEASE);
    const input = { id: job.id, progress: 40, stage: 'transcribing', leaseMs: 120_000 };
    expect(await updateJobProgress(env.db, { ...input, attempt: 1 })).toEqual({
      held: true,
      advanced: true,
    });
    const row = await reload(job.id);
    expect(row).toMatchObject({ progress: 40, stage: 'transcribing' });
    expect(row.lease_expires_at!.getTime()).toBeGreaterThan(Date.now() + 100_000);

    expect(await updateJobProgress(env.db, { ...input, progress: 90, attempt: 2 })).toEqual({
      held: false,
      advanced: false,
    });
    expect(await reload(job.id)).toMatchObject({ progress: 40 });
  });

  it('never moves progress back: a late, lower report renews the lease and changes nothing', async () => {
    const job = await newJob();
    await claimJob(env.db, job.id, LEASE);
    const base = { id: job.id, attempt: 1, leaseMs: 120_000 };
    await updateJobProgress(env.db, { ...base, progress: 31.4, stage: 'transcribing' });
    const before = (await reload(job.id)).lease_expires_at!.getTime();
    await new Promise((r) => setTimeout(r, 20));
    const late = await updateJobProgress(env.db, { ...base, progress: 9, stage: 'splitting' });
    expect(late).toEqual({ held: true, advanced: false });
    const row = await reload(job.id);
    expect(row).toMatchObject({ progress: 31.4, stage: 'transcribing' });
    expect(row.lease_expires_at!.getTime()).toBeGreaterThan(before);
  });
});

describe('job events', () => {
  it('appends seq 1, 2, 3 and queues each on the outbox with its routing key', async () => {
    const job = await newJob();
    const ref = { id: job.id, tenantId };
    const e1 = await appendJobEvent(env.db, ref, { type: 'queued' });
    const e2 = await appendJobEvent(env.db, ref, { type: 'processing', attempt: 1 });
    const e3 = await appendJobEvent(env.db, ref, {
      type: 'progress',
      progress: 50,
      stage: 'transcribing',
    });
    expect([e1.seq, e2.seq, e3.seq]).toEqual([1, 2, 3]);
    expect(e2).toMatchObject({ v: 1, jobId: job.id, tenantId, type: 'processing', attempt: 1 });

    const outbox = await env.db
      .selectFrom('outbox')
      .selectAll()
      .where('routing_key', 'like', `${tenantId}.${job.id}.%`)
      .orderBy('id')
      .execute();
    expect(outbox.map((r) => [r.topic, r.routing_key])).toEqual([
      ['events', `${tenantId}.${job.id}.queued`],
      ['events', `${tenantId}.${job.id}.processing`],
      ['events', `${tenantId}.${job.id}.progress`],
    ]);
    expect(outbox[2]!.payload).toEqual(e3);
    expect((await reload(job.id)).last_event_seq).toBe(3);
  });

  it('gives 20 concurrent appends in separate transactions exactly seqs 1..20', async () => {
    const job = await newJob();
    const ref = { id: job.id, tenantId };
    const events = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        env.db
          .transaction()
          .execute((trx) =>
            appendJobEvent(trx, ref, { type: 'progress', progress: i, stage: 'transcribing' }),
          ),
      ),
    );
    expect(events.map((e) => e.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const stored = await env.db
      .selectFrom('job_events')
      .select('seq')
      .where('job_id', '=', job.id)
      .orderBy('seq')
      .execute();
    expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('leaves no gap when an appending transaction rolls back', async () => {
    const job = await newJob();
    const ref = { id: job.id, tenantId };
    await appendJobEvent(env.db, ref, { type: 'queued' });
    await expect(
      env.db.transaction().execute(async (trx) => {
        await appendJobEvent(trx, ref, { type: 'processing', attempt: 1 });
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    const next = await appendJobEvent(env.db, ref, { type: 'processing', attempt: 1 });
    expect(next.seq).toBe(2);
    expect((await listJobEvents(env.db, job.id, 0)).map((e) => [e.seq, e.type])).toEqual([
      [1, 'queued'],
      [2, 'processing'],
    ]);
  });

  it('rejects an event that breaks the contract and appends nothing', async () => {
    const job = await newJob();
    await expect(
      env.db
        .transaction()
        .execute((trx) =>
          appendJobEvent(
            trx,
            { id: job.id, tenantId },
            { type: 'progress', progress: 150, stage: 'x' },
          ),
        ),
    ).rejects.toThrow();
    expect(await listJobEvents(env.db, job.id, 0)).toEqual([]);
    expect((await reload(job.id)).last_event_seq).toBe(0);
  });

  it('lists the ordered tail after a seq, limited, and only for that job', async () => {
    const job = await newJob();
    const other = await newJob();
    for (let i = 0; i < 6; i++) {
      await appendJobEvent(
        env.db,
        { id: job.id, tenantId },
        { type: 'progress', progress: i * 10, stage: 's' },
      );
      await appendJobEvent(
        env.db,
        { id: other.id, tenantId },
        { type: 'progress', progress: i, stage: 's' },
      );
    }
    const tail = await listJobEvents(env.db, job.id, 3);
    expect(tail.map((e) => e.seq)).toEqual([4, 5, 6]);
    expect(tail.every((e) => e.jobId === job.id)).toBe(true);
    expect(tail.map((e) => (e.type === 'progress' ? e.progress : -1))).toEqual([30, 40, 50]);
    expect((await listJobEvents(env.db, job.id, 0, 2)).map((e) => e.seq)).toEqual([1, 2]);
    expect(await listJobEvents(env.db, job.id, 6)).toEqual([]);
    expect(await listJobEvents(env.db, uuidv7(), 0)).toEqual([]);
  });
});

describe('findJob', () => {
  it("does not return another tenant's job", async () => {
    const job = await newJob();
    const otherTenant = await ensureTenant(env.db, 'tenant-other');
    expect(await findJob(env.db, tenantId, job.id)).toMatchObject({ id: job.id });
    expect(await findJob(env.db, otherTenant, job.id)).toBeUndefined();
  });
});

describe('migrations', () => {
  it('are idempotent: running them again applies nothing and keeps the data', async () => {
    const job = await newJob();
    expect(await migrateToLatest(env.db)).toEqual([]);
    expect(await migrateToLatest(env.db)).toEqual([]);
    expect(await reload(job.id)).toMatchObject({ id: job.id });
  });

  it('apply exactly once when two processes migrate a fresh database at the same time', async () => {
    const name = `t_fresh_${randomBytes(5).toString('hex')}`;
    await sql.raw(`CREATE DATABASE ${name}`).execute(env.db);
    const url = new URL(env.databaseUrl);
    url.pathname = `/${name}`;
    const a = createDb(url.toString(), { max: 2 });
    const b = createDb(url.toString(), { max: 2 });
    try {
      const [ra, rb] = await Promise.all([migrateToLatest(a), migrateToLatest(b)]);
      // Each migration once, in order, whichever process ran it.
      expect([...ra, ...rb]).toEqual(Object.keys(migrations).sort());
      expect(Object.keys(migrations).length).toBeGreaterThanOrEqual(4);
      const tables = await sql<{ table_name: string }>`
        select table_name from information_schema.tables where table_schema = 'public' order by table_name`.execute(
        a,
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(
        expect.arrayContaining([
          'api_keys',
          'job_chunks',
          'job_events',
          'jobs',
          'outbox',
          'rate_limits',
          'tenants',
          'uploads',
          'webhook_deliveries',
        ]),
      );
    } finally {
      await a.destroy();
      await b.destroy();
      await sql.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).execute(env.db);
    }
  });
});

describe('api keys', () => {
  it('finds the tenant by key, stores only the hash, and ignores revoked and unknown keys', async () => {
    const key = `tk_${randomBytes(24).toString('base64url')}`;
    const { id, prefix } = await insertApiKey(env.db, { tenantId, name: 'ci', key });
    expect(prefix).toBe(key.slice(0, 8));
    expect(await findTenantIdByApiKey(env.db, key)).toBe(tenantId);
    expect(await findTenantIdByApiKey(env.db, `${key}x`)).toBeUndefined();

    const row = await env.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.key_hash).toBe(hashApiKey(key));
    expect(Object.values(row)).not.toContain(key);

    await env.db
      .updateTable('api_keys')
      .set({ revoked_at: new Date() })
      .where('id', '=', id)
      .execute();
    expect(await findTenantIdByApiKey(env.db, key)).toBeUndefined();
  });

  it('ensureTenant returns the same id for the same name', async () => {
    const a = await ensureTenant(env.db, 'same-name');
    expect(await ensureTenant(env.db, 'same-name')).toBe(a);
    expect(await ensureTenant(env.db, 'another-name')).not.toBe(a);
  });
});

describe('leases', () => {
  it('a renewal or a progress write extends a lease, never shortens it', async () => {
    const job = await newJob();
    await claimJob(env.db, job.id, { leaseMs: 180_000 });
    const long = (await reload(job.id)).lease_expires_at!.getTime();
    expect(await renewLease(env.db, { id: job.id, attempt: 1, leaseMs: 6000 })).toBe(true);
    await updateJobProgress(env.db, {
      id: job.id,
      attempt: 1,
      progress: 5,
      stage: 'splitting',
      leaseMs: 6000,
    });
    expect((await reload(job.id)).lease_expires_at!.getTime()).toBeGreaterThanOrEqual(long);
  });

  it('a chunk under a live lease of an earlier attempt waits until it is released', async () => {
    const job = await newJob();
    await claimJob(env.db, job.id, LEASE);
    await ensureChunkPlan(env.db, job.id, [{ startS: 0, endS: 8 }]);
    const chunk = { jobId: job.id, index: 0, leaseMs: 60_000 };
    expect(await claimChunk(env.db, { ...chunk, attempt: 1, holder: 'a1:old' })).toMatchObject({
      index: 0,
    });
    // The job is taken over (attempt 2) while attempt 1's worker still transcribes chunk 0.
    await requeueJob(env.db, { id: job.id, attempt: 1, lost: true });
    await claimJob(env.db, job.id, LEASE);
    expect(await claimChunk(env.db, { ...chunk, attempt: 2, holder: 'a2:new' })).toBe('held');
    // Its next heartbeat finds the job gone; it stops and lets the chunk go.
    await releaseChunk(env.db, { jobId: job.id, index: 0, holder: 'a1:old' });
    expect(await claimChunk(env.db, { ...chunk, attempt: 2, holder: 'a2:new' })).toMatchObject({
      index: 0,
    });
  });
});
