import { sql, type Kysely } from 'kysely';

// Frozen in time: imports no application code, so later refactors cannot change history.
/* eslint-disable @typescript-eslint/no-explicit-any */
export async function up(db: Kysely<any>): Promise<void> {
  // Word timings beside the segments, in the same absolute time: per chunk as each lands,
  // and the stitched list on the finished job. Null on rows from before (read as none).
  await sql`ALTER TABLE job_chunks ADD COLUMN words jsonb`.execute(db);
  await sql`ALTER TABLE jobs ADD COLUMN words jsonb`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE jobs DROP COLUMN IF EXISTS words`.execute(db);
  await sql`ALTER TABLE job_chunks DROP COLUMN IF EXISTS words`.execute(db);
}
