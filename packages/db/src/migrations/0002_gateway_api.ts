import { sql, type Kysely } from 'kysely';

// Frozen in time: imports no application code, so later refactors cannot change history.
/* eslint-disable @typescript-eslint/no-explicit-any */
export async function up(db: Kysely<any>): Promise<void> {
  const statements = [
    // Job options and the bookkeeping behind idempotent creation and manual retries.
    sql`ALTER TABLE jobs
      ADD COLUMN metadata jsonb,
      ADD COLUMN request_hash text,
      ADD COLUMN retry_base integer NOT NULL DEFAULT 0`,
    sql`CREATE INDEX jobs_tenant_status ON jobs (tenant_id, status)`,
    sql`CREATE INDEX jobs_tenant_id ON jobs (tenant_id, id DESC)`,
    sql`CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL`,
    // How an upload arrives; multipart uploads carry S3's upload id until completed.
    sql`ALTER TABLE uploads
      ADD COLUMN method text NOT NULL DEFAULT 'PUT' CHECK (method IN ('PUT', 'POST', 'multipart', 'form')),
      ADD COLUMN multipart_id text,
      ADD COLUMN part_size_bytes bigint`,
    sql`CREATE INDEX uploads_pending_expiry ON uploads (expires_at) WHERE status = 'pending'`,
    // Per-tenant overrides of the deployment's limits (null: the configured default).
    sql`ALTER TABLE tenants ADD COLUMN max_concurrent_jobs integer CHECK (max_concurrent_jobs > 0)`,
    // rate-limiter-flexible's Postgres store, created here so the gateway needs no DDL rights.
    sql`CREATE TABLE rate_limits (
      key varchar(255) PRIMARY KEY,
      points integer NOT NULL DEFAULT 0,
      expire bigint
    )`,
  ];
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS rate_limits`.execute(db);
  await sql`ALTER TABLE tenants DROP COLUMN IF EXISTS max_concurrent_jobs`.execute(db);
  await sql`ALTER TABLE uploads DROP COLUMN IF EXISTS method, DROP COLUMN IF EXISTS multipart_id, DROP COLUMN IF EXISTS part_size_bytes`.execute(
    db,
  );
  await sql`ALTER TABLE jobs DROP COLUMN IF EXISTS metadata, DROP COLUMN IF EXISTS request_hash, DROP COLUMN IF EXISTS retry_base`.execute(
    db,
  );
}
