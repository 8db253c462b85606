import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
import type { ErrorCode, OpenAIErrorBody } from '@transcribe/contracts';
import { DEPENDENCY_RETRY_AFTER_S, unavailableDependency } from './dependency-errors.js';
import { HttpError } from './http-error.js';

/** OpenAI's error body and status: what its SDKs read into `APIError` (status, type, param, code). */
export interface OpenAIError {
  status: number;
  body: OpenAIErrorBody;
}

export function openAIError(
  status: number,
  message: string,
  options: { type?: string; param?: string | null; code?: string | null } = {},
): OpenAIError {
  const type =
    options.type ??
    (status === 429
      ? 'rate_limit_exceeded'
      : status >= 500
        ? 'server_error'
        : 'invalid_request_error');
  return {
    status,
    body: { error: { message, type, param: options.param ?? null, code: options.code ?? null } },
  };
}

/** Statuses OpenAI's API uses; ours that it has no use for become its 400. */
function openAIStatus(status: number): number {
  if ([400, 401, 403, 404, 413, 429].includes(status) || status >= 500) return status;
  return 400;
}

/** A job's failure as the answer to the request that waited on it. */
export function jobFailureError(code: ErrorCode | string, message: string): OpenAIError {
  if (code === 'quota_exceeded') {
    return openAIError(429, message, { type: 'insufficient_quota', code });
  }
  const clientFault = [
    'invalid_media',
    'no_audio_stream',
    'empty_audio',
    'too_long',
    'language_unsupported',
    'engine_rejected',
  ].includes(code);
  return openAIError(clientFault ? 400 : 500, message, { code });
}

/** Any error thrown on the OpenAI-compatible routes, in OpenAI's shape and statuses. */
export function toOpenAIError(error: unknown): OpenAIError {
  if (error instanceof HttpError) {
    const details = error.details as { param?: unknown } | undefined;
    const param = typeof details?.param === 'string' ? details.param : null;
    if (error.status === 401) {
      return openAIError(401, error.message, { code: 'invalid_api_key' });
    }
    if (error.code === 'quota_exceeded') {
      return openAIError(429, error.message, { type: 'insufficient_quota', code: error.code });
    }
    return openAIError(openAIStatus(error.status), error.message, { param, code: error.code });
  }
  if (error instanceof ZodError) {
    const first = error.issues[0];
    return openAIError(
      400,
      error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
      { param: first?.path.join('.') || null, code: 'invalid_value' },
    );
  }
  const parserError = error as { type?: string; status?: number };
  if (parserError.status && parserError.status >= 400 && parserError.status < 500) {
    return openAIError(parserError.status === 413 ? 413 : 400, (error as Error).message);
  }
  if (unavailableDependency(error)) {
    return openAIError(503, 'a dependency of the service is unavailable; retry later', {
      code: 'dependency_unavailable',
    });
  }
  return openAIError(500, 'internal error', { code: 'internal_error' });
}

/** The error handler of the OpenAI-compatible routes (the rest of the API keeps its own shape). */
export const openAIErrorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
  if (res.headersSent) return;
  const { status, body } = toOpenAIError(error);
  if (status === 503) res.setHeader('retry-after', String(DEPENDENCY_RETRY_AFTER_S));
  if (error instanceof HttpError) {
    for (const [name, value] of Object.entries(error.headers ?? {})) res.setHeader(name, value);
  }
  if (status >= 500) req.log?.error({ err: error }, 'openai-compatible route failed');
  res.status(status).json(body);
};
