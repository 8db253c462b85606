import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { JobStatus, Priority, Segment } from '@transcribe/contracts';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Json<T> = ColumnType<T, string, string>;

export interface TenantsTable {
  id: string;
  name: string;
  created_at: CreatedAt;
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

export interface UploadsTable {
  id: string;
  tenant_id: string;
  object_key: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  status: Generated<UploadStatus>;
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
  language: string;
  engine: string;
  model: string | null;
  progress: Generated<number>;
  stage: string | null;
  attempts: Generated<number>;
  error_code: string | null;
  error_message: string | null;
  text: string | null;
  segments: Json<Segment[]> | null;
  processing_ms: number | null;
  idempotency_key: string | null;
  webhook_url: string | null;
  /** Highest seq handed out in job_events for this job; bumped under the row lock. */
  last_event_seq: Generated<number>;
  /** While processing: the worker must finish or renew before this, or the job is reclaimed. */
  lease_expires_at: Date | null;
  created_at: CreatedAt;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Timestamp;
}

export interface JobEventsTable {
  job_id: string;
  seq: number;
  type: string;
  payload: Json<unknown>;
  created_at: CreatedAt;
}

export type OutboxTopic = 'jobs' | 'events';

export interface OutboxTable {
  id: Generated<number>;
  topic: OutboxTopic;
  routing_key: string;
  payload: Json<unknown>;
  priority: number | null;
  created_at: CreatedAt;
}

export interface Database {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  uploads: UploadsTable;
  jobs: JobsTable;
  job_events: JobEventsTable;
  outbox: OutboxTable;
}

export type JobRow = Selectable<JobsTable>;
export type NewJob = Insertable<JobsTable>;
export type UploadRow = Selectable<UploadsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type OutboxRow = Selectable<OutboxTable>;
