import { sql } from 'kysely';
import type { Db } from './connection.js';

/** The broker lanes: `jobs` is transcribe.jobs (whole jobs and their chunks), `enrich` transcribe.enrich. */
export type QueueLane = 'jobs' | 'enrich';

export interface LaneBacklog {
  lane: QueueLane;
  /** Work waiting for a worker, a retry's backoff included. */
  depth: number;
  /** Seconds since the oldest work a worker could take now became takeable; 0 when none. */
  oldestAgeS: number;
}

// Postgres is the source of truth for both lanes (the outbox makes the broker's queues
// follow it), and its clock is the only one: ages are computed there, not here.
//
// jobs lane: queued jobs, plus fanned-out chunks of processing jobs whose message this
// attempt published and nobody holds (a held chunk under a live lease is being worked on).
// A chunk has no time of its own for when it was dispatched: its attempt's claim is the
// earliest it can have been, so its age is never overstated by more than the split.
// Jobs and chunks in a backoff (`not_before` ahead) count in the depth but not in the age:
// no worker may take them yet, and a long backoff must not look like a stuck queue.
const JOBS_LANE = sql<{ depth: string; oldest_age_s: number | null }>`
  WITH pending_chunks AS (
    SELECT greatest(j.started_at, c.not_before) AS ready_at
      FROM job_chunks c JOIN jobs j ON j.id = c.job_id
     WHERE c.dispatched_attempt IS NOT NULL AND c.finished_at IS NULL
       AND j.status = 'processing' AND c.dispatched_attempt = j.attempts
       AND (c.holder IS NULL OR c.lease_expires_at IS NULL OR c.lease_expires_at < now())
  ), waiting AS (
    SELECT greatest(queued_at, not_before) AS ready_at FROM jobs WHERE status = 'queued'
    UNION ALL
    SELECT ready_at FROM pending_chunks
  )
  SELECT count(*) AS depth,
         extract(epoch FROM now() - min(ready_at) FILTER (WHERE ready_at <= now()))::float8
           AS oldest_age_s
    FROM waiting`;

// enrich lane: queued enrichments of completed jobs (one of a job still transcribing waits
// for its transcript, not for a worker). It entered the lane when the transcript was done,
// when it was asked for, or when a worker last put it back, whichever came last.
const ENRICH_LANE = sql<{ depth: string; oldest_age_s: number | null }>`
  SELECT count(*) AS depth,
         extract(epoch FROM now() - min(greatest(e.updated_at, j.finished_at)))::float8
           AS oldest_age_s
    FROM enrichments e JOIN jobs j ON j.id = e.job_id
   WHERE e.status = 'queued' AND j.status = 'completed'`;

/** Depth and oldest age of each lane (all tenants): the gateway's queue gauges. */
export async function readLaneBacklogs(db: Db): Promise<LaneBacklog[]> {
  const [jobs, enrich] = await Promise.all([JOBS_LANE.execute(db), ENRICH_LANE.execute(db)]);
  const toBacklog = (
    lane: QueueLane,
    row: { depth: string; oldest_age_s: number | null } | undefined,
  ): LaneBacklog => ({
    lane,
    depth: Number(row?.depth ?? 0),
    // Never negative: a row written a moment "after" now() in the same clock tick.
    oldestAgeS: Math.max(0, row?.oldest_age_s ?? 0),
  });
  return [toBacklog('jobs', jobs.rows[0]), toBacklog('enrich', enrich.rows[0])];
}
