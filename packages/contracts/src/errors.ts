import { z } from 'zod';

/**
 * Stable, machine-readable error codes. Clients switch on these; messages are for humans
 * and may change. Add codes, never rename them.
 */
export const ErrorCode = z.enum([
  'bad_request',
  'validation_failed',
  'unauthorized',
  'not_found',
  'upload_not_found',
  'upload_missing',
  'upload_size_mismatch',
  'upload_already_used',
  'upload_expired',
  'unsupported_media_type',
  'payload_too_large',
  'job_not_completed',
  'conflict',
  'rate_limited',
  'idempotency_conflict',
  'invalid_job_state',
  'upload_parts_invalid',
  'not_ready',
  'internal_error',
  /** A webhook URL the service will not call (a private, loopback, link-local or metadata address, …). */
  'webhook_url_refused',
  /** A dependency (Postgres, S3, RabbitMQ) is down or hanging: retry after Retry-After. */
  'dependency_unavailable',
  /** A multipart/form-data body that cannot be parsed (truncated, bad boundary, bad header). */
  'malformed_multipart',
  // Job failure codes (worker)
  'invalid_media',
  'no_audio_stream',
  'empty_audio',
  'too_long',
  'engine_failed',
  'object_missing',
  'timeout',
  'engine_unavailable',
  'engine_rejected',
  // Added for issue 11: a tenant over its daily audio quota (gateway 429 and worker), and
  // a job whose workers kept vanishing under it (lost leases), which is not an engine fault.
  'quota_exceeded',
  'worker_lost',
  /** Issue 12: a job's language that its engine (with its model) cannot transcribe (gateway 400, worker). */
  'language_unsupported',
  /** Issue 15: enrichment asked for where no chat engine is configured (ENRICH_BASE_URL); 503, nothing queued. */
  'enrichment_unavailable',
  /** Issue 15: an enrichment's result asked for before it completed (409). */
  'enrichment_not_completed',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorBody = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
