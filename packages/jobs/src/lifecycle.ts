// The job state machine, in one place. The table says which (state, event) pairs move a
// job and where to; below it is one function per edge. Each edge is a guarded update
// (`WHERE status = <from>`, and for a worker's writes its attempt), the job's event and
// its outbox rows, in one transaction: a refused edge writes nothing, and the event
// stream and the messages never disagree with the row. Callers kick the outbox relay
// after an edge that applied.
import type { EnrichmentRequest, ErrorCode, JobStatus } from '@transcribe/contracts';
import {
  addTenantUsage,
  appendJobEvent,
  claimJob,
  completeJob,
  countJobEnd,
  failJob,
  findJobById,
  eventRoutingKey,
  insertJob,
  insertQueuedJobAdmitted,
  jobEventOf,
  listJobChunks,
  lockJob,
  lockTenantSlots,
  markChunksDispatched,
  renewLease,
  requeueJob,
  summarizeChunks,
  touchQueuedJob,
  cancelJobRow,
  resetJobForRetry,
  resetChunkProgress,
  storeChunkResult,
  type Db,
  type JobResult,
  type JobRow,
  type NewJob,
  type QueuedJobOutcome,
} from '@transcribe/db';
import {
  enqueueChunks,
  enqueueDeadLetter,
  enqueueRetry,
  enqueueTranscription,
  transcriptionOutboxRow,
} from './messages.js';
import { stitchChunks } from './transcript.js';
import { applyProgress, type ProgressReport } from './progress.js';
import {
  addEnrichments,
  enrichmentsOnJobCompleted,
  enrichmentsOnJobEnded,
  enrichmentsOnJobRetried,
} from './enrichment-lifecycle.js';

export const LIFECYCLE_EVENTS = [
  'claim',
  'defer',
  'republish',
  'progress',
  'fan_out',
  'complete',
  'fail',
  'dead_letter',
  'requeue',
  'hand_over',
  'expire',
  'cancel',
  'retry',
] as const;
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

/** Every job starts here (insertQueuedJob). */
export const INITIAL_STATE = 'queued' satisfies JobStatus;

/**
 * state × event → state. A pair that is not here is refused. Self-edges are guarded writes
 * that keep the state: a deferred claim or a republished message (queued), progress or a
 * fan-out under the holder's lease (processing). `processing × claim` is the take-over of
 * an expired lease, never of a live one.
 */
export const TRANSITIONS = {
  queued: {
    claim: 'processing',
    defer: 'queued',
    republish: 'queued',
    cancel: 'canceled',
  },
  processing: {
    claim: 'processing',
    progress: 'processing',
    fan_out: 'processing',
    complete: 'completed',
    fail: 'failed',
    dead_letter: 'failed',
    requeue: 'queued',
    hand_over: 'queued',
    expire: 'queued',
    cancel: 'canceled',
  },
  completed: {},
  failed: { retry: 'queued' },
  canceled: { retry: 'queued' },
} as const satisfies Record<JobStatus, Partial<Record<LifecycleEvent, JobStatus>>>;

/** Where `event` takes a job in `state`; undefined when the table refuses it. */
export function nextState(state: JobStatus, event: LifecycleEvent): JobStatus | undefined {
  const edges: Partial<Record<LifecycleEvent, JobStatus>> = TRANSITIONS[state];
  return edges[event];
}

/** The states `event` leaves from: the guard of its update. */
export function sourcesOf(event: LifecycleEvent): JobStatus[] {
  return (Object.keys(TRANSITIONS) as JobStatus[]).filter((s) => nextState(s, event));
}

