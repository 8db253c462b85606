import { sql } from 'kysely';
import type { JobStatus, Segment, Word } from '@transcribe/contracts';
import type { Db } from './connection.js';
import { languageOnCompletion } from './job-language.js';
import type { JobRow, NewJob } from './schema.js';
import { lockTenantCount } from './tenants.repository.js';

// Every state change is a guarded update (`WHERE status …`): a redelivered message or a
// worker that lost its lease finds nothing to update instead of moving a job backwards.
// These are bare row updates; packages/jobs (lifecycle.ts) is their one caller outside
// tests, and adds each change's event and messages in the same transaction.

export async function insertJob(db: Db, job: NewJob): Promise<JobRow> {
  return db.insertInto('jobs').values(job).returningAll().executeTakeFirstOrThrow();
}

export async function findJob(db: Db, tenantId: string, id: string): Promise<JobRow | undefined> {
  return db
    .selectFrom('jobs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function findJobById(db: Db, id: string): Promise<JobRow | undefined> {
  return db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Postgres channel on which every deleted job row is announced when its transaction commits
 * (a trigger, migration 0013), payload `<tenantId>/<jobId>`.
 */
export const JOB_DELETED_CHANNEL = 'job_deleted';

/** Removes the row; its events, chunks and transcript go with it (ON DELETE CASCADE). */
export async function deleteJob(db: Db, id: string): Promise<void> {
  await db.deleteFrom('jobs').where('id', '=', id).execute();
}

export interface JobCount {
  status: string;
  priority: string;
  count: number;
}

/** Jobs of every tenant by status and priority: what the gateway's gauge reports. */
export async function countJobsByStatusAndPriority(db: Db): Promise<JobCount[]> {
  const rows = await sql<{ status: string; priority: string; n: string }>`
    SELECT status, priority, count(*) AS n FROM jobs GROUP BY status, priority`.execute(db);
  return rows.rows.map((row) => ({
    status: row.status,
    priority: row.priority,
    count: Number(row.n),
  }));
}

/**
 * queued → processing, taking a new attempt number. A job already `processing` is taken
 * over only once its lease has run out: a redelivered message says the broker lost a
 * consumer's channel, not that the worker holding the job is gone (it may be running it
 * still), so redelivery alone never takes a job. A take-over counts the previous attempt
 * as lost (`lost_attempts`), not charged to the job's budget; the old holder's later
 * writes fail their attempt guard.
 */
export async function claimJob(
  db: Db,
  id: string,
  options: {
    leaseMs: number;
    /** Only `false` is accepted: a live lease is never taken over (kept for older callers). */
    takeOver?: false;
  },
): Promise<JobRow | undefined> {
  const leaseExpires = sql<Date>`now() + ${`${options.leaseMs} milliseconds`}::interval`;
  return db
    .updateTable('jobs')
    .set((eb) => ({
      status: 'processing',
      attempts: eb('attempts', '+', 1),
      lost_attempts: sql<number>`lost_attempts + (CASE WHEN status = 'processing' THEN 1 ELSE 0 END)`,
      started_at: sql`coalesce(started_at, now())`,
      lease_expires_at: leaseExpires,
      updated_at: sql`now()`,
      // Issue 16: each attempt's progress starts from its own figure (its events carry
      // the attempt, so a UI can tell a restart from progress going backwards).
      progress: 0,
      audio_done_s: 0,
      eta_s: null,
      transcribing_started_at: null,
      transcribing_base_s: 0,
      progress_moved_at: sql`now()`,
      progress_event_at: null,
      queue_position: null,
    }))
    .where('id', '=', id)
    .where((eb) =>
      eb.or([
        eb('status', '=', 'queued'),
        eb.and([eb('status', '=', 'processing'), eb('lease_expires_at', '<', sql<Date>`now()`)]),
      ]),
    )
    .returningAll()
    .executeTakeFirst();
}

/** Attempts of this job charged to MAX_ATTEMPTS: since the last manual retry, less lost ones. */
export function chargedAttempts(
  job: Pick<JobRow, 'attempts' | 'retry_base' | 'lost_attempts'>,
): number {
  return job.attempts - job.retry_base - job.lost_attempts;
}

/** Progress of the holder of `attempt`; false when the job was taken away. Renews the lease. */
/**
 * Progress for the holder of `attempt`, renewing its lease. Progress never goes back: a
 * late, lower report (a fan-out coordinator's last throttled value landing after a chunk's
 * higher one) keeps the stored value and stage. `held` false: the job is not this
 * attempt's any more; `advanced` false: the report was stale and changed nothing.
 */
export async function updateJobProgress(
  db: Db,
  input: { id: string; attempt: number; progress: number; stage: string; leaseMs: number },
): Promise<{ held: boolean; advanced: boolean }> {
  const row = await db
    .updateTable('jobs')
    .set({
      progress: sql`greatest(progress, ${input.progress})`,
      stage: sql`case when progress <= ${input.progress} then ${input.stage} else stage end`,
      lease_expires_at: extendedLease(input.leaseMs),
      updated_at: sql`now()`,
    })
    .where('id', '=', input.id)
    .where('status', '=', 'processing')
    .where('attempts', '=', input.attempt)
    .returning(['progress', 'stage'])
    .executeTakeFirst();
  if (!row) return { held: false, advanced: false };
  return { held: true, advanced: row.progress === input.progress && row.stage === input.stage };
}

/** Records the decoded duration for the holder of `attempt`; false when the job is not its own. */
export async function setJobDuration(
  db: Db,
  input: { id: string; attempt: number; durationS: number },
): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({ duration_s: input.durationS })
    .where('id', '=', input.id)
    .where('status', '=', 'processing')
    .where('attempts', '=', input.attempt)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** What a finished transcription leaves on its job. */
export interface JobResult {
  text: string;
  segments: Segment[];
  words?: Word[];
  durationS: number | null;
  processingMs: number;
  model: string | null;
}

export async function completeJob(
  db: Db,
  input: { id: string; attempt: number } & JobResult,
): Promise<JobRow | undefined> {
  return db
    .updateTable('jobs')
    .set({
      status: 'completed',
      progress: 100,
      stage: 'completed',
      text: input.text,
      segments: JSON.stringify(input.segments),
      words: JSON.stringify(input.words ?? []),
      duration_s: input.durationS,
      processing_ms: input.processingMs,
      model: input.model,
      ...languageOnCompletion(input.id),
      lease_expires_at: null,
      finished_at: sql`now()`,
      updated_at: sql`now()`,
    })
    .where('id', '=', input.id)
    .where('status', '=', 'processing')
    .where('attempts', '=', input.attempt)
    .returningAll()
    .executeTakeFirst();
}

/** Fails a job that is queued, or processing under `attempt`. */
export async function failJob(
  db: Db,
  input: { id: string; attempt: number | null; code: string; message: string },
): Promise<JobRow | undefined> {
  return db
    .updateTable('jobs')
    .set({
      status: 'failed',
      stage: 'failed',
      error_code: input.code,
      error_message: input.message,
      lease_expires_at: null,
      finished_at: sql`now()`,
      updated_at: sql`now()`,
    })
    .where('id', '=', input.id)
    .where((eb) =>
      input.attempt === null
        ? eb('status', '=', 'queued')
        : eb.and([eb('status', '=', 'processing'), eb('attempts', '=', input.attempt)]),
    )
    .returningAll()
    .executeTakeFirst();
}

/**
 * processing → queued, for a retry after a transient failure, or (`lost`) an attempt that
 * ended without a verdict on the audio: a graceful shutdown, or a lease the reaper found
 * expired. A lost attempt is not charged to the job's budget.
 */
export async function requeueJob(
  db: Db,
  input: {
    id: string;
    attempt: number;
    lost?: boolean;
    /** A retry's backoff: the fair scheduler takes the job no earlier than this from now. */
    notBeforeMs?: number;
  },
): Promise<JobRow | undefined> {
  return db
    .updateTable('jobs')
    .set((eb) => ({
      status: 'queued',
      stage: 'queued',
      lease_expires_at: null,
      lost_attempts: input.lost ? eb('lost_attempts', '+', 1) : eb.ref('lost_attempts'),
      updated_at: sql`now()`,
      // Back in the queue: its wait (and its place in its tenant's line) starts again.
      queued_at: sql`now()`,
      not_before: input.notBeforeMs
        ? sql`now() + ${`${Math.round(input.notBeforeMs)} milliseconds`}::interval`
        : null,
    }))
    .where('id', '=', input.id)
    .where('status', '=', 'processing')
    .where('attempts', '=', input.attempt)
    .returningAll()
    .executeTakeFirst();
}

// --- Worker: leases and the reaper ----------------------------------------------------

/**
 * A renewal (or a progress write) extends a lease and never shortens it: a fanned-out
 * job holds a long lease for its chunks, and a late progress write by its coordinator,
 * which renews with the ordinary short one, must not hand the job to the reaper while
 * its chunks wait in the queue.
 */
function extendedLease(leaseMs: number) {
  return sql<Date>`greatest(lease_expires_at, now() + ${`${leaseMs} milliseconds`}::interval)`;
}

/** Extends the lease of the holder of `attempt`; false when the job is no longer its own. */
export async function renewLease(
  db: Db,
  input: { id: string; attempt: number; leaseMs: number },
): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({ lease_expires_at: extendedLease(input.leaseMs) })
    .where('id', '=', input.id)
    .where('status', '=', 'processing')
    .where('attempts', '=', input.attempt)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/**
 * Processing jobs whose lease ran out (their worker died or hung), locked for the
 * caller's transaction; SKIP LOCKED lets every worker's reaper run at once.
 */
export async function lockExpiredLeases(trx: Db, limit: number): Promise<JobRow[]> {
  return trx
    .selectFrom('jobs')
    .selectAll()
    .where('status', '=', 'processing')
    .where('lease_expires_at', '<', sql<Date>`now()`)
    .orderBy('lease_expires_at')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

/**
 * Queued jobs untouched for `olderThanMs` with no message waiting in the outbox: their
 * message may be lost (a broker node gone). Locked for the caller's transaction.
 */
export async function lockStaleQueuedJobs(
  trx: Db,
  olderThanMs: number,
  limit: number,
): Promise<JobRow[]> {
  return trx
    .selectFrom('jobs')
    .selectAll()
    .where('status', '=', 'queued')
    .where('updated_at', '<', sql<Date>`now() - ${`${olderThanMs} milliseconds`}::interval`)
    .where(
      sql<boolean>`NOT EXISTS (SELECT 1 FROM outbox WHERE topic = 'jobs' AND payload->>'jobId' = jobs.id::text)`,
    )
    .orderBy('updated_at')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

/** The job row, locked for the caller's transaction (serialises a fanned-out job's last chunks). */
export async function lockJob(trx: Db, id: string): Promise<JobRow | undefined> {
  return trx.selectFrom('jobs').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/**
 * Takes the tenant's claim lock for the caller's transaction (so two workers cannot both
 * take the tenant's last free slot) and returns how many of its jobs are processing and
 * its own cap (null: the deployment's default).
 */
export async function lockTenantSlots(
  trx: Db,
  tenantId: string,
): Promise<{ processing: number; max: number | null }> {
  const { count, max } = await lockTenantCount(trx, tenantId, 'processing');
  return { processing: count, max };
}

/** Marks a queued job as just republished, so the reaper leaves it alone for a while; false when it is not queued. */
export async function touchQueuedJob(db: Db, id: string): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({ updated_at: sql`now()` })
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export interface JobListFilter {
  tenantId: string;
  statuses?: readonly string[];
  createdAfter?: Date;
  createdBefore?: Date;
  /** Keyset position: rows with a smaller id (ids are UUIDv7, ordered by creation time). */
  beforeId?: string;
  limit: number;
}

/**
 * A tenant's jobs, newest first, by keyset pagination on the id: created_at has microsecond
 * precision that a cursor in JSON would round away, and a UUIDv7 is as good an order.
 */
export async function listJobs(db: Db, filter: JobListFilter): Promise<JobRow[]> {
  let query = db.selectFrom('jobs').selectAll().where('tenant_id', '=', filter.tenantId);
  if (filter.statuses?.length) {
    query = query.where('status', 'in', filter.statuses as JobRow['status'][]);
  }
  if (filter.createdAfter) query = query.where('created_at', '>=', filter.createdAfter);
  if (filter.createdBefore) query = query.where('created_at', '<', filter.createdBefore);
  if (filter.beforeId) query = query.where('id', '<', filter.beforeId);
  return query.orderBy('id', 'desc').limit(filter.limit).execute();
}

export async function findJobByIdempotencyKey(
  db: Db,
  tenantId: string,
  key: string,
): Promise<JobRow | undefined> {
  return db
    .selectFrom('jobs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
}

/** Finished jobs older than `before`, locked (SKIP LOCKED) for one retention sweeper. */
export async function lockExpiredJobs(trx: Db, before: Date, limit: number): Promise<JobRow[]> {
  return trx
    .selectFrom('jobs')
    .selectAll()
    .where('finished_at', '<', before)
    .where('status', 'in', ['completed', 'failed', 'canceled'])
    .orderBy('finished_at')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

/** How many of a tenant's jobs are processing now. */
export async function countProcessingJobs(db: Db, tenantId: string): Promise<number> {
  const row = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'processing')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Seconds of decoded audio the tenant's jobs started today (UTC) hold, other than
 * `exceptJobId`, with the tenant's own daily limit (null: the default) and when the day
 * ends. With `lock`, takes the tenant's quota lock for the caller's transaction first, so
 * two jobs cannot both take the last of the day's quota.
 */
export async function tenantAudioToday(
  db: Db,
  tenantId: string,
  options: { exceptJobId?: string; lock?: boolean } = {},
): Promise<{ usedS: number; maxS: number | null; resetsAt: Date }> {
  if (options.lock) {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`tenant-audio:${tenantId}`}, 0))`.execute(
      db,
    );
  }
  const dayStart = sql<Date>`date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;
  const row = await db
    .selectFrom('tenants')
    .select((eb) => [
      'max_audio_s_per_day',
      sql<Date>`${dayStart} + interval '1 day'`.as('resets_at'),
      eb
        .selectFrom('jobs')
        .select(sql<number>`coalesce(sum(duration_s), 0)`.as('s'))
        .where('tenant_id', '=', tenantId)
        .where('duration_s', 'is not', null)
        .where('started_at', '>=', dayStart)
        .where('id', '!=', options.exceptJobId ?? '00000000-0000-0000-0000-000000000000')
        .as('used'),
    ])
    .where('id', '=', tenantId)
    .executeTakeFirst();
  const tomorrow = new Date();
  tomorrow.setUTCHours(24, 0, 0, 0);
  return {
    usedS: Number(row?.used ?? 0),
    maxS: row?.max_audio_s_per_day ?? null,
    resetsAt: row ? new Date(row.resets_at) : tomorrow,
  };
}

/**
 * The cancel edge's row update (the lifecycle adds the event): a job of this tenant in one
 * of `from` becomes canceled. Undefined when the guard did not match.
 */
export async function cancelJobRow(
  db: Db,
  job: { tenantId: string; id: string; from: readonly JobStatus[] },
): Promise<{ id: string } | undefined> {
  return db
    .updateTable('jobs')
    .set({
      status: 'canceled',
      stage: 'canceled',
      lease_expires_at: null,
      finished_at: sql`now()`,
      updated_at: sql`now()`,
    })
    .where('tenant_id', '=', job.tenantId)
    .where('id', '=', job.id)
    .where('status', 'in', [...job.from])
    .returning('id')
    .executeTakeFirst();
}

/**
 * The retry edge's row update: a job of this tenant in one of `from` is queued again with
 * a fresh attempt budget (attempts keep counting: they fence late writers of earlier ones).
 */
export async function resetJobForRetry(
  db: Db,
  job: { tenantId: string; id: string; from: readonly JobStatus[] },
): Promise<JobRow | undefined> {
  return db
    .updateTable('jobs')
    .set((eb) => ({
      status: 'queued',
      stage: 'queued',
      progress: 0,
      error_code: null,
      error_message: null,
      retry_base: eb.ref('attempts'),
      lost_attempts: 0,
      finished_at: null,
      lease_expires_at: null,
      updated_at: sql`now()`,
      queued_at: sql`now()`,
      not_before: null,
    }))
    .where('tenant_id', '=', job.tenantId)
    .where('id', '=', job.id)
    .where('status', 'in', [...job.from])
    .returningAll()
    .executeTakeFirst();
}
