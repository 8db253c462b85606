import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Short-lived credential for the events WebSocket, returned with each job: browsers cannot
 * set an Authorization header on a WebSocket. Format: base64url(JSON claims) "." base64url
 * (HMAC-SHA256 of the first part). The gateway signs, the notifier verifies, with
 * TOKEN_SECRET. It grants reading one job's events (or, issued without a job, all of the
 * tenant's) and nothing else.
 */
export const EventsTokenClaims = z.object({
  /** tenant id */
  sub: z.uuid(),
  /** The job it grants; a token without one grants the tenant-wide stream. */
  jobId: z.uuid().optional(),
  /** expiry, seconds since the epoch */
  exp: z.number().int(),
});
export type EventsTokenClaims = z.infer<typeof EventsTokenClaims>;

function sign(data: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

export function signEventsToken(claims: EventsTokenClaims, secret: string): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${body}.${sign(body, secret).toString('base64url')}`;
}

/** The claims of a valid, unexpired token; undefined for anything else. */
export function verifyEventsToken(
  token: string,
  secret: string,
  nowS = Math.floor(Date.now() / 1000),
): EventsTokenClaims | undefined {
  const [body, signature, ...rest] = token.split('.');
  if (!body || !signature || rest.length) return undefined;
  const expected = sign(body, secret);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const claims = EventsTokenClaims.parse(JSON.parse(Buffer.from(body, 'base64url').toString()));
    return claims.exp > nowS ? claims : undefined;
  } catch {
    return undefined;
  }
}
