import { sql, type Kysely } from 'kysely';

// Frozen in time: imports no application code, so later refactors cannot change history.
/* eslint-disable @typescript-eslint/no-explicit-any */
export async function up(db: Kysely<any>): Promise<void> {
  const statements = [
    // A job's chunk plan and each chunk's result, stored the moment the chunk is done:
    // readable as a partial transcript while the job runs, and the point a retried job
    // resumes from. Segment times are already absolute (offset by start_s).
    sql`CREATE TABLE job_chunks (
      job_id uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      index integer NOT NULL CHECK (index >= 0),
      start_s double precision NOT NULL CHECK (start_s >= 0),
      end_s double precision NOT NULL,
      text text,
      segments jsonb,
      model text,
      attempt integer,
      processing_ms integer,
      created_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz,
      PRIMARY KEY (job_id, index),
      CHECK (end_s > start_s)
    )`,
    // Retries leave through the outbox like every other message: a per-message TTL for
    // the delay queue, and headers (the reason) for dead-lettered jobs.
    sql`ALTER TABLE outbox ADD COLUMN expiration_ms integer, ADD COLUMN headers jsonb`,
  ];
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE outbox DROP COLUMN IF EXISTS expiration_ms, DROP COLUMN IF EXISTS headers`.execute(
    db,
  );
  await sql`DROP TABLE IF EXISTS job_chunks`.execute(db);
}
