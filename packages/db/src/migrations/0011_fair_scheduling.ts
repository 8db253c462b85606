import { sql, type Kysely } from 'kysely';

// Frozen in time: imports no application code, so later refactors cannot change history.
/* eslint-disable @typescript-eslint/no-explicit-any */
export async function up(db: Kysely<any>): Promise<void> {
  const statements = [
    // Issue 17: each tenant's share of the workers (weighted fair queueing), its cap on
    // queued jobs (null: the deployment's default), and when a worker last took its work
    // (the round-robin tie-break between tenants with the same weighted load).
    sql`ALTER TABLE tenants
      ADD COLUMN weight real NOT NULL DEFAULT 1 CHECK (weight > 0),
      ADD COLUMN max_queued_jobs integer,
      ADD COLUMN last_served_at timestamptz`,
    // When the job last entered the queue (created, retried, handed back): queue wait is
    // measured from here. not_before: a retry's backoff; no worker takes it earlier.
    sql`ALTER TABLE jobs
      ADD COLUMN queued_at timestamptz NOT NULL DEFAULT now(),
      ADD COLUMN not_before timestamptz`,
    sql`UPDATE jobs SET queued_at = updated_at WHERE status = 'queued'`,
    sql`UPDATE jobs SET queued_at = created_at WHERE status <> 'queued'`,
    // A fanned-out chunk is work for the pool only once its message was published by the
    // job's attempt (chunks of a job transcribed in process are not); not_before: a
    // chunk looked at again later.
    sql`ALTER TABLE job_chunks
      ADD COLUMN dispatched_attempt integer,
      ADD COLUMN not_before timestamptz`,
    sql`CREATE INDEX jobs_queued_fair ON jobs (priority, tenant_id, queued_at, id) WHERE status = 'queued'`,
    sql`CREATE INDEX job_chunks_dispatched ON job_chunks (job_id) WHERE dispatched_attempt IS NOT NULL AND finished_at IS NULL`,
    // Usage per tenant and UTC day, counted when jobs are submitted and when they end,
    // so it outlives the retention sweeper's deletion of the jobs themselves.
    sql`CREATE TABLE tenant_usage_days (
      tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      day date NOT NULL,
      jobs_submitted integer NOT NULL DEFAULT 0,
      jobs_completed integer NOT NULL DEFAULT 0,
      jobs_failed integer NOT NULL DEFAULT 0,
      audio_s double precision NOT NULL DEFAULT 0,
      processing_s double precision NOT NULL DEFAULT 0,
      PRIMARY KEY (tenant_id, day)
    )`,
  ];
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS tenant_usage_days`.execute(db);
  await sql`DROP INDEX IF EXISTS job_chunks_dispatched`.execute(db);
  await sql`DROP INDEX IF EXISTS jobs_queued_fair`.execute(db);
  await sql`ALTER TABLE job_chunks DROP COLUMN IF EXISTS dispatched_attempt, DROP COLUMN IF EXISTS not_before`.execute(
    db,
  );
  await sql`ALTER TABLE jobs DROP COLUMN IF EXISTS queued_at, DROP COLUMN IF EXISTS not_before`.execute(
    db,
  );
  await sql`ALTER TABLE tenants DROP COLUMN IF EXISTS weight, DROP COLUMN IF EXISTS max_queued_jobs, DROP COLUMN IF EXISTS last_served_at`.execute(
    db,
  );
}
