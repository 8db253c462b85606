import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import type { ErrorBody } from '@transcribe/contracts';
import { DEPENDENCY_RETRY_AFTER_S, unavailableDependency } from './dependency-errors.js';
import { HttpError } from './http-error.js';

function body(code: ErrorBody['error']['code'], message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** Maps every error to `{error: {code, message, details?}}`; nothing else leaves the gateway. */
export const errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
  if (res.headersSent) return;
  if (error instanceof HttpError) {
    for (const [name, value] of Object.entries(error.headers ?? {})) res.setHeader(name, value);
    res.status(error.status).json(body(error.code, error.message, error.details));
    return;
  }
  if (error instanceof ZodError) {
    res.status(400).json(
      body(
        'validation_failed',
        error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
        error.issues.map((i) => ({ path: i.path, message: i.message })),
      ),
    );
    return;
  }
  // body-parser marks its errors with `type` and an HTTP status.
  const parserError = error as { type?: string; status?: number };
  if (parserError.type === 'entity.too.large') {
    res.status(413).json(body('payload_too_large', 'request body too large'));
    return;
  }
  if (parserError.type === 'entity.parse.failed') {
    res.status(400).json(body('bad_request', 'request body is not valid JSON'));
    return;
  }
  if (parserError.status && parserError.status >= 400 && parserError.status < 500) {
    res.status(parserError.status).json(body('bad_request', (error as Error).message));
    return;
  }
  const dependency = unavailableDependency(error);
  if (dependency) {
    req.log?.warn({ err: error, dependency }, 'dependency unavailable');
    res.setHeader('retry-after', String(DEPENDENCY_RETRY_AFTER_S));
    res
      .status(503)
      .json(body('dependency_unavailable', `${dependency} is unavailable; retry later`));
    return;
  }
  req.log?.error({ err: error }, 'unhandled error');
  res.status(500).json(body('internal_error', 'internal error'));
};

export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json(body('not_found', `no route for ${req.method} ${req.path}`));
};