// An edge called inside a transaction joins it, so composite steps (a claim that may be
// deferred, the last chunk completing its job, the reaper's locked batch) stay atomic.
function inTransaction<T>(db: Db, run: (trx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

const refOf = (job: Pick<JobRow, 'id' | 'tenant_id'>) => ({ id: job.id, tenantId: job.tenant_id });
/** What a job's messages carry: its ref and the priority they are queued at. */
const messageRefOf = (job: Pick<JobRow, 'id' | 'tenant_id' | 'priority'>) => ({
  ...refOf(job),
  priority: job.priority,
});

// --- Creation -------------------------------------------------------------------------

/**
 * A new job, queued: its row, its `queued` event and its message, all in one
 * transaction, so the job exists if and only if its message will be sent.
 */
export async function insertQueuedJob(
  db: Db,
  job: Omit<NewJob, 'status' | 'stage'>,
  enrich: readonly EnrichmentRequest[] = [],
): Promise<JobRow> {
  return inTransaction(db, async (trx) => {
    const row = await insertJob(trx, { ...job, status: INITIAL_STATE, stage: INITIAL_STATE });
    await appendJobEvent(trx, refOf(row), { type: 'queued' });
    await addTenantUsage(trx, row.tenant_id, { jobsSubmitted: 1 });
    // Waiting for the transcript: queued on the enrichment lane by the complete edge.
    await addEnrichments(trx, { ...messageRefOf(row), completed: false }, enrich);
    await enqueueTranscription(trx, messageRefOf(row));
    return row;
  });
}

/**
 * A new job from an upload, admitted under the tenant's cap on queued jobs, as one
 * statement (the API's hot path, issue 18): the same rows as insertQueuedJob (row, `queued`
 * event, usage, message) plus the upload spent. Nothing is written when the tenant is at
 * its cap (`over_cap`) or the upload was spent already (`upload_used`). Without enrichments
 * only; a job asking for some is created by insertQueuedJob.
 */
export function createQueuedJobFromUpload(
  db: Db,
  job: Omit<NewJob, 'status' | 'stage'> & { id: string; tenant_id: string; upload_id: string },
  options: { deploymentMaxQueued: number },
): Promise<QueuedJobOutcome> {
  const ref = messageRefOf(job);
  // What appendJobEvent writes for a job's first event (seq 1).
  const event = jobEventOf({ id: job.id, tenantId: job.tenant_id }, 1, { type: 'queued' });
  return insertQueuedJobAdmitted(db, {
    job,
    uploadId: job.upload_id,
    deploymentMaxQueued: options.deploymentMaxQueued,
    event: { type: event.type, payload: event },
    outbox: [
      { topic: 'events', routingKey: eventRoutingKey(event), payload: event, priority: null },
      transcriptionOutboxRow(ref),
    ],
  });
}

// --- queued ---------------------------------------------------------------------------

/** claim: queued → processing under a new attempt, or a take-over of an expired lease (see claimJob). */
export async function claimAttempt(
  db: Db,
  jobId: string,
  options: { leaseMs: number },
): Promise<JobRow | undefined> {
  return inTransaction(db, async (trx) => {
    const job = await claimJob(trx, jobId, { leaseMs: options.leaseMs });
    if (job) {
      await resetChunkProgress(trx, job.id);
      await appendJobEvent(trx, refOf(job), { type: 'processing', attempt: job.attempts });
    }
    return job;
  });
}

/**
 * defer: queued, its message put back through the first delay queue (its tenant has no
 * free slot). Touched, so the reaper does not take the waiting job for a lost one.
 */
export async function deferClaim(
  db: Db,
  job: JobRow,
  options: { delayMs: number },
): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    if (!(await touchQueuedJob(trx, job.id))) return false;
    await enqueueRetry(trx, messageRefOf(job), { level: 1, delayMs: options.delayMs });
    return true;
  });
}

/** republish: queued, with a fresh message (the reaper found its message lost). */
export async function republishQueued(db: Db, job: JobRow): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    if (!(await touchQueuedJob(trx, job.id))) return false;
    await enqueueTranscription(trx, messageRefOf(job));
    return true;
  });
}

/**
 * claim, or defer: with `tenantMaxConcurrent`, a queued job whose tenant already has that
 * many jobs processing is not claimed but deferred (`'deferred'`), and waits, queued.
 */
export async function claimForProcessing(
  db: Db,
  jobId: string,
  options: { leaseMs: number; tenantMaxConcurrent?: number; deferMs?: number },
): Promise<JobRow | 'deferred' | undefined> {
  return inTransaction(db, async (trx) => {
    if (options.tenantMaxConcurrent) {
      const current = await findJobById(trx, jobId);
      if (current?.status === 'queued') {
        const slots = await lockTenantSlots(trx, current.tenant_id);
        if (
          slots.processing >= (slots.max ?? options.tenantMaxConcurrent) &&
          (await deferClaim(trx, current, { delayMs: options.deferMs ?? 5000 }))
        ) {
          return 'deferred';
        }
      }
    }
    return claimAttempt(trx, jobId, { leaseMs: options.leaseMs });
  });
}

// --- processing, under the holder's attempt -------------------------------------------

/**
 * progress: processing, with its `progress` event when due (progress.ts: paced per job
 * across all its workers, a heartbeat when unchanged); renews the lease. False when the
 * job is not ours. `chunk`: the chunk this worker is transcribing and how far it got.
 */
