import { sql, type Kysely } from 'kysely';

// Frozen in time: imports no application code, so later refactors cannot change history.
/* eslint-disable @typescript-eslint/no-explicit-any */
export async function up(db: Kysely<any>): Promise<void> {
  const statements = [
    // Per tenant, the furthest position (in the tenant stream's (tx, id) order) of any event
    // deleted so far. A resume cursor before it has lost events: the notifier says so
    // instead of leaving a silent gap. No foreign key: a tenant's own deletion cascades
    // into job_events, and this trigger must not fail it.
    sql`CREATE TABLE tenant_event_horizons (
      tenant_id uuid PRIMARY KEY,
      tx xid8 NOT NULL,
      id bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
    // A trigger, not application code, so every way events go — retention sweeps, DELETE
    // /v1/jobs/:id, a cascade, an operator's DELETE — moves the horizon in the same
    // transaction. Statement-level with a transition table: one upsert per statement.
    sql`CREATE FUNCTION record_tenant_event_horizon() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO tenant_event_horizons AS h (tenant_id, tx, id)
      SELECT DISTINCT ON (tenant_id) tenant_id, tx, id
        FROM (SELECT (payload->>'tenantId')::uuid AS tenant_id, tx, id FROM gone) d
       WHERE tenant_id IS NOT NULL
       ORDER BY tenant_id, tx DESC, id DESC
      ON CONFLICT (tenant_id) DO UPDATE SET tx = EXCLUDED.tx, id = EXCLUDED.id, updated_at = now()
       WHERE (h.tx, h.id) < (EXCLUDED.tx, EXCLUDED.id);
      RETURN NULL;
    END $$`,
    sql`CREATE TRIGGER job_events_horizon AFTER DELETE ON job_events
      REFERENCING OLD TABLE AS gone
      FOR EACH STATEMENT EXECUTE FUNCTION record_tenant_event_horizon()`,
  ];
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER IF EXISTS job_events_horizon ON job_events`.execute(db);
  await sql`DROP FUNCTION IF EXISTS record_tenant_event_horizon()`.execute(db);
  await sql`DROP TABLE IF EXISTS tenant_event_horizons`.execute(db);
}
