import { sql } from 'kysely';
import type { Segment } from '@transcribe/contracts';
import type { Db } from './connection.js';
import type { JobRow, NewJob } from './schema.js';

// Every state change is a guarded update (`WHERE status …`): a redelivered message or a
// worker that lost its lease finds nothing to update instead of moving a job backwards.

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
 * queued → processing, taking a new attempt number. A job already `processing` is taken
 * over only when its lease has run out or the broker says the previous consumer is gone
 * (`takeOver`); the old holder's later writes then fail their attempt guard.
 */
export async function claimJob(
  db: Db,
  id: string,
  options: { leaseMs: number; takeOver: boolean },
): Promise<JobRow | undefined> {
  const leaseExpires = sql<Date>`now() + ${`${options.leaseMs} milliseconds`}::interval`;
  return db
    .updateTable('jobs')
    .set((eb) => ({
      status: 'processing',
      attempts: eb('attempts', '+', 1),
      started_at: sql`coalesce(started_at, now())`,
      lease_expires_at: leaseExpires,
      updated_at: sql`now()`,
    }))
    .where('id', '=', id)
    .where((eb) =>
      eb.or([
        eb('status', '=', 'queued'),
        eb.and([
          eb('status', '=', 'processing'),
          options.takeOver ? sql<boolean>`true` : eb('lease_expires_at', '<', sql<Date>`now()`),
        ]),
      ]),
    )
    .returningAll()
    .executeTakeFirst();
}

/** Progress of the holder of `attempt`; false when the job was taken away. Renews the lease. */
export async function updateJobProgress(
  db: Db,
  input: { id: string; attempt: number; progress: number; stage: string; leaseMs: number },
): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({
      progress: input.progress,
      stage: input.stage,
      lease_expires_at: sql`now() + ${`${input.leaseMs} milliseconds`}::interval`,
      updated_at: sql`now()`,
    })
    .where('id', '=', input.id)
    .where('status', '=', 'processing')
    .where('attempts', '=', input.attempt)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function setJobDuration(db: Db, id: string, durationS: number): Promise<void> {
  await db.updateTable('jobs').set({ duration_s: durationS }).where('id', '=', id).execute();
}

export async function completeJob(
  db: Db,
  input: {
    id: string;
    attempt: number;
    text: string;
    segments: Segment[];
    durationS: number | null;
    processingMs: number;
    model: string | null;
  },
): Promise<JobRow | undefined> {
  return db
    .updateTable('jobs')
    .set({
      status: 'completed',
      progress: 100,
      stage: 'completed',
      text: input.text,
      segments: JSON.stringify(input.segments),
      duration_s: input.durationS,
      processing_ms: input.processingMs,
      model: input.model,
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

/** processing → queued, for a retry after a transient failure or a graceful shutdown. */
export async function requeueJob(
  db: Db,
  input: { id: string; attempt: number },
): Promise<JobRow | undefined> {
  return db
    .updateTable('jobs')
    .set({ status: 'queued', stage: 'queued', lease_expires_at: null, updated_at: sql`now()` })
    .where('id', '=', input.id)
    .where('status', '=', 'processing')
    .where('attempts', '=', input.attempt)
    .returningAll()
    .executeTakeFirst();
}
