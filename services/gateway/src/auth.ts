import type { RequestHandler } from 'express';
import { apiKeyPrefix, isPossibleApiKey } from '@transcribe/db';
import type { ApiKeyCache } from './api-key-cache.js';
import type { AuthThrottle } from './auth-throttle.js';
import { HttpError } from './http-error.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by requireApiKey. */
      tenantId?: string;
    }
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * Resolves `Authorization: Bearer <api key>` to a tenant, or answers 401. A key that cannot
 * exist is refused without a query; an address or key prefix with too many failures gets 429
 * before any query.
 */
export function requireApiKey(keys: ApiKeyCache, throttle?: AuthThrottle): RequestHandler {
  return async (req, res, next) => {
    const key = bearerToken(req.headers.authorization);
    if (!key) throw new HttpError(401, 'unauthorized', 'missing "Authorization: Bearer <api key>"');
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const prefix = apiKeyPrefix(key);
    const waitS = throttle?.blockedFor(address, prefix);
    if (waitS !== undefined) {
      res.setHeader('retry-after', String(waitS));
      throw new HttpError(
        429,
        'rate_limited',
        `too many failed API-key attempts; retry in ${waitS} s`,
        { retryAfterS: waitS },
      );
    }
    const tenantId = isPossibleApiKey(key) ? await keys.tenantOf(key) : undefined;
    if (!tenantId) {
      throttle?.failed(address, prefix);
      throw new HttpError(401, 'unauthorized', 'invalid or revoked API key');
    }
    req.tenantId = tenantId;
    next();
  };
}

export function tenantOf(req: { tenantId?: string }): string {
  if (!req.tenantId) throw new HttpError(401, 'unauthorized', 'not authenticated');
  return req.tenantId;
}
