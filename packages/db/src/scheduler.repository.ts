// The fair scheduler's reads (issue 17): which tenant's work a free worker takes next.
// Work comes in groups, one per (priority, tenant, kind): a tenant's queued jobs of a
// priority, or the dispatched chunks of its processing jobs of that priority. The
// groups are ranked by one query; the caller then locks the first unit of the best group
// with SKIP LOCKED (another worker's claim in flight is passed over, not waited for).
import { sql } from 'kysely';
import type { Priority } from '@transcribe/contracts';
import type { Db } from './connection.js';

export type WorkKind = 'job' | 'chunk';

export interface WorkGroup {
  kind: WorkKind;
  priority: Priority;
  tenantId: string;
  /** False when the group's units exist but none may start now (cap, not_before, live chunk leases). */
  claimable: boolean;
}

/**
 * Every group of work in fair order: highest priority first, then the tenant with the
 * fewest running units per weight (a processing job that is not fanned out is one unit,
 * a fanned-out job counts its live chunk leases), then the tenant served longest ago
 * (round-robin), then a tenant's chunks before its queued jobs (finish what started).
 *
 * Index-backed: the (priority, tenant) pairs with queued jobs come from a skip scan of
 * jobs_queued_fair (one probe per pair, however many jobs each has), processing jobs from
 * jobs_status_lease and their pending chunks from job_chunks_dispatched.
 */
export async function rankWorkGroups(
  db: Db,
  options: {
    /** A tenant's cap on processing jobs unless its own is set; undefined: none. */
    defaultMaxConcurrent?: number;
    chunks: boolean;
  },
): Promise<WorkGroup[]> {
  const { rows } = await sql<{
    kind: WorkKind;
    priority: Priority;
    tenant_id: string;
    claimable: boolean;
  }>`
    WITH RECURSIVE pairs AS (
      (SELECT priority, tenant_id FROM jobs WHERE status = 'queued'
        ORDER BY priority, tenant_id LIMIT 1)
      UNION ALL
      SELECT n.priority, n.tenant_id FROM pairs p CROSS JOIN LATERAL (
        SELECT priority, tenant_id FROM jobs
        WHERE status = 'queued' AND (priority, tenant_id) > (p.priority, p.tenant_id)
        ORDER BY priority, tenant_id LIMIT 1) n
    ),
    job_groups AS (
      SELECT 'job'::text AS kind, p.priority, p.tenant_id,
        EXISTS (SELECT 1 FROM jobs q
          WHERE q.status = 'queued' AND q.priority = p.priority AND q.tenant_id = p.tenant_id
            AND (q.not_before IS NULL OR q.not_before <= now())) AS ready
      FROM pairs p
    ),
    chunk_groups AS (
      SELECT 'chunk'::text AS kind, j.priority, j.tenant_id,
        bool_or((c.lease_expires_at IS NULL OR c.lease_expires_at < now())
          AND (c.not_before IS NULL OR c.not_before <= now())) AS ready
      FROM jobs j
      JOIN job_chunks c ON c.job_id = j.id AND c.dispatched_attempt = j.attempts
        AND c.finished_at IS NULL
      WHERE j.status = 'processing' AND ${options.chunks}
      GROUP BY j.priority, j.tenant_id
    ),
    running AS (
      SELECT j.tenant_id, count(*) AS jobs,
        sum(CASE WHEN d.dispatched = 0 THEN 1 ELSE d.leased END) AS units
      FROM jobs j CROSS JOIN LATERAL (
        SELECT count(*) AS dispatched,
          count(*) FILTER (WHERE c.lease_expires_at >= now()) AS leased
        FROM job_chunks c
        WHERE c.job_id = j.id AND c.dispatched_attempt = j.attempts AND c.finished_at IS NULL
      ) d
      WHERE j.status = 'processing'
      GROUP BY j.tenant_id
    )
    SELECT g.kind, g.priority, g.tenant_id,
      g.ready AND (g.kind = 'chunk'
        OR coalesce(t.max_concurrent_jobs, ${options.defaultMaxConcurrent ?? null}::int) IS NULL
        OR coalesce(r.jobs, 0) < coalesce(t.max_concurrent_jobs, ${options.defaultMaxConcurrent ?? null}::int)
      ) AS claimable
    FROM (SELECT * FROM job_groups UNION ALL SELECT * FROM chunk_groups) g
    JOIN tenants t ON t.id = g.tenant_id
    LEFT JOIN running r ON r.tenant_id = g.tenant_id
    ORDER BY CASE g.priority WHEN 'critical' THEN 3 WHEN 'high' THEN 2 WHEN 'default' THEN 1 ELSE 0 END DESC,
      coalesce(r.units, 0) / t.weight,
      t.last_served_at NULLS FIRST,
      g.tenant_id,
      g.kind = 'chunk' DESC
  `.execute(db);
  return rows.map((r) => ({
    kind: r.kind,
    priority: r.priority,
    tenantId: r.tenant_id,
    claimable: r.claimable,
  }));
}

