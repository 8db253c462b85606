import type { JobRow } from '@transcribe/db';
import type { OutboxRelay } from '@transcribe/queue';
import type { Logger } from '@transcribe/telemetry';
import { recordJobEnd, type JobOutcome, type WorkerMetrics } from './metrics.js';

/** A settled delivery: acked, or handed back to the broker for another worker. */
export type Outcome = 'ack' | 'requeue';

/**
 * Runs a job's final transition; "false" means another attempt owns the job now (or it
 * was canceled), which is fine: the result is discarded. With `outcome`, the end is
 * counted (worker_jobs_total, worker_job_processing_seconds) only when the transition
 * applied: a result discarded here was, or will be, counted by whoever settled the job,
 * so each end is counted once.
 */
export async function settle(
  deps: { relay: Pick<OutboxRelay, 'kick'>; logger: Logger; metrics: WorkerMetrics },
  job: JobRow,
  transition: () => Promise<boolean>,
  outcome?: JobOutcome,
): Promise<boolean> {
  const applied = await transition();
  if (applied) {
    deps.relay.kick();
    if (outcome) recordJobEnd(deps.metrics, job, outcome);
  } else deps.logger.warn({ jobId: job.id }, 'job was taken over or canceled; result discarded');
  return applied;
}
