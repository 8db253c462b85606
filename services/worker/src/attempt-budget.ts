import type { ErrorCode } from '@transcribe/contracts';
import { chargedAttempts, type JobRow } from '@transcribe/db';

/**
 * Whether a just-claimed job has used up its attempts, and how it then fails. Charged
 * attempts (since the last manual retry, less lost ones) are the engine's budget; lost
 * attempts (leases that ran out, hand-overs) have their own, so a file that kills every
 * worker opening it still ends, as `worker_lost` rather than an engine failure.
 */
export function exhaustedBudget(
  job: Pick<JobRow, 'attempts' | 'retry_base' | 'lost_attempts'>,
  limits: { maxAttempts: number; maxLostAttempts?: number },
): { code: ErrorCode; message: string } | undefined {
  if (chargedAttempts(job) > limits.maxAttempts) {
    // Not reachable through the worker's own settling (it fails the last attempt itself);
    // a backstop for rows edited by hand or left by an older worker version.
    return { code: 'engine_failed', message: `gave up after ${limits.maxAttempts} attempts` };
  }
  if (limits.maxLostAttempts !== undefined && job.lost_attempts >= limits.maxLostAttempts) {
    return {
      code: 'worker_lost',
      message: `${job.lost_attempts} attempts were lost to infrastructure (a worker vanished, a dependency failed)`,
    };
  }
  return undefined;
}
