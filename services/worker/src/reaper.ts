// Postgres is the source of truth, so Postgres is where lost work is found again: a
// processing job whose worker stopped renewing its lease, and a queued job whose message
// never reached (or fell out of) the broker.
import { lockExpiredLeases, lockStaleQueuedJobs, type Db } from '@transcribe/db';
import {
  announcePositions,
  markDeadLettered,
  republishQueued,
  requeueExpiredLease,
} from '@transcribe/jobs';

export interface ReaperOptions {
  db: Db;
  /**
   * Attempts lost to vanished workers (expired leases) and hand-overs after which the
   * job fails `worker_lost`: a file that kills every worker that opens it must still end.
   */
  maxLostAttempts: number;
  /** Queued jobs untouched this long with no message in the outbox are republished. */
  staleQueuedMs: number;
  batchSize?: number;
}

export interface ReapResult {
  /** Expired leases requeued for another attempt. */
  requeued: number;
  /** Expired leases past the job's allowance of lost attempts: failed and dead-lettered. */
  failed: number;
  /** Queued jobs whose message was published again. */
  republished: number;
}

/**
 * One pass. Rows are locked with SKIP LOCKED, so the reapers of every worker can run
 * at once without doing the same job twice; a duplicate message is harmless anyway
 * (the claim is a guarded update).
 */
export async function reapOnce(options: ReaperOptions): Promise<ReapResult> {
  const limit = options.batchSize ?? 100;
  const result: ReapResult = { requeued: 0, failed: 0, republished: 0 };
  await options.db.transaction().execute(async (trx) => {
    for (const job of await lockExpiredLeases(trx, limit)) {
      // The worker vanished (crash, OOM, partition): the attempt says nothing about the
      // audio, so it is requeued as lost, not charged to MAX_ATTEMPTS.
      if (job.lost_attempts + 1 >= options.maxLostAttempts) {
        const error = {
          code: 'worker_lost' as const,
          message: `the worker processing the job vanished on ${job.lost_attempts + 1} attempts (lease expired each time)`,
        };
        const reason = `lease expired: ${error.message}`;
        if (await markDeadLettered(trx, job, error, { reason })) result.failed++;
      } else if (await requeueExpiredLease(trx, job)) {
        result.requeued++;
      }
    }
  });
  await options.db.transaction().execute(async (trx) => {
    for (const job of await lockStaleQueuedJobs(trx, options.staleQueuedMs, limit)) {
      if (await republishQueued(trx, job)) result.republished++;
    }
  });
  return result;
}

/** Runs `reapOnce` every `intervalMs` until stopped; `onReaped` hears about non-empty passes. */
export function startReaper(
  options: ReaperOptions & {
    intervalMs: number;
    onReaped: (result: ReapResult) => void;
    onError: (error: unknown) => void;
    /** Queue positions are announced this often (0 or absent: never). */
    positionIntervalMs?: number;
    onAnnounced?: (count: number) => void;
  },
): { stop(): Promise<void> } {
  let current: Promise<void> | undefined;
  const tick = () => {
    if (current) return;
    current = reapOnce(options)
      .then((r) => {
        if (r.requeued + r.failed + r.republished > 0) options.onReaped(r);
      })
      .catch(options.onError)
      .finally(() => {
        current = undefined;
      });
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  // Issue 16: queued jobs hear when their place changes, on a shorter tick of its own
  // (one ranking query; SKIP LOCKED keeps every worker's announcer apart).
  let announcing: Promise<void> | undefined;
  const announce = () => {
    if (announcing || !options.positionIntervalMs) return;
    announcing = announcePositions(options.db, { minGapS: options.positionIntervalMs / 1000 })
      .then((n) => {
        if (n > 0) options.onAnnounced?.(n);
      })
      .catch(options.onError)
      .finally(() => {
        announcing = undefined;
      });
  };
  const positions = options.positionIntervalMs
    ? setInterval(announce, options.positionIntervalMs)
    : undefined;
  positions?.unref();
  return {
    async stop() {
      clearInterval(timer);
      if (positions) clearInterval(positions);
      await current;
      await announcing;
    },
  };
}
