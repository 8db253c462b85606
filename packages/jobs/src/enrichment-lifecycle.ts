// The enrichment tasks' side of the lifecycle that moves with their job: asked for at
// creation or later, queued on the enrichment lane when the transcript is ready, and
// canceled with a job that ends without one. Each function writes the rows, the events
// and the messages in the caller's transaction (or its own), like lifecycle.ts.
// The worker's edges (claim, pieces, finish, fail, retry) are in enrichment-work.ts.
import {
  enrichmentKeyOf,
  parseEnrichmentKey,
  type EnrichmentRequest,
  type EnrichmentStatus,
  type Priority,
} from '@transcribe/contracts';
import {
  appendJobEvent,
  cancelEnrichmentRows,
  findEnrichment,
  insertEnrichments,
  listEnrichments,
  lockJob,
  requeueEnrichmentRows,
  type Db,
  type EnrichmentRow,
} from '@transcribe/db';
import { enqueueEnrichment } from './messages.js';

function inTransaction<T>(db: Db, run: (trx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

/** Why enrichments were canceled with their job; a manual retry of the job brings them back. */
export const JOB_ENDED_CODE = 'job_not_completed';

export function enrichmentRefOf(row: Pick<EnrichmentRow, 'id' | 'key' | 'kind'>) {
  return { enrichment: { id: row.id, key: row.key, kind: row.kind } };
}

type JobRef = { id: string; tenantId: string; priority: Priority };

const messageRefOf = (job: JobRef, row: EnrichmentRow) => ({
  id: row.id,
  jobId: job.id,
  tenantId: job.tenantId,
  priority: job.priority,
});

/**
 * New enrichments of a job, `queued`, each with its `enrichment.queued` event; queued on
 * the lane at once when the transcript is already there (`jobCompleted`). Keys the job
 * already has are left alone. Returns the rows created.
 */
export async function addEnrichments(
  trx: Db,
  job: JobRef & { completed: boolean },
  requests: readonly EnrichmentRequest[],
): Promise<EnrichmentRow[]> {
  const created = await insertEnrichments(
    trx,
    job,
    requests.map((request) => {
      const key = enrichmentKeyOf(request);
      const { kind, targetLanguage } = parseEnrichmentKey(key);
      return { key, kind, target_language: targetLanguage };
    }),
  );
  for (const row of created) {
    await appendJobEvent(trx, job, { type: 'enrichment.queued', ...enrichmentRefOf(row) });
    if (job.completed) await enqueueEnrichment(trx, messageRefOf(job, row));
  }
  return created;
}

/**
 * `POST /v1/jobs/:id/enrichments`: one enrichment for a job of this tenant that has not
 * failed or been canceled. Idempotent: the same key again returns the existing task
 * (`created: false`). Undefined when the job is unknown or another tenant's.
 */
export async function requestEnrichment(
  db: Db,
  tenantId: string,
  jobId: string,
  request: EnrichmentRequest,
): Promise<
  | { outcome: 'created' | 'existing'; enrichment: EnrichmentRow }
  | { outcome: 'job_ended'; status: string }
  | undefined
> {
  return inTransaction(db, async (trx) => {
    // The job row lock orders this against the job completing, so the message is sent
    // exactly once: here if the transcript is done, else by enrichmentsOnJobCompleted.
    const job = await lockJob(trx, jobId);
    if (!job || job.tenant_id !== tenantId) return undefined;
    const key = enrichmentKeyOf(request);
    const existing = await findEnrichment(trx, jobId, key);
    if (existing) return { outcome: 'existing', enrichment: existing };
    if (job.status === 'failed' || job.status === 'canceled') {
      return { outcome: 'job_ended', status: job.status };
    }
    const [created] = await addEnrichments(
      trx,
      {
        id: job.id,
        tenantId: job.tenant_id,
        priority: job.priority,
        completed: job.status === 'completed',
      },
      [request],
    );
    return { outcome: 'created', enrichment: created! };
  });
}

/** Called by the job's `complete` edge, in its transaction: the queued enrichments go on the lane. */
export async function enrichmentsOnJobCompleted(trx: Db, job: JobRef): Promise<void> {
  for (const row of await listEnrichments(trx, job.id)) {
    if (row.status === 'queued') await enqueueEnrichment(trx, messageRefOf(job, row));
  }
}

/**
 * Called by the job's `fail` and `cancel` edges, in their transaction: enrichments that
 * wait for a transcript that will not come are canceled, each with its event.
 */
export async function enrichmentsOnJobEnded(
  trx: Db,
  job: { id: string; tenantId: string },
  why: string,
): Promise<void> {
  const canceled = await cancelEnrichmentRows(trx, {
    jobId: job.id,
    from: ['queued', 'processing'],
    error: { code: JOB_ENDED_CODE, message: why },
  });
  for (const row of canceled) {
    await appendJobEvent(trx, job, { type: 'enrichment.canceled', ...enrichmentRefOf(row) });
  }
}

/** Called by the job's `retry` edge: the enrichments its end canceled wait for the new transcript. */
export async function enrichmentsOnJobRetried(
  trx: Db,
  job: { id: string; tenantId: string },
): Promise<void> {
  const requeued = await requeueEnrichmentRows(trx, {
    jobId: job.id,
    from: ['canceled'],
    errorCode: JOB_ENDED_CODE,
  });
  for (const row of requeued) {
    await appendJobEvent(trx, job, { type: 'enrichment.queued', ...enrichmentRefOf(row) });
  }
}

const CANCELABLE: readonly EnrichmentStatus[] = ['queued', 'processing'];

/**
 * A tenant cancels one enrichment: queued or processing → canceled, with its event. The
 * worker running it sees the status change at its next check and aborts the request in
 * flight. Undefined when the job or the enrichment is unknown (or another tenant's);
 * `changed: false` when it had already finished.
 */
export async function cancelEnrichment(
  db: Db,
  tenantId: string,
  jobId: string,
  key: string,
): Promise<{ changed: boolean; enrichment: EnrichmentRow } | undefined> {
  return inTransaction(db, async (trx) => {
    const job = await lockJob(trx, jobId);
    if (!job || job.tenant_id !== tenantId) return undefined;
    const [canceled] = await cancelEnrichmentRows(trx, { jobId, from: CANCELABLE, keys: [key] });
    if (canceled) {
      await appendJobEvent(
        trx,
        { id: jobId, tenantId },
        { type: 'enrichment.canceled', ...enrichmentRefOf(canceled) },
      );
      return { changed: true, enrichment: canceled };
    }
    const current = await findEnrichment(trx, jobId, key);
    return current ? { changed: false, enrichment: current } : undefined;
  });
}
