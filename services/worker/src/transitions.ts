import type { ErrorCode, Segment } from '@transcribe/contracts';
import {
  appendJobEvent,
  claimJob,
  completeJob,
  failJob,
  findJobById,
  listJobChunks,
  lockJob,
  lockTenantSlots,
  renewLease,
  requeueJob,
  setJobDuration,
  summarizeChunks,
  tenantAudioToday,
  touchQueuedJob,
  updateJobProgress,
  type Db,
  type JobRow,
} from '@transcribe/db';
import { enqueueChunks, enqueueDeadLetter, enqueueRetry } from '@transcribe/queue';

// Each transition changes the job row and appends its event in one transaction, so the
// event stream never disagrees with the row. The caller kicks the outbox relay afterwards.

/**
 * queued → processing (or a take-over of an expired lease, see claimJob). With `tenantMaxConcurrent`, a
 * queued job whose tenant already has that many jobs processing is not claimed: its
 * message is put back through a delay queue (`'deferred'`) and it waits, queued.
 */
export async function claimForProcessing(
  db: Db,
  jobId: string,
  options: { leaseMs: number; tenantMaxConcurrent?: number; deferMs?: number },
): Promise<JobRow | 'deferred' | undefined> {
  return db.transaction().execute(async (trx) => {
    if (options.tenantMaxConcurrent) {
      const current = await findJobById(trx, jobId);
      if (current?.status === 'queued') {
        const slots = await lockTenantSlots(trx, current.tenant_id);
        if (slots.processing >= (slots.max ?? options.tenantMaxConcurrent)) {
          // Touched, so the reaper does not take the waiting job for a lost one.
          await touchQueuedJob(trx, current.id);
          await enqueueRetry(
            trx,
            { id: current.id, tenantId: current.tenant_id, priority: current.priority },
            { level: 1, delayMs: options.deferMs ?? 5000 },
          );
          return 'deferred';
        }
      }
    }
    const job = await claimJob(trx, jobId, { leaseMs: options.leaseMs });
    if (job) {
      await appendJobEvent(
        trx,
        { id: job.id, tenantId: job.tenant_id },
        {
          type: 'processing',
          attempt: job.attempts,
        },
      );
    }
    return job;
  });
}

export async function reportProgress(
  db: Db,
  job: JobRow,
  input: { progress: number; stage: string; leaseMs: number },
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const progress = Math.round(input.progress * 10) / 10;
    const held = await updateJobProgress(trx, {
      id: job.id,
      attempt: job.attempts,
      ...input,
      progress,
    });
    if (held) {
      await appendJobEvent(
        trx,
        { id: job.id, tenantId: job.tenant_id },
        {
          type: 'progress',
          progress,
          stage: input.stage,
        },
      );
    }
    return held;
  });
}

export async function markCompleted(
  db: Db,
  job: JobRow,
  result: {
    text: string;
    segments: Segment[];
    durationS: number | null;
    processingMs: number;
    model: string | null;
  },
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const done = await completeJob(trx, { id: job.id, attempt: job.attempts, ...result });
    if (done) {
      await appendJobEvent(
        trx,
        { id: job.id, tenantId: job.tenant_id },
        {
          type: 'completed',
          durationS: result.durationS,
          processingMs: result.processingMs,
        },
      );
    }
    return Boolean(done);
  });
}

export async function markFailed(
  db: Db,
  job: JobRow,
  error: { code: ErrorCode; message: string },
): Promise<boolean> {
  return db.transaction().execute((trx) => failWithEvent(trx, job, error));
}

/**
 * Back to the queue for another attempt after `delayMs` (a delay queue, see
 * packages/queue); the message goes out through the outbox with the state change.
 */
export async function requeueForRetry(
  db: Db,
  job: JobRow,
  retry: { level: number; delayMs: number; lost?: boolean },
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const requeued = await requeueWithEvent(trx, job, { lost: retry.lost ?? false });
    if (requeued) {
      await enqueueRetry(
        trx,
        { id: job.id, tenantId: job.tenant_id, priority: job.priority },
        retry,
      );
    }
    return requeued;
  });
}

/**
 * Back to `queued` without a new message: the caller nacks the delivery it holds, so
 * the broker hands that same message to another worker (graceful shutdown). The attempt
 * is lost, not failed: it is not charged to the job's budget.
 */
export async function requeueForHandover(db: Db, job: JobRow): Promise<boolean> {
  return db.transaction().execute((trx) => requeueWithEvent(trx, job, { lost: true }));
}

/** Out of attempts: failed, and its message put on the dead-letter queue with the reason. */
export async function markDeadLettered(
  db: Db,
  job: JobRow,
  error: { code: ErrorCode; message: string },
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const failed = await failWithEvent(trx, job, error);
    if (failed) {
      await enqueueDeadLetter(
        trx,
        { id: job.id, tenantId: job.tenant_id },
        { code: error.code, reason: error.message, attempts: job.attempts - job.retry_base },
      );
    }
    return failed;
  });
}

/** processing → failed under this attempt, with its event; false when the job is not ours. */
async function failWithEvent(
  trx: Db,
  job: JobRow,
  error: { code: ErrorCode; message: string },
): Promise<boolean> {
  const failed = await failJob(trx, { id: job.id, attempt: job.attempts, ...error });
  if (failed) {
    await appendJobEvent(trx, { id: job.id, tenantId: job.tenant_id }, { type: 'failed', error });
  }
  return Boolean(failed);
}

