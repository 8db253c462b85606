import { sql } from 'kysely';
import { JobEvent } from '@transcribe/contracts';
import type { Db } from './connection.js';

/** A position in a tenant's event stream: (writing transaction, event id), see 0004_webhooks. */
export interface TenantCursor {
  tx: string;
  id: number;
}

export interface TenantEventsPage {
  events: { cursor: TenantCursor; event: JobEvent }[];
  /**
   * True when events exist past the last one returned whose writing transaction is newer
   * than a transaction still running: their place in the order is not final yet, so they
   * are held back. Read again shortly.
   */
  pending: boolean;
}

/** The position just before every event whose place in the order is not final yet ("now"). */
export async function currentTenantCursor(db: Db): Promise<TenantCursor> {
  const { rows } = await sql<{
    tx: string;
  }>`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS tx`.execute(db);
  return { tx: rows[0]!.tx, id: 0 };
}

/**
 * A tenant's events after `after` in their global order, only up to the first one whose
 * transaction started after a still-running one (a smaller id could still commit before it).
 */
export async function listTenantEvents(
  db: Db,
  tenantId: string,
  after: TenantCursor,
  limit = 500,
): Promise<TenantEventsPage> {
  const { rows } = await sql<{ tx: string; id: number; payload: unknown; settled: boolean }>`
    SELECT e.tx::text AS tx, e.id, e.payload,
           e.tx < pg_snapshot_xmin(pg_current_snapshot()) AS settled
      FROM job_events e JOIN jobs j ON j.id = e.job_id
     WHERE j.tenant_id = ${tenantId}
       AND (e.tx, e.id) > (${after.tx}::xid8, ${after.id}::bigint)
     ORDER BY e.tx, e.id
     LIMIT ${limit}`.execute(db);
  const events: TenantEventsPage['events'] = [];
  for (const row of rows) {
    if (!row.settled) return { events, pending: true };
    events.push({ cursor: { tx: row.tx, id: Number(row.id) }, event: JobEvent.parse(row.payload) });
  }
  return { events, pending: false };
}

/**
 * The furthest position of any of the tenant's events deleted so far (by retention or a job
 * deletion), kept by a trigger on job_events; undefined when none was. A stream resuming
 * from before it has missed events that no longer exist.
 */
export async function findTenantEventHorizon(
  db: Db,
  tenantId: string,
): Promise<TenantCursor | undefined> {
  const { rows } = await sql<{ tx: string; id: string }>`
    SELECT tx::text AS tx, id::text AS id FROM tenant_event_horizons
     WHERE tenant_id = ${tenantId}`.execute(db);
  const row = rows[0];
  return row ? { tx: row.tx, id: Number(row.id) } : undefined;
}
