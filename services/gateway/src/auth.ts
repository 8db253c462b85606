import type { RequestHandler } from 'express';
import { findTenantIdByApiKey, type Db } from '@transcribe/db';
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

/** Resolves `Authorization: Bearer <api key>` to a tenant, or answers 401. */
export function requireApiKey(db: Db): RequestHandler {
  return async (req, _res, next) => {
    const key = bearerToken(req.headers.authorization);
    if (!key) throw new HttpError(401, 'unauthorized', 'missing "Authorization: Bearer <api key>"');
    const tenantId = await findTenantIdByApiKey(db, key);
    if (!tenantId) throw new HttpError(401, 'unauthorized', 'invalid or revoked API key');
    req.tenantId = tenantId;
    next();
  };
}

export function tenantOf(req: { tenantId?: string }): string {
  if (!req.tenantId) throw new HttpError(401, 'unauthorized', 'not authenticated');
  return req.tenantId;
}
