// What a failed attempt becomes, for whole jobs and fanned-out chunks alike: the job's
// fault or not, worth another attempt or not.
import { findJobById, type Db, type JobRow } from '@transcribe/db';
import {
  markDeadLettered,
  markFailed,
  requeueForHandover,
  requeueForRetry,
} from '@transcribe/jobs';
import type { OutboxRelay } from '@transcribe/queue';
import type { Logger } from '@transcribe/telemetry';
import {
  isInfrastructureFailure,
  isPermanentJobError,
  JobLostError,
  JobTimeoutError,
  ShutdownError,
} from './errors.js';
import { recordJobEnd, type WorkerMetrics } from './metrics.js';
import { retryDelayMs, type RetryPolicy } from './retry-policy.js';
import { settle, type Outcome } from './settle.js';

export interface FailurePolicyDeps {
  db: Db;
  relay: Pick<OutboxRelay, 'kick'>;
  logger: Logger;
  metrics: WorkerMetrics;
  maxAttempts: number;
  retry: RetryPolicy;
}

/** Settles a failed attempt (`attempt`: charged attempts so far, see chargedAttempts). */
export async function settleFailure(
  deps: FailurePolicyDeps,
  job: JobRow,
  attempt: number,
  cause: unknown,
  log: Logger,
): Promise<Outcome> {
  if (cause instanceof JobLostError) {
    // Canceled, or another worker took over after our lease ran out: nothing of ours to write.
    log.info('job is no longer ours (canceled or taken over); stopped');
    // A cancel ends the job, and this worker saw it happen: counted as such. A look that
    // fails is only a metric lost, not a reason to fail the delivery.
    const current = await findJobById(deps.db, job.id).catch(() => undefined);
    const canceled = current?.status === 'canceled' && current.attempts === job.attempts;
    recordJobEnd(deps.metrics, job, canceled ? 'canceled' : 'abandoned');
    return 'ack';
  }
  if (cause instanceof ShutdownError) {
    log.info('shutting down: job handed back to the queue');
    await settle(deps, job, () => requeueForHandover(deps.db, job), 'handed_over');
    return 'requeue';
  }
  if (cause instanceof JobTimeoutError) {
    log.warn({ limitS: cause.limitS }, 'failed: time limit');
    await settle(
      deps,
      job,
      () => markFailed(deps.db, job, { code: 'timeout', message: cause.message }),
      'failed',
    );
    return 'ack';
  }
  if (isPermanentJobError(cause)) {
    log.warn({ code: cause.code, reason: cause.message }, 'failed: bad input');
    await settle(
      deps,
      job,
      () => markFailed(deps.db, job, { code: cause.code, message: cause.message }),
      'failed',
    );
    return 'ack';
  }
  if (isInfrastructureFailure(cause)) {
    // Not the job's fault: retried soon, and the attempt is lost rather than charged.
    const delayMs = retryDelayMs(1, deps.retry);
    log.warn({ err: cause, attempt, delayMs }, 'a dependency failed mid-job; retry uncharged');
    await settle(
      deps,
      job,
      () => requeueForRetry(deps.db, job, { level: 1, delayMs, lost: true }),
      'retried',
    );
    return 'ack';
  }
  const reason = cause instanceof Error ? cause.message : String(cause);
  if (attempt < deps.maxAttempts) {
    const delayMs = retryDelayMs(attempt, deps.retry);
    log.warn({ err: cause, attempt, delayMs }, 'transient failure; will retry');
    await settle(
      deps,
      job,
      () => requeueForRetry(deps.db, job, { level: attempt, delayMs }),
      'retried',
    );
    return 'ack';
  }
  log.error({ err: cause, attempt }, 'failed after the last attempt; dead-lettered');
  await settle(
    deps,
    job,
    () =>
      markDeadLettered(deps.db, job, {
        code: 'engine_failed',
        message: `transcription failed after ${attempt} attempts: ${reason}`,
      }),
    'failed',
  );
  return 'ack';
}
