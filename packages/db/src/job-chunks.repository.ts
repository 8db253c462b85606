import { sql } from 'kysely';
import type { Segment, Word } from '@transcribe/contracts';
import type { Db } from './connection.js';
import type { JobChunkRow } from './schema.js';

/** A chunk of a job as readers see it: `done` once its text is stored. */
export interface JobChunk {
  index: number;
  startS: number;
  endS: number;
  done: boolean;
  /** null until the chunk is done. */
  text: string | null;
  /** Absolute times in the recording; empty until the chunk is done. */
  segments: Segment[];
  /** Absolute times, like the segments; empty when the engine gave none. */
  words: Word[];
  model: string | null;
  /** The language the engine heard in this chunk, when it says. */
  language: string | null;
}

function toChunk(row: JobChunkRow): JobChunk {
  return {
    index: row.index,
    startS: row.start_s,
    endS: row.end_s,
    done: row.finished_at !== null,
    text: row.text,
    segments: row.segments ?? [],
    words: row.words ?? [],
    model: row.model,
    language: row.language,
  };
}

/**
 * The job's chunks in order (the partial transcript while it runs). Empty before the
 * worker has planned them. Does not check the tenant: callers look the job up first.
 */
export async function listJobChunks(db: Db, jobId: string): Promise<JobChunk[]> {
  const rows = await db
    .selectFrom('job_chunks')
    .selectAll()
    .where('job_id', '=', jobId)
    .orderBy('index')
    .execute();
  return rows.map(toChunk);
}

/**
 * Records the chunk plan unless one exists (a retried attempt keeps its predecessor's
 * boundaries, so finished chunks stay valid) and returns the plan in force.
 */
export async function ensureChunkPlan(
  db: Db,
  jobId: string,
  plan: readonly { startS: number; endS: number }[],
): Promise<JobChunk[]> {
  const existing = await listJobChunks(db, jobId);
  if (existing.length > 0 || plan.length === 0) return existing;
  await db
    .insertInto('job_chunks')
    .values(plan.map((c, index) => ({ job_id: jobId, index, start_s: c.startS, end_s: c.endS })))
    .onConflict((oc) => oc.doNothing())
    .execute();
  return listJobChunks(db, jobId);
}

/**
 * Stores a chunk's result, only while the job is processing under `attempt`: a worker
 * that lost the job (taken over, canceled) gets false and must stop.
 */
export async function storeChunkResult(
  db: Db,
  input: {
    jobId: string;
    index: number;
    attempt: number;
    text: string;
    segments: Segment[];
    words?: Word[];
    model: string | null;
    /** The language the engine heard, when it says. */
    language?: string | null;
    processingMs: number;
    /** A fanned-out chunk's lease token: only its holder may store the result. */
    holder?: string;
  },
): Promise<boolean> {
  const result = await db
    .updateTable('job_chunks')
    .set({
      text: input.text,
      segments: JSON.stringify(input.segments),
      words: JSON.stringify(input.words ?? []),
      model: input.model,
      language: input.language ?? null,
      attempt: input.attempt,
      processing_ms: input.processingMs,
      finished_at: sql`now()`,
      lease_expires_at: null,
    })
    .where('job_id', '=', input.jobId)
    .where('index', '=', input.index)
    // A chunk lands once: a second transcription of it (an old holder after a take-over)
    // finds it done and must not overwrite it.
    .where('finished_at', 'is', null)
    .where((eb) =>
      input.holder === undefined ? sql<boolean>`true` : eb('holder', '=', input.holder),
    )
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('jobs')
          .select(sql`1`.as('one'))
          .where('id', '=', input.jobId)
          .where('status', '=', 'processing')
          .where('attempts', '=', input.attempt),
      ),
    )
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** How far a job's chunks have got (seconds of audio done and in all). */
export async function summarizeChunks(
  db: Db,
  jobId: string,
): Promise<{ chunks: number; pending: number; doneS: number; totalS: number }> {
  const row = await db
    .selectFrom('job_chunks')
    .select((eb) => [
      eb.fn.countAll<string>().as('chunks'),
      eb.fn.count<string>('index').filterWhere('finished_at', 'is', null).as('pending'),
      eb.fn.coalesce(eb.fn.sum<number>(sql<number>`end_s - start_s`), sql<number>`0`).as('totalS'),
      eb.fn
        .coalesce(
          eb.fn
            .sum<number>(sql<number>`end_s - start_s`)
            .filterWhere('finished_at', 'is not', null),
          sql<number>`0`,
        )
        .as('doneS'),
    ])
    .where('job_id', '=', jobId)
    .executeTakeFirstOrThrow();
  return {
    chunks: Number(row.chunks),
    pending: Number(row.pending),
    doneS: Number(row.doneS),
    totalS: Number(row.totalS),
  };
}

