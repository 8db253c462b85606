import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type {
  EnrichmentKind,
  EnrichmentResult,
  EnrichmentStatus,
  JobStatus,
  LanguageSource,
  Priority,
  Segment,
  Word,
} from '@transcribe/contracts';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Json<T> = ColumnType<T, string, string>;

export interface TenantsTable {
  id: string;
  name: string;
  /** Jobs of this tenant processing at once; null means the deployment's default. */
  max_concurrent_jobs: Generated<number | null>;
  /** Seconds of decoded audio this tenant may start per UTC day; null means the deployment's default. */
  max_audio_s_per_day: Generated<number | null>;
  created_at: CreatedAt;
  /** Issue 17 (0011): this tenant's share of the workers relative to others (default 1). */
  weight: Generated<number>;
  /** Jobs of this tenant queued at once; null means the deployment's default. */
  max_queued_jobs: Generated<number | null>;
  /** When a worker last took this tenant's work: the round-robin tie-break. */
  last_served_at: Date | null;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string;
  /** sha256 of the key; the key itself is never stored. */
  key_hash: string;
  /** First characters of the key, shown in listings so a user can tell keys apart. */
  prefix: string;
  created_at: CreatedAt;
  revoked_at: Date | null;
}

export type UploadStatus = 'pending' | 'used';
/** PUT and POST: presigned single requests; multipart: presigned parts; form: through the gateway. */
export type UploadMethod = 'PUT' | 'POST' | 'multipart' | 'form';

export interface UploadsTable {
  id: string;
  tenant_id: string;
  object_key: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  status: Generated<UploadStatus>;
  method: Generated<UploadMethod>;
  /** S3's id of an unfinished multipart upload; null once completed or for other methods. */
  multipart_id: string | null;
  part_size_bytes: number | null;
  created_at: CreatedAt;
  expires_at: Date;
}

export interface JobsTable {
  id: string;
  tenant_id: string;
  upload_id: string | null;
  status: JobStatus;
  priority: Priority;
  object_key: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  duration_s: number | null;
  /** As requested: `auto` or a tag. */
  language: string;
  /** The transcript's language; null while `auto` awaits detection (0007). */
  resolved_language: string | null;
  /** How resolved_language is known: requested, detected, engine-default, undetermined (0007). */
  language_source: LanguageSource | null;
  engine: string;
  model: string | null;
  progress: Generated<number>;
  stage: string | null;
  attempts: Generated<number>;
  error_code: string | null;
  error_message: string | null;
  text: string | null;
  segments: Json<Segment[]> | null;
  /** Word timings of the finished transcript; null when none were stored (0008). */
  words: Json<Word[]> | null;
  processing_ms: number | null;
  idempotency_key: string | null;
  webhook_url: string | null;
  metadata: Json<Record<string, string>> | null;
  /** sha256 of the creation request, to tell a replay of an Idempotency-Key from a conflict. */
  request_hash: string | null;
  /** `attempts` when the job was last retried by hand: attempts are counted from here. */
  retry_base: Generated<number>;
  /** Attempts lost to infrastructure (hand-over, expired lease): not charged to the budget (0005). */
  lost_attempts: Generated<number>;
  /** Highest seq handed out in job_events for this job; bumped under the row lock. */
  last_event_seq: Generated<number>;
  /** While processing: the worker must finish or renew before this, or the job is reclaimed. */
  lease_expires_at: Date | null;
  created_at: CreatedAt;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Timestamp;
  /** Issue 16 (0010): audio seconds transcribed over all chunks, monotonic within an attempt. */
  audio_done_s: Generated<number>;
  audio_total_s: number | null;
  /** Seconds left, from this attempt's measured throughput; null until measured. */
  eta_s: number | null;
  /** When this attempt's first chunk began transcribing, and the audio already done then. */
  transcribing_started_at: Date | null;
  transcribing_base_s: Generated<number>;
  /** When the progress last moved (not a heartbeat): the stall bound counts from here. */
  progress_moved_at: Date | null;
  /** When the last progress event was written: paces them per job, across workers. */
  progress_event_at: Date | null;
  /** A queued job's last announced position, and when it was announced. */
  queue_position: number | null;
  position_event_at: Date | null;
  /** Issue 17 (0011): when the job last entered the queue; queue wait counts from here. */
  queued_at: Generated<Date>;
  /** A retry's backoff: no worker takes the job before this. */
  not_before: Date | null;
}

export interface JobEventsTable {
  job_id: string;
  seq: number;
  type: string;
  payload: Json<unknown>;
  created_at: CreatedAt;
  /** Writing transaction (xid8, read as text) and a sequence id: the tenant-stream order (0004). */
  tx: Generated<string>;
  id: Generated<number>;
}

export type OutboxTopic = 'jobs' | 'events';

export interface OutboxTable {
  id: Generated<number>;
  topic: OutboxTopic;
  routing_key: string;
  payload: Json<unknown>;
  priority: number | null;
  /** Per-message TTL in ms (a retry waiting in a delay queue). */
  expiration_ms: number | null;
  headers: Json<Record<string, string | number>> | null;
  created_at: CreatedAt;
}

