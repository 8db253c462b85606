import { sql, type Kysely } from 'kysely';

// Frozen in time: imports no application code, so later refactors cannot change history.
/* eslint-disable @typescript-eslint/no-explicit-any */
export async function up(db: Kysely<any>): Promise<void> {
  const statements = [
    // Attempts that ended without a verdict on the audio (graceful hand-over, a worker
    // whose lease ran out): they still take an attempt number, which fences off the old
    // holder's writes, but are not charged to MAX_ATTEMPTS.
    sql`ALTER TABLE jobs ADD COLUMN lost_attempts integer NOT NULL DEFAULT 0`,
    // One running transcription per chunk: a chunk message is served only by the worker
    // that holds the chunk's lease (a random token), or once that lease has run out.
    sql`ALTER TABLE job_chunks ADD COLUMN holder text, ADD COLUMN lease_expires_at timestamptz`,
    // Seconds of decoded audio a tenant may start per UTC day; null: the deployment's default.
    sql`ALTER TABLE tenants ADD COLUMN max_audio_s_per_day integer CHECK (max_audio_s_per_day >= 0)`,
    // The daily audio quota sums a tenant's admitted jobs by the time they started.
    sql`CREATE INDEX jobs_tenant_started ON jobs (tenant_id, started_at) WHERE duration_s IS NOT NULL`,
  ];
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS jobs_tenant_started`.execute(db);
  await sql`ALTER TABLE tenants DROP COLUMN IF EXISTS max_audio_s_per_day`.execute(db);
  await sql`ALTER TABLE job_chunks DROP COLUMN IF EXISTS holder, DROP COLUMN IF EXISTS lease_expires_at`.execute(
    db,
  );
  await sql`ALTER TABLE jobs DROP COLUMN IF EXISTS lost_attempts`.execute(db);
}
