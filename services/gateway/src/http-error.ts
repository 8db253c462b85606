import type { ErrorCode } from '@transcribe/contracts';

/** An error with an HTTP status and a stable code; the only errors handlers throw on purpose. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Response headers that go with the error (Retry-After of a quota). */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const notFound = (what = 'job') => new HttpError(404, 'not_found', `${what} not found`);