/** One chunk of a job's audio; `finished_at` set once its result is stored. */
export interface JobChunksTable {
  job_id: string;
  index: number;
  start_s: number;
  end_s: number;
  text: string | null;
  /** Absolute times (already offset by start_s). */
  segments: Json<Segment[]> | null;
  /** Word timings, absolute like the segments; null when the engine gave none (0008). */
  words: Json<Word[]> | null;
  model: string | null;
  /** The language the engine heard in this chunk, when it says (0007). */
  language: string | null;
  /** The job attempt that stored the result. */
  attempt: number | null;
  processing_ms: number | null;
  created_at: CreatedAt;
  finished_at: Date | null;
  /** Token of the worker transcribing the chunk now, and until when (0005). */
  holder: string | null;
  lease_expires_at: Date | null;
  /** Issue 16 (0010): audio seconds of this chunk decoded so far, and when it began. */
  done_s: Generated<number>;
  started_at: Date | null;
  /** Issue 17 (0011): the job attempt that published this chunk's message (fanned out); null when transcribed in process. */
  dispatched_attempt: number | null;
  /** Not taken again before this (a chunk held by another worker is looked at later). */
  not_before: Date | null;
}

/** Issue 17 (0011): usage per tenant and UTC day, kept past the jobs' retention. */
export interface TenantUsageDaysTable {
  tenant_id: string;
  /** UTC day, as YYYY-MM-DD (pg `date`, read as a string; see connection.ts). */
  day: string;
  jobs_submitted: Generated<number>;
  jobs_completed: Generated<number>;
  jobs_failed: Generated<number>;
  audio_s: Generated<number>;
  processing_s: Generated<number>;
}

/** Rate-limit windows (`rate-limit.store.ts`): points spent per key until `expire` (ms). */
export interface RateLimitsTable {
  key: string;
  points: number;
  expire: number | null;
}

export interface TenantWebhooksTable {
  tenant_id: string;
  /** Default webhook URL for jobs created without one. */
  url: string | null;
  /** HMAC key of the tenant's webhook signatures. Never log it. */
  secret: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface WebhookDeliveriesTable {
  /** Stable across attempts and redeliveries: receivers drop duplicates by it. */
  id: string;
  job_id: string;
  tenant_id: string;
  event: string;
  url: string;
  payload: Json<unknown>;
  status: Generated<WebhookDeliveryStatus>;
  attempts: Generated<number>;
  attempts_left: number;
  max_attempts: number;
  next_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface WebhookDeliveryAttemptsTable {
  id: Generated<number>;
  delivery_id: string;
  attempt: number;
  url: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  created_at: CreatedAt;
}

/** Written only by the job_events_horizon trigger (0005_tenant_event_horizon). */
export interface TenantEventHorizonsTable {
  tenant_id: string;
  /** xid8, as text. */
  tx: string;
  id: string;
  updated_at: Timestamp;
}

/** One enrichment of a job (0009, issue 15). */
export interface EnrichmentsTable {
  id: string;
  job_id: string;
  tenant_id: string;
  /** `clean`, `summary`, `notes`, `translate:<lang>`: unique per job. */
  key: string;
  kind: EnrichmentKind;
  target_language: string | null;
  /** Order asked for within the job. */
  position: Generated<number>;
  status: Generated<EnrichmentStatus>;
  progress: Generated<number>;
  /** Null until a worker has planned the pieces. */
  pieces_total: number | null;
  pieces_done: Generated<number>;
  attempts: Generated<number>;
  error_code: string | null;
  error_message: string | null;
  model: string | null;
  prompt_version: string | null;
  /** Summed over every piece and the combine step. */
  prompt_tokens: Generated<number>;
  completion_tokens: Generated<number>;
  /** Plain text of the result, once completed. */
  text: string | null;
  result: Json<EnrichmentResult> | null;
  /** Who runs the combine step (or a one-piece task) now, and until when. */
  holder: string | null;
  lease_expires_at: Date | null;
  created_at: CreatedAt;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Timestamp;
}

/** One piece (segments first_segment..last_segment) of an enrichment's map step (0009). */
export interface EnrichmentPiecesTable {
  enrichment_id: string;
  index: number;
  first_segment: number;
  last_segment: number;
  /** The piece's result: timed segments' texts, or a partial markdown. */
  output: Json<unknown> | null;
  model: string | null;
  prompt_tokens: Generated<number>;
  completion_tokens: Generated<number>;
  holder: string | null;
  lease_expires_at: Date | null;
  /** The enrichment attempt that stored it. */
  attempt: number | null;
  processing_ms: number | null;
  created_at: CreatedAt;
  finished_at: Date | null;
}

export interface Database {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  uploads: UploadsTable;
  jobs: JobsTable;
  job_events: JobEventsTable;
  outbox: OutboxTable;
  tenant_webhooks: TenantWebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_delivery_attempts: WebhookDeliveryAttemptsTable;
  job_chunks: JobChunksTable;
  rate_limits: RateLimitsTable;
  tenant_event_horizons: TenantEventHorizonsTable;
  enrichments: EnrichmentsTable;
  enrichment_pieces: EnrichmentPiecesTable;
  tenant_usage_days: TenantUsageDaysTable;
}

export type JobRow = Selectable<JobsTable>;
export type NewJob = Insertable<JobsTable>;
export type UploadRow = Selectable<UploadsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type OutboxRow = Selectable<OutboxTable>;
export type JobChunkRow = Selectable<JobChunksTable>;
export type EnrichmentRow = Selectable<EnrichmentsTable>;
export type NewEnrichment = Insertable<EnrichmentsTable>;
export type EnrichmentPieceRow = Selectable<EnrichmentPiecesTable>;
