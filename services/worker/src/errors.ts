import { isDatabaseUnavailable } from '@transcribe/db';
import { isStorageUnavailable } from '@transcribe/storage';

const PERMANENT_CODES = [
  'invalid_media',
  'no_audio_stream',
  'empty_audio',
  'too_long',
  'object_missing',
  'engine_unavailable',
  'engine_rejected',
  'quota_exceeded',
  'language_unsupported',
] as const;

/** Stable codes for failures that no retry can fix: the input itself is the problem. */
export type PermanentJobErrorCode = (typeof PERMANENT_CODES)[number];

/**
 * The one error type the worker never retries: the consumer fails the job with `code`
 * and settles the message. Anything else is treated as transient.
 */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError';

  constructor(
    readonly code: PermanentJobErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isPermanentJobError(e: unknown): e is PermanentJobError {
  if (e instanceof PermanentJobError) return true;
  // instanceof fails when two copies of this module are loaded (src under jest, dist in
  // a built dependency); a retry decision must not hinge on that.
  if (!(e instanceof Error) || e.name !== 'PermanentJobError') return false;
  const code: unknown = (e as { code?: unknown }).code;
  return (PERMANENT_CODES as readonly unknown[]).includes(code);
}

/** The error Node's own APIs reject with when an AbortSignal fires. */
export function abortError(signal: AbortSignal): Error {
  const error = new Error('The operation was aborted', { cause: signal.reason });
  error.name = 'AbortError';
  return error;
}

/**
 * Reasons a job's AbortSignal fires. The handler settles the job by the reason: a lost
 * job is someone else's (canceled, or taken over after a lost lease), a timed-out one
 * fails with `timeout`, a shutdown requeues it for another worker.
 */
export class JobLostError extends Error {
  override readonly name = 'JobLostError';
  constructor(message = 'the job is no longer held by this worker (canceled or taken over)') {
    super(message);
  }
}

export class JobTimeoutError extends Error {
  override readonly name = 'JobTimeoutError';
  constructor(readonly limitS: number) {
    super(`the job ran longer than its ${limitS} s limit`);
  }
}

export class ShutdownError extends Error {
  override readonly name = 'ShutdownError';
  constructor() {
    super('the worker is shutting down');
  }
}

/**
 * A failure of the service's own dependencies (Postgres or S3 unreachable, reset or
 * hanging), not of the job: its attempt is lost, not charged, so a run of outages never
 * fails a job `engine_failed` (MAX_LOST_ATTEMPTS still bounds it). Wrapped errors count
 * by their cause.
 */
export function isInfrastructureFailure(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; depth++) {
    if (isDatabaseUnavailable(e) || isStorageUnavailable(e)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
