import { sql } from 'kysely';
import type { Db } from './connection.js';
import type { JobRow } from './schema.js';

// Issue 17: usage per tenant and UTC day. Counted by the job lifecycle's edges in their own
// transactions (a refused edge counts nothing), into rows that outlive the jobs.

/** Today in UTC, as Postgres sees it (the transaction's clock, like the state change's). */
const utcToday = sql<string>`(now() AT TIME ZONE 'UTC')::date`;

export interface UsageIncrement {
  jobsSubmitted?: number;
  jobsCompleted?: number;
  jobsFailed?: number;
  audioS?: number;
  processingS?: number;
}

/** Adds to the tenant's row for today (made if new). */
export async function addTenantUsage(db: Db, tenantId: string, add: UsageIncrement): Promise<void> {
  const values = {
    jobs_submitted: add.jobsSubmitted ?? 0,
    jobs_completed: add.jobsCompleted ?? 0,
    jobs_failed: add.jobsFailed ?? 0,
    audio_s: add.audioS ?? 0,
    processing_s: add.processingS ?? 0,
  };
  await db
    .insertInto('tenant_usage_days')
    .values({ tenant_id: tenantId, day: utcToday, ...values })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'day']).doUpdateSet((eb) => ({
        jobs_submitted: eb('tenant_usage_days.jobs_submitted', '+', values.jobs_submitted),
        jobs_completed: eb('tenant_usage_days.jobs_completed', '+', values.jobs_completed),
        jobs_failed: eb('tenant_usage_days.jobs_failed', '+', values.jobs_failed),
        audio_s: eb('tenant_usage_days.audio_s', '+', values.audio_s),
        processing_s: eb('tenant_usage_days.processing_s', '+', values.processing_s),
      })),
    )
    .execute();
}

/**
 * Seconds a job that just ended spent processing: what its worker measured, else (a
 * failure, which records none) the time since its last attempt started.
 */
function processingSecondsOf(job: JobRow): number {
  if (job.processing_ms !== null) return job.processing_ms / 1000;
  if (!job.started_at) return 0;
  const end = job.finished_at ?? new Date();
  return Math.max(0, (end.getTime() - job.started_at.getTime()) / 1000);
}

/** Counts a job's end (the row as the complete or fail edge left it). */
export async function countJobEnd(
  db: Db,
  job: JobRow,
  outcome: 'completed' | 'failed',
): Promise<void> {
  await addTenantUsage(
    db,
    job.tenant_id,
    outcome === 'completed'
      ? { jobsCompleted: 1, audioS: job.duration_s ?? 0, processingS: processingSecondsOf(job) }
      : { jobsFailed: 1, processingS: processingSecondsOf(job) },
  );
}

export interface UsageDay {
  day: string;
  jobsSubmitted: number;
  jobsCompleted: number;
  jobsFailed: number;
  audioS: number;
  processingS: number;
}

/** The tenant's days with any use from `from` to `to` (YYYY-MM-DD, both included), oldest first. */
export async function listTenantUsage(
  db: Db,
  tenantId: string,
  range: { from: string; to: string },
): Promise<UsageDay[]> {
  const rows = await db
    .selectFrom('tenant_usage_days')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('day', '>=', range.from)
    .where('day', '<=', range.to)
    .orderBy('day')
    .execute();
  return rows.map((row) => ({
    day: row.day,
    jobsSubmitted: Number(row.jobs_submitted),
    jobsCompleted: Number(row.jobs_completed),
    jobsFailed: Number(row.jobs_failed),
    audioS: Number(row.audio_s),
    processingS: Number(row.processing_s),
  }));
}

/**
 * The tenant's first queued job of each priority (earliest queued): one of them is the
 * next the scheduler takes of this tenant's, whatever the order between priorities.
 */
export async function firstQueuedJobIds(db: Db, tenantId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('jobs')
    .distinctOn('priority')
    .select(['id', 'priority'])
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'queued')
    .orderBy('priority')
    .orderBy('queued_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => row.id);
}
