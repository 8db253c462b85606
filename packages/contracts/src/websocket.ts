import { z } from 'zod';
import { JobEvent } from './events.js';
import { AfterSeq } from './jobs.js';

/**
 * The events WebSocket (`GET /v1/events?jobId=…&after=…`, served by the notifier).
 * Authenticate with `Authorization: Bearer <api key>` or `?token=<eventsToken>`.
 * The server sends one JSON text frame per message below; clients send nothing.
 */
export const EventsQuery = z.object({
  jobId: z.uuid(),
  after: AfterSeq,
  token: z.string().optional(),
});
export type EventsQuery = z.infer<typeof EventsQuery>;

export const ServerFrame = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('event'), event: JobEvent }),
]);
export type ServerFrame = z.infer<typeof ServerFrame>;

/** Application close codes (4000–4999), in addition to the standard 1000/1001/1011. */
export const CloseCode = {
  /** Missing, invalid or expired credentials. Do not retry with the same credentials. */
  Unauthorized: 4401,
  /** The job does not exist or belongs to another tenant. */
  NotFound: 4404,
  /** Malformed query (e.g. jobId is not a UUID). */
  BadRequest: 4400,
  /** The client did not read fast enough; reconnect with `after` = last seq seen. */
  TooSlow: 4408,
} as const;