export async function reportProgress(db: Db, job: JobRow, input: ProgressReport): Promise<boolean> {
  return inTransaction(db, async (trx) => (await applyProgress(trx, job, input)).held);
}

/**
 * A chunk's result stored under the job's attempt, with its `partial` event (the chunk's
 * segments, readable at once) in the same transaction. False when the job is not ours.
 */
export async function storeChunk(
  db: Db,
  job: Pick<JobRow, 'id' | 'tenant_id' | 'attempts'>,
  input: Omit<Parameters<typeof storeChunkResult>[1], 'jobId' | 'attempt'> & {
    startS: number;
    endS: number;
  },
): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    // The job's row first, as progress writes take it (then the chunk's): the same lock
    // order everywhere, or a progress write racing this store deadlocks with it.
    await lockJob(trx, job.id);
    const { startS, endS, ...result } = input;
    const stored = await storeChunkResult(trx, { ...result, jobId: job.id, attempt: job.attempts });
    if (stored) {
      await appendJobEvent(trx, refOf(job), {
        type: 'partial',
        attempt: job.attempts,
        index: input.index,
        startS,
        endS,
        segments: input.segments,
      });
    }
    return stored;
  });
}

/**
 * fan_out: processing, its pending chunks handed to the worker pool: one message per
 * chunk, and a lease long enough for the pool to get through them (each chunk's worker
 * renews it; the reaper steps in only if the whole fan-out stalls).
 */
export async function fanOutChunks(
  db: Db,
  job: JobRow,
  input: { indexes: readonly number[]; leaseMs: number },
): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const held = await renewLease(trx, {
      id: job.id,
      attempt: job.attempts,
      leaseMs: input.leaseMs,
    });
    if (held) {
      // Work for the pool (and the fair scheduler) from now: one message, one token each.
      await markChunksDispatched(trx, {
        jobId: job.id,
        indexes: input.indexes,
        attempt: job.attempts,
      });
      await enqueueChunks(trx, messageRefOf(job), {
        indexes: input.indexes,
        attempt: job.attempts,
      });
    }
    return held;
  });
}

/** complete: processing → completed, with the transcript. */
export async function markCompleted(db: Db, job: JobRow, result: JobResult): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const done = await completeJob(trx, { id: job.id, attempt: job.attempts, ...result });
    if (done) {
      // Usage counts each end once: only when the guarded update applied.
      await countJobEnd(trx, done, 'completed');
      await appendJobEvent(trx, refOf(job), {
        type: 'completed',
        durationS: result.durationS,
        processingMs: result.processingMs,
      });
      await enrichmentsOnJobCompleted(trx, messageRefOf(job));
    }
    return Boolean(done);
  });
}

/** fail: processing → failed, for a verdict on the input (bad audio, time limit, quota). */
export async function markFailed(
  db: Db,
  job: JobRow,
  error: { code: ErrorCode; message: string },
): Promise<boolean> {
  return inTransaction(db, (trx) => failWithEvent(trx, job, error));
}

/**
 * dead_letter: processing → failed, out of attempts, and its message put on the
 * dead-letter queue with the reason (`reason`, else the error's message).
 */
export async function markDeadLettered(
  db: Db,
  job: JobRow,
  error: { code: ErrorCode; message: string },
  options: { reason?: string } = {},
): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const failed = await failWithEvent(trx, job, error);
    if (failed) {
      await enqueueDeadLetter(trx, refOf(job), {
        code: error.code,
        reason: options.reason ?? error.message,
        attempts: job.attempts - job.retry_base,
      });
    }
    return failed;
  });
}

/**
 * requeue: processing → queued for another attempt after `delayMs` (a delay queue);
 * `lost` when the attempt says nothing about the audio and is not charged to its budget.
 */
export async function requeueForRetry(
  db: Db,
  job: JobRow,
  retry: { level: number; delayMs: number; lost?: boolean },
): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const requeued = await requeueWithEvent(trx, job, {
      lost: retry.lost ?? false,
      notBeforeMs: retry.delayMs,
    });
    if (requeued) {
      await enqueueRetry(trx, messageRefOf(job), retry);
    }
    return requeued;
  });
}

/**
 * hand_over: processing → queued without a new message: the caller nacks the delivery it
 * holds, so the broker hands that same message to another worker (graceful shutdown).
 * The attempt is lost, not failed: it is not charged to the job's budget.
 */
