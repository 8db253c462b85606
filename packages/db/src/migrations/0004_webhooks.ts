import { sql, type Kysely } from 'kysely';

// Frozen in time: imports no application code, so later refactors cannot change history.
/* eslint-disable @typescript-eslint/no-explicit-any */
export async function up(db: Kysely<any>): Promise<void> {
  const statements = [
    // A global order for tenant-wide streams. Ids from a sequence are handed out before
    // commit, so a later-committing transaction can land a smaller id behind a reader's
    // cursor; ordering by (writing transaction, id) and reading only transactions older
    // than every running one (pg_snapshot_xmin) gives an order nothing can be inserted into.
    // The defaults mean producers write these columns without knowing they exist.
    sql`ALTER TABLE job_events ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id()`,
    sql`ALTER TABLE job_events ADD COLUMN id bigserial NOT NULL`,
    sql`CREATE UNIQUE INDEX job_events_id ON job_events (id)`,
    sql`CREATE INDEX job_events_tx_id ON job_events (tx, id)`,
    sql`CREATE TABLE tenant_webhooks (
      tenant_id uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
      url text,
      secret text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
    sql`CREATE TABLE webhook_deliveries (
      id uuid PRIMARY KEY,
      job_id uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      event text NOT NULL,
      url text NOT NULL,
      payload jsonb NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
      attempts integer NOT NULL DEFAULT 0,
      attempts_left integer NOT NULL,
      max_attempts integer NOT NULL,
      next_attempt_at timestamptz,
      last_status_code integer,
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (job_id, event)
    )`,
    sql`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`,
    sql`CREATE INDEX webhook_deliveries_job ON webhook_deliveries (job_id, created_at)`,
    sql`CREATE TABLE webhook_delivery_attempts (
      id bigserial PRIMARY KEY,
      delivery_id uuid NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
      attempt integer NOT NULL,
      url text NOT NULL,
      status_code integer,
      error text,
      duration_ms integer NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (delivery_id, attempt)
    )`,
  ];
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS webhook_delivery_attempts`.execute(db);
  await sql`DROP TABLE IF EXISTS webhook_deliveries`.execute(db);
  await sql`DROP TABLE IF EXISTS tenant_webhooks`.execute(db);
  await sql`ALTER TABLE job_events DROP COLUMN IF EXISTS id, DROP COLUMN IF EXISTS tx`.execute(db);
}
