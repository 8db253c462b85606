// Issue 16: the rows behind a job's progress (audio seconds over all its chunks, the ETA,
// the pacing of its events, the stall bound) and a queued job's place. One query each;
// the rules that combine them live in packages/jobs (progress.ts, queue-position.ts).
import { sql } from 'kysely';
import type { Db } from './connection.js';
import type { JobRow } from './schema.js';

/** The job row locked for a progress write, with the database's clock (shared by all workers). */
export async function lockJobForProgress(
  trx: Db,
  id: string,
): Promise<(JobRow & { db_now: Date }) | undefined> {
  return trx
    .selectFrom('jobs')
    .selectAll()
    .select(sql<Date>`now()`.as('db_now'))
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

/** A chunk's own progress (seconds decoded so far); never goes back, and not once it is stored. */
export async function setChunkDone(
  db: Db,
  input: { jobId: string; index: number; doneS: number },
): Promise<void> {
  await db
    .updateTable('job_chunks')
    .set({
      done_s: sql`greatest(done_s, least(${input.doneS}::real, end_s - start_s))`,
      started_at: sql`coalesce(started_at, now())`,
    })
    .where('job_id', '=', input.jobId)
    .where('index', '=', input.index)
    .where('finished_at', 'is', null)
    .execute();
}

/** A chunk's progress as the ETA needs it. */
export interface ChunkProgressRow {
  lengthS: number;
  /** Seconds decoded so far (the whole chunk once stored). */
  doneS: number;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** Each chunk's progress, in order: one query. */
export async function listChunkProgress(db: Db, jobId: string): Promise<ChunkProgressRow[]> {
  const rows = await db
    .selectFrom('job_chunks')
    .select(['start_s', 'end_s', 'done_s', 'started_at', 'finished_at'])
    .where('job_id', '=', jobId)
    .orderBy('index')
    .execute();
  return rows.map((r) => {
    const lengthS = r.end_s - r.start_s;
    return {
      lengthS,
      doneS: r.finished_at ? lengthS : Math.min(r.done_s, lengthS),
      startedAt: r.started_at,
      finishedAt: r.finished_at,
    };
  });
}

/** A new attempt's progress starts from its own figure: chunks not stored start again. */
export async function resetChunkProgress(db: Db, jobId: string): Promise<void> {
  await db
    .updateTable('job_chunks')
    .set({ done_s: 0, started_at: null })
    .where('job_id', '=', jobId)
    .where('finished_at', 'is', null)
    .execute();
}

export interface ProgressRowUpdate {
  progress: number;
  stage: string;
  audioDoneS: number;
  audioTotalS: number | null;
  etaS: number | null;
  transcribingStartedAt: Date | null;
  transcribingBaseS: number;
  movedAt: Date;
  eventAt: Date | null;
}

/**
 * One progress write of the holder of `attempt` (the row is locked by the caller):
 * figures never go back within the attempt (GREATEST), the lease only extends.
 */
export async function writeJobProgress(
  db: Db,
  input: { id: string; attempt: number; leaseMs: number } & ProgressRowUpdate,
): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({
      progress: sql`greatest(progress, ${input.progress})`,
      stage: input.stage,
      audio_done_s: sql`greatest(audio_done_s, ${input.audioDoneS})`,
      audio_total_s: input.audioTotalS,
      eta_s: input.etaS,
      transcribing_started_at: input.transcribingStartedAt,
      transcribing_base_s: input.transcribingBaseS,
      progress_moved_at: input.movedAt,
      progress_event_at: input.eventAt,
      lease_expires_at: sql`greatest(lease_expires_at, now() + ${`${input.leaseMs} milliseconds`}::interval)`,
      updated_at: sql`now()`,
    })
    .where('id', '=', input.id)
    .where('status', '=', 'processing')
    .where('attempts', '=', input.attempt)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Processing jobs whose progress has not moved for `stallAfterS` (the stalled gauge). */
export async function countStalledJobs(db: Db, stallAfterS: number): Promise<number> {
  const row = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('status', '=', 'processing')
    .where('progress_moved_at', '<', sql<Date>`now() - ${`${stallAfterS} seconds`}::interval`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

// --- Queue position ---------------------------------------------------------------------
// Where a queued job stands in the fair scheduler's order (issue 17, scheduler.repository.ts):
// higher priorities first, then rounds between the tenants with work at the job's
// priority. A job at rank r (0-based) in its tenant's line of that priority waits for
// the queued jobs of higher priorities, and for min(n, r) jobs of each tenant with n
// queued at its priority (its own r included): each round serves every tenant once.
// Within a round, tenants go in rotation order (served longest ago first). Approximate:
// weights and running loads are not counted.
// Cost: one pass over the queued jobs plus one row per (priority, rank, tenant) pair.
const RANKED_QUEUED = sql`
  WITH q AS (
    SELECT id, tenant_id, not_before,
           CASE priority WHEN 'critical' THEN 3 WHEN 'high' THEN 2
                         WHEN 'default' THEN 1 ELSE 0 END AS prio,
           (row_number() OVER (PARTITION BY priority, tenant_id ORDER BY queued_at, id) - 1)::int AS r
      FROM jobs WHERE status = 'queued'),
  counts AS (SELECT prio, tenant_id, count(*)::int AS n FROM q GROUP BY prio, tenant_id),
  higher AS (
    SELECT p.prio, coalesce((SELECT sum(c.n) FROM counts c WHERE c.prio > p.prio), 0)::int AS n
      FROM (SELECT DISTINCT prio FROM counts) p),
  rounds AS (SELECT DISTINCT prio, r FROM q),
  ahead AS (
    SELECT d.prio, d.r, sum(least(c.n, d.r))::int AS n
      FROM rounds d JOIN counts c ON c.prio = d.prio GROUP BY d.prio, d.r)
  SELECT q.id, q.not_before, (h.n + a.n + row_number() OVER (
           PARTITION BY q.prio, q.r ORDER BY t.last_served_at NULLS FIRST, q.tenant_id) - 1)::int
           AS position
    FROM q JOIN higher h ON h.prio = q.prio JOIN ahead a ON a.prio = q.prio AND a.r = q.r
    JOIN tenants t ON t.id = q.tenant_id`;

/** How busy the pool is: jobs ended within `windowS`, and jobs processing now. */
export interface QueueThroughput {
  finishedInWindow: number;
  windowS: number;
  processing: number;
  now: Date;
}

/**
 * The place of each of `ids` that is queued (others are absent), and the pool's recent
 * throughput, in one query.
 */
export async function listQueuePlaces(
  db: Db,
  ids: readonly string[],
  windowS: number,
): Promise<{
  positions: Map<string, number>;
  /** A retry's backoff end, for those of `ids` waiting on one: none starts before it. */
  notBefore: Map<string, Date>;
  throughput: QueueThroughput;
}> {
  const rows = await sql<{
    id: string | null;
    position: number | null;
    not_before: Date | null;
    finished: string;
    processing: string;
    now: Date;
  }>`
    WITH ranked AS (${RANKED_QUEUED}),
    pool AS (
      SELECT (SELECT count(*) FROM jobs WHERE status IN ('completed', 'failed')
                 AND finished_at > now() - ${`${windowS} seconds`}::interval) AS finished,
             (SELECT count(*) FROM jobs WHERE status = 'processing') AS processing,
             now() AS now)
    SELECT ranked.id, ranked.position, ranked.not_before, pool.finished, pool.processing, pool.now
      FROM pool LEFT JOIN ranked ON ranked.id = ANY(${sql.val([...ids])}::uuid[])`.execute(db);
  const positions = new Map<string, number>();
  const notBefore = new Map<string, Date>();
  for (const r of rows.rows) {
    if (r.id !== null && r.position !== null) positions.set(r.id, r.position);
    if (r.id !== null && r.not_before) notBefore.set(r.id, r.not_before);
  }
  const first = rows.rows[0];
  return {
    positions,
    notBefore,
    throughput: {
      finishedInWindow: Number(first?.finished ?? 0),
      processing: Number(first?.processing ?? 0),
      windowS,
      now: first?.now ?? new Date(),
    },
  };
}

/**
 * Queued jobs whose position changed since it was last announced, at most one
 * announcement per job per `minGapS`: their new position is recorded and returned, locked
 * (SKIP LOCKED, so every worker's reaper may run this at once) for the caller's events.
 */
export async function takeChangedPositions(
  trx: Db,
  input: { minGapS: number; limit: number },
): Promise<{ id: string; tenant_id: string; position: number; not_before: Date | null }[]> {
  const rows = await sql<{
    id: string;
    tenant_id: string;
    position: number;
    not_before: Date | null;
  }>`
    WITH ranked AS (${RANKED_QUEUED}),
    due AS (
      SELECT j.id, r.position FROM jobs j JOIN ranked r ON r.id = j.id
       WHERE j.status = 'queued'
         AND j.queue_position IS DISTINCT FROM r.position
         AND (j.position_event_at IS NULL
              OR j.position_event_at < now() - ${`${input.minGapS} seconds`}::interval)
       ORDER BY r.position LIMIT ${input.limit}
       FOR UPDATE OF j SKIP LOCKED)
    UPDATE jobs SET queue_position = due.position, position_event_at = now()
      FROM due WHERE jobs.id = due.id
    RETURNING jobs.id, jobs.tenant_id, due.position, jobs.not_before`.execute(trx);
  return rows.rows;
}
