// Writes by a job's worker that do not move the job: they sit beside the lifecycle, not
// in its table, and never touch `jobs.status`.
import {
  markChunksDispatched,
  setJobDuration,
  tenantAudioToday,
  type Db,
  type JobRow,
} from '@transcribe/db';
import { enqueueChunks } from './messages.js';

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
  await db.transaction().execute(async (trx) => {
    await markChunksDispatched(trx, {
      jobId: job.id,
      indexes: [chunk.index],
      attempt: job.attempts,
      notBeforeMs: chunk.delayMs,
    });
    await enqueueChunks(
      trx,
      { id: job.id, tenantId: job.tenant_id, priority: job.priority },
      {
        indexes: [chunk.index],
        attempt: job.attempts,
        delay: { level: chunk.level, delayMs: chunk.delayMs },
      },
    );
  });
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
