import { isDatabaseUnavailable } from '@transcribe/db';
import { isStorageUnavailable } from '@transcribe/storage';

/** Seconds a client is asked to wait before retrying a request a dependency failed. */
export const DEPENDENCY_RETRY_AFTER_S = 5;

/**
 * The dependency whose outage caused this error, if any (following `cause`), so the HTTP layer
 * answers 503 + Retry-After instead of 500: the request was fine, the service is not.
 */
export function unavailableDependency(error: unknown): 'postgres' | 's3' | undefined {
  for (let e = error, depth = 0; e && depth < 5; depth++) {
    if (isStorageUnavailable(e)) return 's3';
    if (isDatabaseUnavailable(e)) return 'postgres';
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
