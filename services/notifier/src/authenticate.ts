import type { IncomingMessage } from 'node:http';
import {
  CloseCode,
  EVENTS_SUBPROTOCOL,
  EventsQuery,
  KEY_SUBPROTOCOL_PREFIX,
  TenantEventsQuery,
  TOKEN_SUBPROTOCOL_PREFIX,
  verifyEventsToken,
} from '@transcribe/contracts';
import { findTenantIdByApiKey, isPossibleApiKey, type Db, type TenantCursor } from '@transcribe/db';
import { parseCursor } from './cursor.js';
import type { JobHead } from './job-heads.js';

/**
 * What a client follows: one job from a seq, or all of its tenant's jobs from a cursor.
 * `deleted`: a resume (`after` > 0) of a job that is not there any more; the stream only
 * says so (a discontinuity frame) and ends. `head`: the job's committed head read at
 * admission, which tells whether the client missed anything (no replay read when not).
 */
export type Stream =
  | { kind: 'job'; jobId: string; after: number; deleted?: boolean; head?: JobHead }
  | { kind: 'tenant'; after?: TenantCursor };

export type Admission =
  { ok: true; tenantId: string; stream: Stream } | { ok: false; code: number; reason: string };

export interface Credentials {
  apiKey?: string;
  token?: string;
}

/** Everything a request may carry, from the WebSocket upgrade or the SSE GET alike. */
export interface EventsRequest {
  query: Record<string, string>;
  credentials: Credentials;
  /** SSE's Last-Event-ID, which takes the place of `after` on a reconnect. */
  lastEventId?: string;
}

/** Credentials in `Sec-WebSocket-Protocol` (`token.<t>` / `key.<k>`), for browsers. */
export function subprotocolCredentials(protocols: Iterable<string>): Credentials {
  const found: Credentials = {};
  for (const protocol of protocols) {
    if (protocol.startsWith(TOKEN_SUBPROTOCOL_PREFIX))
      found.token = protocol.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
    else if (protocol.startsWith(KEY_SUBPROTOCOL_PREFIX))
      found.apiKey = protocol.slice(KEY_SUBPROTOCOL_PREFIX.length);
  }
  return found;
}

/** The subprotocol the server answers with: never one that carries a credential. */
export function selectSubprotocol(protocols: Set<string>): string | false {
  return protocols.has(EVENTS_SUBPROTOCOL) ? EVENTS_SUBPROTOCOL : false;
}

export function readEventsRequest(req: IncomingMessage): EventsRequest {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const query = Object.fromEntries(url.searchParams);
  const header = req.headers['sec-websocket-protocol'];
  const fromProtocols = subprotocolCredentials(
    header ? header.split(',').map((p) => p.trim()) : [],
  );
  const apiKey = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const lastEventId = req.headers['last-event-id'];
  return {
    query,
    credentials: {
      apiKey: apiKey ?? fromProtocols.apiKey,
      token: query.token ?? fromProtocols.token,
    },
    lastEventId: typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : undefined,
  };
}

const deny = (code: number, reason: string): Admission => ({ ok: false, code, reason });

/**
 * Decides whether a request may follow a stream: an events token for exactly that job (or a
 * tenant-wide token for the tenant stream), or an API key of the tenant. Unknown and
 * foreign jobs look the same (4404).
 */
export async function admit(
  request: EventsRequest,
  db: Db,
  tokenSecret: string,
  jobHead: (tenantId: string, jobId: string) => Promise<JobHead | undefined>,
): Promise<Admission> {
  const { query, credentials, lastEventId } = request;
  const after = lastEventId ?? query.after;

  let stream: Stream;
  if (query.jobId !== undefined) {
    const parsed = EventsQuery.safeParse({ ...query, after });
    if (!parsed.success) return deny(CloseCode.BadRequest, 'expected ?jobId=<uuid>&after=<seq>');
    stream = { kind: 'job', jobId: parsed.data.jobId, after: parsed.data.after };
  } else {
    const parsed = TenantEventsQuery.safeParse({ ...query, after });
    if (!parsed.success)
      return deny(CloseCode.BadRequest, 'expected ?after=<cursor> (or ?jobId=<uuid>)');
    stream = {
      kind: 'tenant',
      after: parsed.data.after === undefined ? undefined : parseCursor(parsed.data.after),
    };
  }

  let tenantId: string;
  if (credentials.token !== undefined) {
    const claims = verifyEventsToken(credentials.token, tokenSecret);
    if (!claims) return deny(CloseCode.Unauthorized, 'invalid or expired token');
    // A job token grants that job only; a tenant token (no jobId) grants every job of it.
    if (claims.jobId !== undefined) {
      if (stream.kind === 'tenant')
        return deny(CloseCode.Unauthorized, 'this token grants one job: add ?jobId=');
      if (claims.jobId !== stream.jobId) return deny(CloseCode.NotFound, 'job not found');
    }
    tenantId = claims.sub;
  } else if (credentials.apiKey !== undefined) {
    // A key that cannot exist costs no query.
    const found = isPossibleApiKey(credentials.apiKey)
      ? await findTenantIdByApiKey(db, credentials.apiKey)
      : undefined;
    if (!found) return deny(CloseCode.Unauthorized, 'invalid API key');
    tenantId = found;
  } else {
    return deny(CloseCode.Unauthorized, 'missing credentials');
  }

  if (stream.kind === 'job') {
    const head = await jobHead(tenantId, stream.jobId);
    if (!head) {
      // A client that saw events of this job resumes: it existed, so say it is gone rather
      // than leave a gap that looks like "not found" for a typo.
      if (stream.after > 0) return { ok: true, tenantId, stream: { ...stream, deleted: true } };
      return deny(CloseCode.NotFound, 'job not found');
    }
    stream.head = head;
  }
  return { ok: true, tenantId, stream };
}