export async function requeueForHandover(db: Db, job: JobRow): Promise<boolean> {
  return inTransaction(db, (trx) => requeueWithEvent(trx, job, { lost: true }));
}

/**
 * expire: processing → queued with a fresh message, for a job whose lease ran out (its
 * worker crashed, was OOM-killed or cut off). Lost, not charged to MAX_ATTEMPTS.
 */
export async function requeueExpiredLease(db: Db, job: JobRow): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const requeued = await requeueWithEvent(trx, job, { lost: true });
    if (requeued) await enqueueTranscription(trx, messageRefOf(job));
    return requeued;
  });
}

/**
 * progress or complete, for a fanned-out job after one of its chunks is stored: completes
 * the job if that was the last chunk. The job row is locked first, so when the last two
 * chunks land at once on two workers exactly one of them sees no chunk pending.
 */
export async function chunkLanded(
  db: Db,
  job: JobRow,
  leaseMs: number,
): Promise<'completed' | 'progress' | 'lost'> {
  return inTransaction(db, async (trx) => {
    const locked = await lockJob(trx, job.id);
    if (locked?.status !== 'processing' || locked.attempts !== job.attempts) return 'lost';
    const summary = await summarizeChunks(trx, job.id);
    if (summary.pending > 0) {
      // The chunk's partial event went with its result; the job's figure is the chunks' sum.
      await applyProgress(trx, job, { progress: 0, stage: 'transcribing', leaseMs });
      return 'progress';
    }
    const chunks = await listJobChunks(trx, job.id);
    const { text, segments, words, model } = stitchChunks(chunks);
    await markCompleted(trx, job, {
      text,
      segments,
      words,
      durationS: chunks.at(-1)?.endS ?? null,
      processingMs: Date.now() - (locked.started_at ?? locked.created_at).getTime(),
      model,
    });
    return 'completed';
  });
}

async function failWithEvent(
  trx: Db,
  job: JobRow,
  error: { code: ErrorCode; message: string },
): Promise<boolean> {
  const failed = await failJob(trx, { id: job.id, attempt: job.attempts, ...error });
  if (failed) {
    await countJobEnd(trx, failed, 'failed');
    await appendJobEvent(trx, refOf(job), { type: 'failed', error });
    await enrichmentsOnJobEnded(trx, refOf(job), `the job failed (${error.code}): no transcript`);
  }
  return Boolean(failed);
}

async function requeueWithEvent(
  trx: Db,
  job: JobRow,
  options: { lost: boolean; notBeforeMs?: number },
): Promise<boolean> {
  const requeued = await requeueJob(trx, { id: job.id, attempt: job.attempts, ...options });
  if (requeued) await appendJobEvent(trx, refOf(job), { type: 'queued' });
  return Boolean(requeued);
}

// --- Any tenant's request -------------------------------------------------------------

/**
 * cancel: queued or processing → canceled, with its `canceled` event. A queued job's
 * message, when it arrives, finds nothing to claim; the worker holding a processing job
 * loses its guarded updates (next chunk or heartbeat), stops its engine and cleans up.
 * Undefined when the job is unknown, another tenant's, or already finished.
 */
export async function cancelJob(
  db: Db,
  tenantId: string,
  jobId: string,
): Promise<JobRow | undefined> {
  return inTransaction(db, async (trx) => {
    const canceled = await cancelJobRow(trx, { tenantId, id: jobId, from: sourcesOf('cancel') });
    if (!canceled) return undefined;
    await appendJobEvent(trx, { id: jobId, tenantId }, { type: 'canceled' });
    await enrichmentsOnJobEnded(trx, { id: jobId, tenantId }, 'the job was canceled');
    return findJobById(trx, jobId);
  });
}

/**
 * retry: failed or canceled → queued for a manual retry, with its event and message.
 * Attempts keep counting (they guard against a late writer from an earlier attempt);
 * the budget restarts from `retry_base`.
 */
export async function retryJob(
  db: Db,
  tenantId: string,
  jobId: string,
): Promise<JobRow | undefined> {
  return inTransaction(db, async (trx) => {
    const row = await resetJobForRetry(trx, { tenantId, id: jobId, from: sourcesOf('retry') });
    if (!row) return undefined;
    await appendJobEvent(trx, refOf(row), { type: 'queued' });
    await enrichmentsOnJobRetried(trx, refOf(row));
    await enqueueTranscription(trx, messageRefOf(row));
    return row;
  });
}
