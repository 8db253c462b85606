import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ErrorCode } from './errors.js';
import { EnrichmentKey, EnrichmentKind, TokenUsage } from './enrichments.js';
import { Uuid, WebhookUrl } from './jobs.js';

/**
 * Webhooks, version 1: when a job completes, fails or is canceled, the notifier POSTs one
 * of the payloads below (JSON) to the job's webhook URL, or else the tenant's default.
 *
 * Headers:
 * - `Transcribe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed
 *   with the tenant's webhook secret; check it, and that t is recent, before trusting a body;
 * - `Transcribe-Delivery: <uuid>`: the same on every attempt and redelivery of one delivery —
 *   drop the ones you have processed;
 * - `Transcribe-Event: job.completed | job.failed | job.canceled`.
 * Any 2xx answer is success; anything else (redirects included, they are not followed),
 * a timeout or a refused connection is retried with exponential backoff and jitter, a
 * bounded number of times (by default 16 attempts over about 29–38 h). Not retried: a URL
 * the webhook URL policy refuses (webhook-url-policy.ts; the API refuses it up front with
 * 400 `webhook_url_refused`) and a 410 Gone answer. While a receiver's origin keeps
 * failing, its deliveries wait (not counted as attempts) until a probe gets through.
 */
export const WEBHOOK_SIGNATURE_HEADER = 'transcribe-signature';
export const WEBHOOK_DELIVERY_HEADER = 'transcribe-delivery';
export const WEBHOOK_EVENT_HEADER = 'transcribe-event';

const JobLinks = z.object({ job: z.url() });

const base = {
  v: z.literal(1),
  /** The delivery id (also in `Transcribe-Delivery`). */
  id: Uuid,
  /** When the event happened. */
  createdAt: z.iso.datetime(),
};

export const JobCompletedWebhook = z.object({
  ...base,
  type: z.literal('job.completed'),
  data: z.object({
    jobId: Uuid,
    tenantId: Uuid,
    status: z.literal('completed'),
    durationS: z.number().nullable(),
    processingMs: z.number().int(),
    links: JobLinks.extend({ transcript: z.url(), transcriptText: z.url() }),
  }),
});

export const JobFailedWebhook = z.object({
  ...base,
  type: z.literal('job.failed'),
  data: z.object({
    jobId: Uuid,
    tenantId: Uuid,
    status: z.literal('failed'),
    error: z.object({ code: ErrorCode, message: z.string() }),
    links: JobLinks,
  }),
});

export const JobCanceledWebhook = z.object({
  ...base,
  type: z.literal('job.canceled'),
  data: z.object({ jobId: Uuid, tenantId: Uuid, status: z.literal('canceled'), links: JobLinks }),
});

/** Issue 15: an enrichment finished (`Transcribe-Event: enrichment.completed | enrichment.failed`). */
const enrichmentData = {
  jobId: Uuid,
  tenantId: Uuid,
  enrichment: z.object({ id: Uuid, key: EnrichmentKey, kind: EnrichmentKind }),
};
export const EnrichmentCompletedWebhook = z.object({
  ...base,
  type: z.literal('enrichment.completed'),
  data: z.object({
    ...enrichmentData,
    status: z.literal('completed'),
    model: z.string().nullable(),
    usage: TokenUsage.nullable(),
    links: JobLinks.extend({ enrichment: z.url() }),
  }),
});
export const EnrichmentFailedWebhook = z.object({
  ...base,
  type: z.literal('enrichment.failed'),
  data: z.object({
    ...enrichmentData,
    status: z.literal('failed'),
    error: z.object({ code: ErrorCode, message: z.string() }),
    links: JobLinks.extend({ enrichment: z.url() }),
  }),
});

export const WebhookPayload = z.discriminatedUnion('type', [
  JobCompletedWebhook,
  JobFailedWebhook,
  JobCanceledWebhook,
  EnrichmentCompletedWebhook,
  EnrichmentFailedWebhook,
]);
export type WebhookPayload = z.infer<typeof WebhookPayload>;
export type WebhookEventType = WebhookPayload['type'];

/** `GET /v1/jobs/:id/webhooks/deliveries` (gateway). */
export const WebhookDeliveryStatus = z.enum(['pending', 'succeeded', 'failed']);
export const WebhookAttempt = z.object({
  attempt: z.number().int().positive(),
  url: z.string(),
  /** The receiver's HTTP status; null when no answer came (refused, timeout, SSRF guard). */
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int().nonnegative(),
  at: z.iso.datetime(),
});
export const WebhookDelivery = z.object({
  id: Uuid,
  jobId: Uuid,
  event: z.string(),
  url: z.string(),
  status: WebhookDeliveryStatus,
  attempts: z.number().int().nonnegative(),
  maxAttempts: z.number().int().positive(),
  /** While pending: when the next attempt is due. */
  nextAttemptAt: z.iso.datetime().nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  attemptLog: z.array(WebhookAttempt),
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;
export const WebhookDeliveryList = z.object({ deliveries: z.array(WebhookDelivery) });
export type WebhookDeliveryList = z.infer<typeof WebhookDeliveryList>;

/** `GET /v1/webhooks` and `PUT /v1/webhooks` (gateway): the tenant's webhook settings. */
export const TenantWebhookSettings = z.object({
  /** Where jobs created without a `webhookUrl` report; null: nowhere. */
  url: WebhookUrl.nullable(),
  /** First characters of the signing secret, to tell secrets apart; null before the first. */
  secretPrefix: z.string().nullable(),
});
export type TenantWebhookSettings = z.infer<typeof TenantWebhookSettings>;
export const UpdateTenantWebhookRequest = z.object({ url: WebhookUrl.nullable() });
export type UpdateTenantWebhookRequest = z.infer<typeof UpdateTenantWebhookRequest>;
/** `POST /v1/webhooks/secret`: a new signing secret, shown this once. */
export const WebhookSecretResponse = z.object({ secret: z.string() });
export type WebhookSecretResponse = z.infer<typeof WebhookSecretResponse>;

function hmac(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The `Transcribe-Signature` value for a body sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${hmac(secret, timestamp, body)}`;
}

/**
 * True when `header` signs exactly `body` (the raw bytes as received, before any JSON
 * parsing) with `secret`, at most `toleranceS` seconds from now (replays are refused).
 */
export function verifyWebhookSignature(
  header: string,
  body: string,
  secret: string,
  options: { toleranceS?: number; nowS?: number } = {},
): boolean {
  const parts = new Map(
    header.split(',').map((part) => {
      const i = part.indexOf('=');
      return [part.slice(0, i).trim(), part.slice(i + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get('t'));
  const given = parts.get('v1');
  if (!Number.isInteger(t) || !given) return false;
  const now = options.nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceS ?? 300)) return false;
  const expected = Buffer.from(hmac(secret, t, body), 'hex');
  const actual = Buffer.from(given, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
