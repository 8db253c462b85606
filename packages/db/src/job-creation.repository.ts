import { sql } from 'kysely';
import type { Db } from './connection.js';
import type { JobRow, NewJob, OutboxTopic } from './schema.js';

// A new job in one statement (issue 18): the tenant's admission (lock and queued count),
// the upload spent, the job row, its first event, the day's usage and the outbox rows.
// Written as one round trip, the tenant's admission lock is held for the statement's own
// execution instead of for eight round trips through a busy event loop, which serialised
// every creation of a tenant behind them.

export interface QueuedJobInsert {
  /** The job's row; status, stage and last_event_seq are set here. */
  job: Omit<NewJob, 'status' | 'stage' | 'last_event_seq'> & { id: string; tenant_id: string };
  /** The upload spent by the job (pending → used); none spent, no job. */
  uploadId: string;
  /** The deployment's cap on queued jobs per tenant (its own cap wins); 0 is none. */
  deploymentMaxQueued: number;
  /** The job's first event (seq 1), as stored and published. */
  event: { type: string; payload: unknown };
  /** Outbox rows, written in this order. */
  outbox: { topic: OutboxTopic; routingKey: string; payload: unknown; priority: number | null }[];
}

export type QueuedJobOutcome =
  | { kind: 'created'; job: JobRow }
  | { kind: 'over_cap'; queued: number; limit: number }
  | { kind: 'upload_used' };

type Result = JobRow & { decided: boolean; admitted: boolean; queued_now: number; cap: number };

/**
 * Far from the tenant's cap, creations share its admission lock and run side by side;
 * near it, they take it one at a time (see admit_queued_job in migration 0012).
 */
export async function insertQueuedJobAdmitted(
  db: Db,
  input: QueuedJobInsert,
): Promise<QueuedJobOutcome> {
  const shared = await insertAdmitted(db, input, false);
  return shared ?? (await insertAdmitted(db, input, true))!;
}

async function insertAdmitted(
  db: Db,
  input: QueuedJobInsert,
  exclusive: boolean,
): Promise<QueuedJobOutcome | undefined> {
  const record: Record<string, unknown> = { ...input.job, status: 'queued', stage: 'queued' };
  // metadata is JSON text for the query builder; here it goes in as the JSON it holds.
  if (typeof record.metadata === 'string') record.metadata = JSON.parse(record.metadata);
  const columns = Object.keys(record).filter((k) => record[k] !== undefined);
  const ids = sql.join(columns.map((c) => sql.id(c)));
  const fields = sql.join(columns.map((c) => sql.ref(`r.${c}`)));
  const outbox = input.outbox.map((o) => ({
    topic: o.topic,
    routing_key: o.routingKey,
    payload: o.payload,
    priority: o.priority,
  }));
  const { rows } = await sql<Result>`
    WITH admitted AS MATERIALIZED (
      SELECT a.queued, a.cap, a.decided, a.decided AND (a.cap = 0 OR a.queued < a.cap) AS ok
      FROM admit_queued_job(
        ${input.job.tenant_id}::uuid, ${input.deploymentMaxQueued}::int, ${exclusive}::boolean
      ) AS a
    ), spent AS (
      UPDATE uploads SET status = 'used'
      WHERE id = ${input.uploadId}::uuid AND status = 'pending' AND (SELECT ok FROM admitted)
      RETURNING id
    ), job AS (
      INSERT INTO jobs (${ids}, last_event_seq)
      SELECT ${fields}, 1
      FROM json_populate_record(NULL::jobs, ${JSON.stringify(record)}::json) AS r
      WHERE EXISTS (SELECT 1 FROM spent)
      RETURNING *
    ), event AS (
      INSERT INTO job_events (job_id, seq, type, payload)
      SELECT id, 1, ${input.event.type}, ${JSON.stringify(input.event.payload)}::jsonb FROM job
    ), usage AS (
      INSERT INTO tenant_usage_days (tenant_id, day, jobs_submitted)
      SELECT tenant_id, (now() AT TIME ZONE 'UTC')::date, 1 FROM job
      ON CONFLICT (tenant_id, day)
      DO UPDATE SET jobs_submitted = tenant_usage_days.jobs_submitted + 1
    ), messages AS (
      INSERT INTO outbox (topic, routing_key, payload, priority)
      SELECT o.topic, o.routing_key, o.payload, o.priority
      FROM json_populate_recordset(NULL::outbox, ${JSON.stringify(outbox)}::json)
        WITH ORDINALITY AS o
      WHERE EXISTS (SELECT 1 FROM job)
      ORDER BY o.ordinality
    )
    SELECT job.*, admitted.decided, admitted.ok AS admitted, admitted.queued AS queued_now,
      admitted.cap
    FROM admitted LEFT JOIN job ON true`.execute(db);
  const row = rows[0]!;
  if (!row.decided) return undefined;
  if (!row.admitted) return { kind: 'over_cap', queued: Number(row.queued_now), limit: row.cap };
  if (!row.id) return { kind: 'upload_used' };
  const { decided: _d, admitted: _a, queued_now: _q, cap: _c, ...job } = row;
  return { kind: 'created', job: job as JobRow };
}
