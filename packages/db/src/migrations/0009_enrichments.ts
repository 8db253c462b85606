import { sql, type Kysely } from 'kysely';

// Frozen in time: imports no application code, so later refactors cannot change history.
/* eslint-disable @typescript-eslint/no-explicit-any */
export async function up(db: Kysely<any>): Promise<void> {
  // Issue 15: one row per enrichment of a job (clean-up, summary, notes, a translation),
  // unique per job and key so asking twice returns the same task.
  await sql`
    CREATE TABLE enrichments (
      id uuid PRIMARY KEY,
      job_id uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      key text NOT NULL,
      kind text NOT NULL,
      target_language text,
      position integer NOT NULL DEFAULT 0,
      status text NOT NULL DEFAULT 'queued',
      progress real NOT NULL DEFAULT 0,
      pieces_total integer,
      pieces_done integer NOT NULL DEFAULT 0,
      attempts integer NOT NULL DEFAULT 0,
      error_code text,
      error_message text,
      model text,
      prompt_version text,
      prompt_tokens integer NOT NULL DEFAULT 0,
      completion_tokens integer NOT NULL DEFAULT 0,
      text text,
      result jsonb,
      holder text,
      lease_expires_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      finished_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (job_id, key)
    )`.execute(db);
  await sql`CREATE INDEX enrichments_status_idx ON enrichments (status) WHERE status IN ('queued', 'processing')`.execute(
    db,
  );
  // Pieces of a long transcript (map step): stored as they land, so a retry or a second
  // worker resumes where the first stopped. A live lease keeps two workers off one piece.
  await sql`
    CREATE TABLE enrichment_pieces (
      enrichment_id uuid NOT NULL REFERENCES enrichments(id) ON DELETE CASCADE,
      index integer NOT NULL,
      first_segment integer NOT NULL,
      last_segment integer NOT NULL,
      output jsonb,
      model text,
      prompt_tokens integer NOT NULL DEFAULT 0,
      completion_tokens integer NOT NULL DEFAULT 0,
      holder text,
      lease_expires_at timestamptz,
      attempt integer,
      processing_ms integer,
      created_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz,
      PRIMARY KEY (enrichment_id, index)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS enrichment_pieces`.execute(db);
  await sql`DROP TABLE IF EXISTS enrichments`.execute(db);
}
