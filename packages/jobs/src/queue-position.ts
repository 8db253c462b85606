// Issue 16: where a queued job stands. One function for the position (the scheduler's
// order, computed in the ranking query, packages/db job-progress.repository.ts) and one
// for the expected start.
//
// position = queued jobs the fair scheduler (issue 17) takes before this one: every
//   queued job of a higher priority, then, at its priority, round-robin between tenants:
//   a job at rank r in its tenant's line waits for min(n, r) jobs of each tenant with n
//   queued (r of its own), and within a round for the tenants before its own in the
//   rotation. Approximate: tenants' weights and running loads, chunks of running fanned-out jobs and jobs held back by their
//   tenant's concurrency cap or a retry's backoff are not counted.
// estimatedStartAt = now + (position + 1) × windowS / jobs ended in the window (the
//   pool's recent rate of freeing a worker); `now` when nothing is processing and the job
//   is next; null when nothing ended in the window (no measurement).
import {
  appendJobEvent,
  listQueuePlaces,
  takeChangedPositions,
  type Db,
  type QueueThroughput,
} from '@transcribe/db';

/** Jobs ended within this window measure the pool's throughput. */
export const THROUGHPUT_WINDOW_S = 15 * 60;

export interface QueuePlace {
  position: number;
  estimatedStartAt: Date | null;
}

export function estimateStart(
  position: number,
  pool: QueueThroughput,
  /** A retry's backoff end: no worker takes the job before it, whatever its place. */
  notBefore?: Date | null,
): Date | null {
  const start = estimateFromPlace(position, pool);
  if (!notBefore || notBefore <= pool.now) return start;
  return start && start > notBefore ? start : notBefore;
}

function estimateFromPlace(position: number, pool: QueueThroughput): Date | null {
  if (position === 0 && pool.processing === 0) return pool.now;
  if (pool.finishedInWindow === 0) return null;
  const waitS = ((position + 1) * pool.windowS) / pool.finishedInWindow;
  return new Date(pool.now.getTime() + waitS * 1000);
}

/** The place of each queued job among `ids` (one query); absent: not queued. */
export async function queuePositions(
  db: Db,
  ids: readonly string[],
): Promise<Map<string, QueuePlace>> {
  const places = new Map<string, QueuePlace>();
  if (ids.length === 0) return places;
  const { positions, notBefore, throughput } = await listQueuePlaces(db, ids, THROUGHPUT_WINDOW_S);
  for (const [id, position] of positions) {
    places.set(id, {
      position,
      estimatedStartAt: estimateStart(position, throughput, notBefore.get(id)),
    });
  }
  return places;
}

/**
 * `position` events for queued jobs whose place changed, at most one per job every
 * `minGapS` (run by every worker's reaper tick; SKIP LOCKED keeps them apart). Returns
 * how many were announced.
 */
export async function announcePositions(
  db: Db,
  options: { minGapS?: number; limit?: number } = {},
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const changed = await takeChangedPositions(trx, {
      minGapS: options.minGapS ?? 5,
      limit: options.limit ?? 500,
    });
    if (changed.length === 0) return 0;
    const { throughput } = await listQueuePlaces(trx, [], THROUGHPUT_WINDOW_S);
    for (const job of changed) {
      const start = estimateStart(job.position, throughput, job.not_before);
      await appendJobEvent(
        trx,
        { id: job.id, tenantId: job.tenant_id },
        {
          type: 'position',
          position: job.position,
          estimatedStartAt: start ? start.toISOString() : null,
        },
      );
    }
    return changed.length;
  });
}