/** How long a claim waits for a queued row another transaction holds (see below). */
const QUEUED_ROW_LOCK_WAIT_MS = 2000;

/**
 * The oldest queued job of the group that may start now, locked for the caller's
 * transaction, which holds the tenant's claim lock (lockTenantSlots). Job claims of one
 * tenant are serialised by that lock, so a queued row that is locked now is held by
 * something short that is not a claim: a queue-position announcement, the reaper's
 * republish, a cancel. SKIP LOCKED passed such a row over, and with it the tenant: a
 * small tenant's only job, locked for a few milliseconds while its position went out,
 * lost its turn to a flood's next job. So the claim waits for the row, within a bound (a
 * savepoint keeps a timeout from failing the transaction; undefined then, as for a group
 * that yields nothing). Once the holder commits, the row is checked again: one that was
 * cancelled meanwhile is passed over for the next.
 */
export async function lockNextQueuedJob(
  trx: Db,
  group: { tenantId: string; priority: Priority },
): Promise<string | undefined> {
  await sql`SAVEPOINT next_queued_job`.execute(trx);
  // Transaction-local, and put back afterwards: what the connection had stays in force.
  const { rows: before } = await sql<{ previous: string }>`
    SELECT current_setting('lock_timeout') AS previous,
      set_config('lock_timeout', ${`${QUEUED_ROW_LOCK_WAIT_MS}ms`}, true)`.execute(trx);
  let row: { id: string } | undefined;
  try {
    row = await trx
      .selectFrom('jobs')
      .select('id')
      .where('status', '=', 'queued')
      .where('priority', '=', group.priority)
      .where('tenant_id', '=', group.tenantId)
      .where((eb) =>
        eb.or([eb('not_before', 'is', null), eb('not_before', '<=', sql<Date>`now()`)]),
      )
      .orderBy('queued_at')
      .orderBy('id')
      .limit(1)
      .forUpdate()
      .executeTakeFirst();
  } catch (error) {
    if ((error as { code?: string }).code !== '55P03') throw error; // lock_not_available
    await sql`ROLLBACK TO SAVEPOINT next_queued_job`.execute(trx);
    return undefined;
  }
  await sql`SELECT set_config('lock_timeout', ${before[0]!.previous}, true)`.execute(trx);
  await sql`RELEASE SAVEPOINT next_queued_job`.execute(trx);
  return row?.id;
}

/**
 * The group's next free dispatched chunk (its job's attempt dispatched it, no live lease,
 * not held back), earliest-started job first, locked for the caller's transaction.
 */
export async function lockNextChunk(
  trx: Db,
  group: { tenantId: string; priority: Priority },
): Promise<{ jobId: string; index: number; attempt: number } | undefined> {
  const { rows } = await sql<{ job_id: string; index: number; attempts: number }>`
    SELECT c.job_id, c.index, j.attempts FROM job_chunks c
    JOIN jobs j ON j.id = c.job_id
    WHERE j.status = 'processing' AND j.tenant_id = ${group.tenantId}
      AND j.priority = ${group.priority}
      AND c.dispatched_attempt = j.attempts AND c.finished_at IS NULL
      AND (c.lease_expires_at IS NULL OR c.lease_expires_at < now())
      AND (c.not_before IS NULL OR c.not_before <= now())
    ORDER BY j.started_at, c.job_id, c.index
    LIMIT 1
    FOR UPDATE OF c SKIP LOCKED
  `.execute(trx);
  const row = rows[0];
  return row && { jobId: row.job_id, index: row.index, attempt: row.attempts };
}

/** The round-robin mark: this tenant just had a unit of work started. */
export async function markTenantServed(trx: Db, tenantId: string): Promise<void> {
  await trx
    .updateTable('tenants')
    .set({ last_served_at: sql`now()` })
    .where('id', '=', tenantId)
    .execute();
}
