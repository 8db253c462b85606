import { ErrorBody, type DiscontinuityFrame, type ErrorCode } from '@transcribe/contracts';

/**
 * `code` of an {@link ApiError}: the server's stable error code, `upload_failed` when the
 * storage server refused the presigned PUT, or `http_error` when a non-2xx answer carried
 * no `{error:{code,message}}` body (a proxy's 502 page, for instance).
 */
export type ApiErrorCode = ErrorCode | 'upload_failed' | 'http_error';

/**
 * The server answered with a non-2xx status. Switch on `code` (stable); `message` is for
 * humans and may change; quote `requestId` when reporting a problem to the operator (the
 * gateway logs every request under it).
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** HTTP status of the answer. */
  readonly status: number;
  readonly code: ApiErrorCode;
  /** Extra facts some codes carry, e.g. `{status}` with `invalid_job_state`. */
  readonly details: unknown;
  /**
   * The answer's `x-request-id` (the gateway sets one on every answer); for `upload_failed`,
   * the storage server's `x-amz-request-id`. Undefined when the answer had none.
   */
  readonly requestId: string | undefined;

  constructor(
    status: number,
    code: ApiErrorCode,
    message: string,
    details?: unknown,
    requestId?: string,
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
  }
}

/**
 * Stable codes of a {@link ClientError}:
 * - `unauthorized`, `not_found`, `bad_request`: the events socket was closed with
 *   4401/4404/4400 (or its upgrade was refused with 401/404/400); retrying will not help;
 * - `invalid_response`: a body or frame did not match the contract;
 * - `network_error`: the request never got an answer (DNS, refused, reset);
 * - `reconnect_failed`: the events socket kept dropping and the retries ran out;
 * - `file_error`: the file to upload cannot be read;
 * - `discontinuity`: the stream cannot resume where asked (the job was deleted since, by
 *   retention or DELETE); a {@link DiscontinuityError} carrying the server's typed frame.
 */
export type ClientErrorCode =
  | 'unauthorized'
  | 'not_found'
  | 'bad_request'
  | 'invalid_response'
  | 'network_error'
  | 'reconnect_failed'
  | 'file_error'
  | 'discontinuity';

/** Something went wrong on this side of the wire, or the server broke the contract. */
export class ClientError extends Error {
  override readonly name = 'ClientError';
  readonly code: ClientErrorCode;

  constructor(code: ClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Builds the {@link ApiError} for a non-2xx answer from its status and raw body text. */
export function apiErrorFrom(
  status: number,
  statusText: string,
  bodyText: string,
  requestId?: string,
): ApiError {
  let json: unknown;
  try {
    json = JSON.parse(bodyText);
  } catch {
    json = undefined;
  }
  const body = ErrorBody.safeParse(json);
  if (body.success) {
    const { code, message, details } = body.data.error;
    return new ApiError(status, code, message, details, requestId);
  }
  const snippet = bodyText.trim().slice(0, 200);
  const message = `HTTP ${status}${statusText ? ` ${statusText}` : ''}${snippet ? `: ${snippet}` : ''}`;
  return new ApiError(status, 'http_error', message, undefined, requestId);
}

/** Minimal structural view of a zod schema, so this package needs no zod import of its own. */
export interface Schema<T> {
  safeParse(data: unknown):
    | { success: true; data: T }
    | {
        success: false;
        error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] };
      };
}

/** `data` checked against `schema`, or a `ClientError('invalid_response')` naming what is wrong. */
export function parseOrThrow<T>(schema: Schema<T>, data: unknown, what: string): T {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issues = result.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
  throw new ClientError('invalid_response', `${what} does not match the contract: ${issues}`);
}

/**
 * The events stream said it cannot go on from where the client asked (a `discontinuity`
 * frame): not a failure of the connection or the contract, but a gap the caller must close
 * by re-reading state over REST. `frame` is the server's frame, typed.
 */
export class DiscontinuityError extends ClientError {
  readonly frame: DiscontinuityFrame;

  constructor(frame: DiscontinuityFrame) {
    super('discontinuity', frame.message);
    this.frame = frame;
  }
}
