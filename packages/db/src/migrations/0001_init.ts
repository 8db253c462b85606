import { sql, type Kysely } from 'kysely';

// Frozen in time: imports no application code, so later refactors cannot change history.
/* eslint-disable @typescript-eslint/no-explicit-any */
export async function up(db: Kysely<any>): Promise<void> {
  const statements = [
    sql`CREATE TABLE tenants (
      id uuid PRIMARY KEY,
      name text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    sql`CREATE TABLE api_keys (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      name text NOT NULL,
      key_hash text NOT NULL UNIQUE,
      prefix text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz
    )`,
    sql`CREATE TABLE uploads (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      object_key text NOT NULL UNIQUE,
      filename text NOT NULL,
      content_type text NOT NULL,
      size_bytes bigint NOT NULL CHECK (size_bytes > 0),
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'used')),
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL
    )`,
    sql`CREATE TABLE jobs (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      upload_id uuid REFERENCES uploads(id) ON DELETE SET NULL,
      status text NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed', 'canceled')),
      priority text NOT NULL DEFAULT 'default' CHECK (priority IN ('low', 'default', 'high', 'critical')),
      object_key text NOT NULL,
      filename text NOT NULL,
      content_type text NOT NULL,
      size_bytes bigint NOT NULL,
      duration_s double precision,
      language text NOT NULL,
      engine text NOT NULL,
      model text,
      progress real NOT NULL DEFAULT 0,
      stage text,
      attempts integer NOT NULL DEFAULT 0,
      error_code text,
      error_message text,
      text text,
      segments jsonb,
      processing_ms integer,
      idempotency_key text,
      webhook_url text,
      last_event_seq integer NOT NULL DEFAULT 0,
      lease_expires_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      finished_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (tenant_id, idempotency_key)
    )`,
    sql`CREATE INDEX jobs_tenant_created ON jobs (tenant_id, created_at DESC, id DESC)`,
    sql`CREATE INDEX jobs_status_lease ON jobs (status, lease_expires_at) WHERE status IN ('queued', 'processing')`,
    sql`CREATE TABLE job_events (
      job_id uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      seq integer NOT NULL,
      type text NOT NULL,
      payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (job_id, seq)
    )`,
    sql`CREATE TABLE outbox (
      id bigserial PRIMARY KEY,
      topic text NOT NULL CHECK (topic IN ('jobs', 'events')),
      routing_key text NOT NULL,
      payload jsonb NOT NULL,
      priority smallint,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
  ];
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['outbox', 'job_events', 'jobs', 'uploads', 'api_keys', 'tenants']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
  }
}
