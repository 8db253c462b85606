import { sql, type Kysely } from 'kysely';

// Frozen in time: imports no application code, so later refactors cannot change history.
/* eslint-disable @typescript-eslint/no-explicit-any */
export async function up(db: Kysely<any>): Promise<void> {
  // Issue 18: notifiers keep a job's head for a moment to admit its subscribers without a
  // query each, and must hear when a job is gone. A trigger rather than the DELETE's own
  // statement, so every way a job row goes (the API, retention, a tenant's removal by
  // cascade) is announced. Postgres sends it when the deleting transaction commits.
  await sql`
    CREATE FUNCTION notify_job_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('job_deleted', OLD.tenant_id::text || '/' || OLD.id::text);
      RETURN OLD;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER jobs_deleted_notify AFTER DELETE ON jobs
    FOR EACH ROW EXECUTE FUNCTION notify_job_deleted()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER IF EXISTS jobs_deleted_notify ON jobs`.execute(db);
  await sql`DROP FUNCTION IF EXISTS notify_job_deleted()`.execute(db);
}
