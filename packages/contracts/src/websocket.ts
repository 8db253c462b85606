import { z } from 'zod';
import { JobEvent } from './events.js';
import { AfterSeq } from './jobs.js';

/**
 * Job events over WebSocket, protocol v1 (`GET /v1/events`, served by the notifier), and the
 * same stream as Server-Sent Events (`GET /v1/events/sse`).
 *
 * Credentials, one of:
 * - `Authorization: Bearer <api key>` (servers, CLIs);
 * - `?token=<eventsToken>` (the short-lived token the gateway returns with a job);
 * - WebSocket subprotocols, for browsers (they can set neither headers nor, safely, query
 *   strings that end up in logs): offer `["transcribe.v1", "token.<eventsToken>"]` or
 *   `["transcribe.v1", "key.<api key>"]`; the server selects `transcribe.v1`.
 *
 * Streams:
 * - one job: `?jobId=<uuid>&after=<seq>`; events are replayed from seq `after`+1 (default 0:
 *   everything), then live ones follow, each seq exactly once and in order;
 * - all of the tenant's jobs: no `jobId` (an API key, or a token issued without a job).
 *   Per-job seqs give no order across jobs, so every frame carries an opaque `cursor`;
 *   resume with `?after=<cursor>`. Without `after` the stream starts now (it may open with
 *   events committed moments before), and its first frame is `{kind: "ready", cursor}` so a
 *   client has a resume point before any event.
 *
 * Resuming from a point that no longer exists is never a silent gap: the stream sends a
 * `{kind: "discontinuity"}` frame (SSE: `event: discontinuity`) — for a job deleted since
 * (retention, DELETE), then closes with 4404; for a tenant cursor from before events that
 * were deleted since, then goes on from the cursor with the events that remain.
 *
 * The server sends JSON text frames; clients send nothing (anything they send is ignored).
 */
export const EVENTS_SUBPROTOCOL = 'transcribe.v1';
/** Subprotocol prefixes that carry credentials. */
export const TOKEN_SUBPROTOCOL_PREFIX = 'token.';
export const KEY_SUBPROTOCOL_PREFIX = 'key.';

/** Position in a tenant stream: `<transaction>-<id>`, opaque to clients. */
export const TenantCursor = z
  .string()
  .regex(/^\d{1,20}-\d{1,19}$/, 'expected a cursor from a previous frame');
export type TenantCursorString = z.infer<typeof TenantCursor>;

/** Query of a one-job stream (also the shape of v0 of this protocol). */
export const EventsQuery = z.object({
  jobId: z.uuid(),
  after: AfterSeq,
  token: z.string().optional(),
});
export type EventsQuery = z.infer<typeof EventsQuery>;

/** Query of a tenant-wide stream (no jobId). */
export const TenantEventsQuery = z.object({
  after: TenantCursor.optional(),
  token: z.string().optional(),
});
export type TenantEventsQuery = z.infer<typeof TenantEventsQuery>;

export const EventFrame = z.object({
  kind: z.literal('event'),
  event: JobEvent,
  /** Tenant streams only: resume after this frame with `after=<cursor>`. */
  cursor: TenantCursor.optional(),
  /**
   * Progress events: estimated seconds until the job completes, from the rate of progress
   * this notifier has seen for the job; absent when unknown.
   */
  etaS: z.number().nonnegative().optional(),
  /** Completed events: where to fetch the result (needs the API key). */
  links: z.object({ job: z.url(), transcript: z.url() }).optional(),
});
export type EventFrame = z.infer<typeof EventFrame>;

export const DiscontinuityReason = z.enum([
  /** The job no longer exists (retention, DELETE): its events cannot be replayed. */
  'job_deleted',
  /** Some of the tenant's events after the resume cursor were deleted (retention, DELETE). */
  'events_deleted',
]);
export type DiscontinuityReason = z.infer<typeof DiscontinuityReason>;

/**
 * The stream cannot continue seamlessly from where the client asked to resume: re-read the
 * state it needs over REST (`GET /v1/jobs`, `GET /v1/jobs/:id`) rather than trust that
 * every change arrived as an event.
 */
export const DiscontinuityFrame = z.object({
  kind: z.literal('discontinuity'),
  reason: DiscontinuityReason,
  /** One-job streams: the job asked for. */
  jobId: z.uuid().optional(),
  /** The resume point asked for: a seq (one job) or a cursor (tenant). */
  after: z.union([z.number().int().nonnegative(), TenantCursor]),
  /**
   * Tenant streams: events up to this position may be missing; the stream goes on from
   * `after` with every event that still exists.
   */
  through: TenantCursor.optional(),
  message: z.string(),
});
export type DiscontinuityFrame = z.infer<typeof DiscontinuityFrame>;

/** A one-job stream's frames. */
export const ServerFrame = z.discriminatedUnion('kind', [EventFrame, DiscontinuityFrame]);
export type ServerFrame = z.infer<typeof ServerFrame>;

export const ReadyFrame = z.object({
  kind: z.literal('ready'),
  tenantId: z.uuid(),
  /** Where this stream starts: a resume point valid before any event arrives. */
  cursor: TenantCursor,
});
export type ReadyFrame = z.infer<typeof ReadyFrame>;

/** A tenant stream's frames. */
export const TenantServerFrame = z.discriminatedUnion('kind', [
  EventFrame,
  ReadyFrame,
  DiscontinuityFrame,
]);
export type TenantServerFrame = z.infer<typeof TenantServerFrame>;

/**
 * Application close codes (4000–4999), in addition to the standard 1000, 1001 (the server
 * is shutting down: reconnect, to any replica, and resume) and 1011 (internal error).
 * The SSE endpoint answers the HTTP status in the last two digits' family instead
 * (4400 → 400, 4401 → 401, 4404 → 404, 4429 → 429) before the stream starts.
 */
export const CloseCode = {
  /** Missing, invalid or expired credentials. Do not retry with the same credentials. */
  Unauthorized: 4401,
  /** The job does not exist or belongs to another tenant. */
  NotFound: 4404,
  /** Malformed query (e.g. jobId is not a UUID, a bad cursor). */
  BadRequest: 4400,
  /** The client did not read fast enough; reconnect with `after` = last seq/cursor seen. */
  TooSlow: 4408,
  /** The tenant already has the maximum number of open event streams on this notifier. */
  TooManyConnections: 4429,
  /** The notifier cannot reach its database right now: reconnect after a short wait (RFC 6455 1013). */
  TryAgainLater: 1013,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
