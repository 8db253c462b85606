import type { IncomingMessage } from 'node:http';
import { CloseCode, EventsQuery, verifyEventsToken } from '@transcribe/contracts';
import { findJob, findTenantIdByApiKey, type Db } from '@transcribe/db';

export type Admission =
  | { ok: true; tenantId: string; jobId: string; after: number }
  | { ok: false; code: number; reason: string };

function bearer(req: IncomingMessage): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

/**
 * Decides whether a WebSocket request may follow a job: an events token for exactly that
 * job, or an API key of the job's tenant. Unknown and foreign jobs look the same (4404).
 */
export async function admit(req: IncomingMessage, db: Db, tokenSecret: string): Promise<Admission> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const query = EventsQuery.safeParse(Object.fromEntries(url.searchParams));
  if (!query.success) {
    return { ok: false, code: CloseCode.BadRequest, reason: 'expected ?jobId=<uuid>&after=<seq>' };
  }
  const { jobId, after, token } = query.data;

  let tenantId: string | undefined;
  if (token) {
    const claims = verifyEventsToken(token, tokenSecret);
    if (!claims)
      return { ok: false, code: CloseCode.Unauthorized, reason: 'invalid or expired token' };
    if (claims.jobId !== jobId)
      return { ok: false, code: CloseCode.NotFound, reason: 'job not found' };
    tenantId = claims.sub;
  } else {
    const key = bearer(req);
    if (!key) return { ok: false, code: CloseCode.Unauthorized, reason: 'missing credentials' };
    tenantId = await findTenantIdByApiKey(db, key);
    if (!tenantId) return { ok: false, code: CloseCode.Unauthorized, reason: 'invalid API key' };
  }
  const job = await findJob(db, tenantId, jobId);
  if (!job) return { ok: false, code: CloseCode.NotFound, reason: 'job not found' };
  return { ok: true, tenantId, jobId, after };
}
