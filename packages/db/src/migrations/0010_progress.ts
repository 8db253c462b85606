import { sql, type Kysely } from 'kysely';

// Frozen in time: imports no application code, so later refactors cannot change history.
/* eslint-disable @typescript-eslint/no-explicit-any */
export async function up(db: Kysely<any>): Promise<void> {
  const statements = [
    // Issue 16: each chunk's own progress (audio seconds decoded so far, by whichever
    // worker runs it); the job's figure is the sum over its chunks.
    sql`ALTER TABLE job_chunks ADD COLUMN done_s real NOT NULL DEFAULT 0, ADD COLUMN started_at timestamptz`,
    sql`ALTER TABLE jobs
      ADD COLUMN audio_done_s real NOT NULL DEFAULT 0,
      ADD COLUMN audio_total_s real,
      ADD COLUMN eta_s real,
      ADD COLUMN transcribing_started_at timestamptz,
      ADD COLUMN transcribing_base_s real NOT NULL DEFAULT 0,
      ADD COLUMN progress_moved_at timestamptz,
      ADD COLUMN progress_event_at timestamptz,
      ADD COLUMN queue_position integer,
      ADD COLUMN position_event_at timestamptz`,
    // The stalled-jobs gauge and the queue position read these.
    sql`CREATE INDEX jobs_processing_moved ON jobs (progress_moved_at) WHERE status = 'processing'`,
    sql`CREATE INDEX jobs_queued_order ON jobs (updated_at, id) WHERE status = 'queued'`,
  ];
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS jobs_queued_order`.execute(db);
  await sql`DROP INDEX IF EXISTS jobs_processing_moved`.execute(db);
  await sql`ALTER TABLE jobs
    DROP COLUMN IF EXISTS audio_done_s, DROP COLUMN IF EXISTS audio_total_s,
    DROP COLUMN IF EXISTS eta_s, DROP COLUMN IF EXISTS transcribing_started_at,
    DROP COLUMN IF EXISTS transcribing_base_s, DROP COLUMN IF EXISTS progress_moved_at,
    DROP COLUMN IF EXISTS progress_event_at, DROP COLUMN IF EXISTS queue_position,
    DROP COLUMN IF EXISTS position_event_at`.execute(db);
  await sql`ALTER TABLE job_chunks DROP COLUMN IF EXISTS done_s, DROP COLUMN IF EXISTS started_at`.execute(
    db,
  );
}