/**
 * Takes a pending chunk of a job processing under `attempt` for the worker holding
 * `holder`, unless another worker's lease on it is still live: one chunk, one running
 * transcription. 'held' when someone else holds it, 'gone' when there is nothing to do
 * (done, or the job moved on).
 */
export async function claimChunk(
  db: Db,
  input: { jobId: string; index: number; attempt: number; holder: string; leaseMs: number },
): Promise<JobChunk | 'held' | 'gone'> {
  const row = await db
    .updateTable('job_chunks')
    .set({
      holder: input.holder,
      lease_expires_at: sql`now() + ${`${input.leaseMs} milliseconds`}::interval`,
    })
    .where('job_id', '=', input.jobId)
    .where('index', '=', input.index)
    .where('finished_at', 'is', null)
    .where((eb) =>
      eb.or([
        eb('lease_expires_at', 'is', null),
        eb('lease_expires_at', '<', sql<Date>`now()`),
        // A live lease binds whatever attempt took it: after a takeover the earlier
        // attempt's worker is still transcribing until its next heartbeat finds the job
        // gone and releases the chunk, so this attempt waits for that (or for the lease
        // to run out, if that worker died) rather than transcribe the chunk beside it.
      ]),
    )
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('jobs')
          .select(sql`1`.as('one'))
          .where('id', '=', input.jobId)
          .where('status', '=', 'processing')
          .where('attempts', '=', input.attempt),
      ),
    )
    .returningAll()
    .executeTakeFirst();
  if (row) return toChunk(row);
  const current = await db
    .selectFrom('job_chunks')
    .select(['finished_at', 'lease_expires_at'])
    .where('job_id', '=', input.jobId)
    .where('index', '=', input.index)
    .executeTakeFirst();
  // Not claimed although pending: another worker's live lease (or the job moved on, which
  // the caller tells apart by the job row it already read; a re-check there is racy anyway).
  return current && current.finished_at === null ? 'held' : 'gone';
}

/** Extends the chunk lease of `holder`; false when the chunk is done or no longer its own. */
export async function renewChunkLease(
  db: Db,
  input: { jobId: string; index: number; holder: string; leaseMs: number },
): Promise<boolean> {
  const result = await db
    .updateTable('job_chunks')
    .set({ lease_expires_at: sql`now() + ${`${input.leaseMs} milliseconds`}::interval` })
    .where('job_id', '=', input.jobId)
    .where('index', '=', input.index)
    .where('holder', '=', input.holder)
    .where('finished_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Lets go of a chunk lease (a chunk handed back on shutdown or failed), so it may be taken at once. */
export async function releaseChunk(
  db: Db,
  input: { jobId: string; index: number; holder: string },
): Promise<void> {
  await db
    .updateTable('job_chunks')
    .set({ holder: null, lease_expires_at: null })
    .where('job_id', '=', input.jobId)
    .where('index', '=', input.index)
    .where('holder', '=', input.holder)
    .where('finished_at', 'is', null)
    .execute();
}

/**
 * Marks chunks as handed to the worker pool by `attempt` (their messages go out in the
 * same transaction): from then on the fair scheduler may give them to any token. With
 * `notBeforeMs`, no token takes them before then (held by another worker: look later).
 */
export async function markChunksDispatched(
  db: Db,
  input: { jobId: string; indexes: readonly number[]; attempt: number; notBeforeMs?: number },
): Promise<void> {
  if (input.indexes.length === 0) return;
  await db
    .updateTable('job_chunks')
    .set({
      dispatched_attempt: input.attempt,
      not_before: input.notBeforeMs
        ? sql<Date>`now() + ${`${Math.round(input.notBeforeMs)} milliseconds`}::interval`
        : null,
    })
    .where('job_id', '=', input.jobId)
    .where('index', 'in', [...input.indexes])
    .execute();
}