/** processing → queued under this attempt, with its event; false when the job is not ours. */
async function requeueWithEvent(
  trx: Db,
  job: JobRow,
  options: { lost?: boolean } = {},
): Promise<boolean> {
  const requeued = await requeueJob(trx, { id: job.id, attempt: job.attempts, ...options });
  if (requeued) {
    await appendJobEvent(trx, { id: job.id, tenantId: job.tenant_id }, { type: 'queued' });
  }
  return Boolean(requeued);
}

/**
 * Hands a job's pending chunks to the worker pool: one message per chunk through the
 * outbox, and a lease long enough for the pool to get through them (each chunk's worker
 * renews it; the reaper steps in only if the whole fan-out stalls).
 */
export async function fanOutChunks(
  db: Db,
  job: JobRow,
  input: { indexes: readonly number[]; leaseMs: number },
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const held = await renewLease(trx, {
      id: job.id,
      attempt: job.attempts,
      leaseMs: input.leaseMs,
    });
    if (held) {
      await enqueueChunks(
        trx,
        { id: job.id, tenantId: job.tenant_id, priority: job.priority },
        { indexes: input.indexes, attempt: job.attempts },
      );
    }
    return held;
  });
}

/**
 * After a fanned-out chunk is stored: completes the job if that was the last chunk,
 * else records progress. The job row is locked first, so when the last two chunks land
 * at once on two workers exactly one of them sees no chunk pending and completes it.
 */
export async function chunkLanded(
  db: Db,
  job: JobRow,
  leaseMs: number,
): Promise<'completed' | 'progress' | 'lost'> {
  return db.transaction().execute(async (trx) => {
    const locked = await lockJob(trx, job.id);
    if (locked?.status !== 'processing' || locked.attempts !== job.attempts) return 'lost';
    const ref = { id: job.id, tenantId: job.tenant_id };
    const summary = await summarizeChunks(trx, job.id);
    if (summary.pending > 0) {
      const progress = Math.round((10 + (88 * summary.doneS) / summary.totalS) * 10) / 10;
      await updateJobProgress(trx, {
        id: job.id,
        attempt: job.attempts,
        progress,
        stage: 'transcribing',
        leaseMs,
      });
      await appendJobEvent(trx, ref, { type: 'progress', progress, stage: 'transcribing' });
      return 'progress';
    }
    const chunks = await listJobChunks(trx, job.id);
    const processingMs = Date.now() - (locked.started_at ?? locked.created_at).getTime();
    const durationS = chunks.at(-1)?.endS ?? null;
    const text = chunks
      .map((c) => (c.text ?? '').trim())
      .filter(Boolean)
      .join(' ');
    await completeJob(trx, {
      id: job.id,
      attempt: job.attempts,
      text,
      segments: chunks.flatMap((c) => c.segments),
      durationS,
      processingMs,
      model: chunks.findLast((c) => c.model !== null)?.model ?? null,
    });
    await appendJobEvent(trx, ref, { type: 'completed', durationS, processingMs });
    return 'completed';
  });
}

/**
 * A chunk message whose chunk another worker is transcribing under a live lease: the
 * message is settled and a copy waits `delayMs` in a delay queue, then looks again (and
 * takes the chunk over if that worker's lease has run out by then). Unlike whole jobs,
 * no reaper watches chunk leases, so dropping the message could strand the chunk.
 */
export async function requeueChunkLater(
  db: Db,
  job: JobRow,
  chunk: { index: number; delayMs: number; level: number },
): Promise<void> {
  await db.transaction().execute((trx) =>
    enqueueChunks(
      trx,
      { id: job.id, tenantId: job.tenant_id, priority: job.priority },
      {
        indexes: [chunk.index],
        attempt: job.attempts,
        delay: { level: chunk.level, delayMs: chunk.delayMs },
      },
    ),
  );
}

export type Admission =
  | { admitted: true }
  | { admitted: false; reason: 'lost' }
  | { admitted: false; reason: 'quota'; usedS: number; maxS: number; resetsAt: Date };

/**
 * Records the job's decoded duration if the tenant's daily audio quota has room for it
 * (`defaultMaxS`, or the tenant's own limit; 0 is no limit). Under the tenant's quota
 * lock, so two jobs cannot both take the last of the day's allowance.
 */
export async function admitAudio(
  db: Db,
  job: JobRow,
  input: { durationS: number; defaultMaxS: number },
): Promise<Admission> {
  return db.transaction().execute(async (trx) => {
    const quota = await tenantAudioToday(trx, job.tenant_id, {
      exceptJobId: job.id,
      lock: true,
    });
    const maxS = quota.maxS ?? input.defaultMaxS;
    if (maxS > 0 && quota.usedS + input.durationS > maxS) {
      return {
        admitted: false,
        reason: 'quota',
        usedS: quota.usedS,
        maxS,
        resetsAt: quota.resetsAt,
      };
    }
    const held = await setJobDuration(trx, {
      id: job.id,
      attempt: job.attempts,
      durationS: input.durationS,
    });
    return held ? { admitted: true } : { admitted: false, reason: 'lost' };
  });
}
