import { randomUUID } from 'node:crypto';
import type { EnrichmentStatus } from '@transcribe/contracts';
import { sql } from 'kysely';
import type { Db } from './connection.js';
import type { EnrichmentRow, NewEnrichment } from './schema.js';

/**
 * Inserts a job's enrichments (all `queued`); one asked for twice is left as it is.
 * Returns the rows this call created, in the order asked.
 */
export async function insertEnrichments(
  db: Db,
  job: { id: string; tenantId: string },
  items: readonly Pick<NewEnrichment, 'key' | 'kind' | 'target_language'>[],
): Promise<EnrichmentRow[]> {
  if (items.length === 0) return [];
  const { next } = await db
    .selectFrom('enrichments')
    .select((eb) => eb.fn.coalesce(eb.fn.max('position'), sql<number>`-1`).as('next'))
    .where('job_id', '=', job.id)
    .executeTakeFirstOrThrow();
  return db
    .insertInto('enrichments')
    .values(
      items.map((item, i) => ({
        id: randomUUID(),
        job_id: job.id,
        tenant_id: job.tenantId,
        key: item.key,
        kind: item.kind,
        target_language: item.target_language ?? null,
        position: Number(next) + 1 + i,
      })),
    )
    .onConflict((oc) => oc.columns(['job_id', 'key']).doNothing())
    .returningAll()
    .execute();
}

/** A job's enrichments in the order they were asked for. */
export async function listEnrichments(db: Db, jobId: string): Promise<EnrichmentRow[]> {
  return db
    .selectFrom('enrichments')
    .selectAll()
    .where('job_id', '=', jobId)
    .orderBy('position')
    .execute();
}

/** The enrichments of several jobs at once (a page of the jobs list), by job id. */
export async function listEnrichmentsOfJobs(
  db: Db,
  jobIds: readonly string[],
): Promise<Map<string, EnrichmentRow[]>> {
  const byJob = new Map<string, EnrichmentRow[]>();
  if (jobIds.length === 0) return byJob;
  const rows = await db
    .selectFrom('enrichments')
    .selectAll()
    .where('job_id', 'in', [...jobIds])
    .orderBy('job_id')
    .orderBy('position')
    .execute();
  for (const row of rows) {
    const list = byJob.get(row.job_id) ?? [];
    list.push(row);
    byJob.set(row.job_id, list);
  }
  return byJob;
}

export async function findEnrichment(
  db: Db,
  jobId: string,
  key: string,
): Promise<EnrichmentRow | undefined> {
  return db
    .selectFrom('enrichments')
    .selectAll()
    .where('job_id', '=', jobId)
    .where('key', '=', key)
    .executeTakeFirst();
}

export async function findEnrichmentById(db: Db, id: string): Promise<EnrichmentRow | undefined> {
  return db.selectFrom('enrichments').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Cancels enrichments of a job that are in one of `from` (all of them, or only `keys`),
 * with an error when the job's end is the reason. Returns the rows it changed.
 */
export async function cancelEnrichmentRows(
  db: Db,
  input: {
    jobId: string;
    from: readonly EnrichmentStatus[];
    keys?: readonly string[];
    error?: { code: string; message: string };
  },
): Promise<EnrichmentRow[]> {
  let query = db
    .updateTable('enrichments')
    .set({
      status: 'canceled',
      holder: null,
      lease_expires_at: null,
      finished_at: sql`now()`,
      updated_at: sql`now()`,
      error_code: input.error?.code ?? null,
      error_message: input.error?.message ?? null,
    })
    .where('job_id', '=', input.jobId)
    .where('status', 'in', [...input.from]);
  if (input.keys) query = query.where('key', 'in', [...input.keys]);
  return query.returningAll().execute();
}

/**
 * Puts enrichments of a job back to `queued` (those in `from`, and only those canceled
 * with `errorCode` when given): a job retried by hand takes the enrichments its end
 * canceled along with it. Attempts are kept; finished pieces stay for the resume.
 */
export async function requeueEnrichmentRows(
  db: Db,
  input: { jobId: string; from: readonly EnrichmentStatus[]; errorCode?: string },
): Promise<EnrichmentRow[]> {
  let query = db
    .updateTable('enrichments')
    .set({
      status: 'queued',
      holder: null,
      lease_expires_at: null,
      finished_at: null,
      error_code: null,
      error_message: null,
      updated_at: sql`now()`,
    })
    .where('job_id', '=', input.jobId)
    .where('status', 'in', [...input.from]);
  if (input.errorCode) query = query.where('error_code', '=', input.errorCode);
  return query.returningAll().execute();
}
