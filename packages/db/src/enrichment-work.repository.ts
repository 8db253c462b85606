// The worker's queries on enrichments and their pieces (issue 15). Each is one guarded
// statement; the rules (which edge, which event) live in packages/jobs enrichment-work.ts.
// Every write to an enrichment requires it to be `processing`: a canceled or deleted one
// (the job gone cascades) makes them all no-ops.
import { sql, type UpdateObject } from 'kysely';
import type { Db } from './connection.js';
import type { Database, EnrichmentPieceRow, EnrichmentRow } from './schema.js';

/** queued → processing: attempts + 1, started_at kept from the first attempt. */
export async function claimEnrichmentRow(db: Db, id: string): Promise<EnrichmentRow | undefined> {
  return db
    .updateTable('enrichments')
    .set((eb) => ({
      status: 'processing',
      attempts: eb('attempts', '+', 1),
      started_at: sql`coalesce(started_at, now())`,
      error_code: null,
      error_message: null,
      updated_at: sql`now()`,
    }))
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .returningAll()
    .executeTakeFirst();
}

/** The row, locked for the transaction (orders piece writes against cancel and finish). */
export async function lockEnrichment(trx: Db, id: string): Promise<EnrichmentRow | undefined> {
  return trx
    .selectFrom('enrichments')
    .selectAll()
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

/** The plan, once: pieces inserted and pieces_total set, unless planned already. */
export async function insertEnrichmentPlan(
  trx: Db,
  id: string,
  pieces: readonly { index: number; firstSegment: number; lastSegment: number }[],
): Promise<boolean> {
  const planned = await trx
    .updateTable('enrichments')
    .set({ pieces_total: pieces.length, updated_at: sql`now()` })
    .where('id', '=', id)
    .where('status', '=', 'processing')
    .where('pieces_total', 'is', null)
    .returning('id')
    .executeTakeFirst();
  if (!planned || pieces.length === 0) return Boolean(planned);
  await trx
    .insertInto('enrichment_pieces')
    .values(
      pieces.map((p) => ({
        enrichment_id: id,
        index: p.index,
        first_segment: p.firstSegment,
        last_segment: p.lastSegment,
      })),
    )
    .onConflict((oc) => oc.columns(['enrichment_id', 'index']).doNothing())
    .execute();
  return true;
}

/**
 * The first unfinished piece that nobody holds (or whose holder's lease ran out), leased
 * to `holder`. SKIP LOCKED: two workers asking at once get different pieces.
 */
export async function leaseFreePiece(
  trx: Db,
  input: { enrichmentId: string; holder: string; leaseMs: number },
): Promise<EnrichmentPieceRow | undefined> {
  const free = await trx
    .selectFrom('enrichment_pieces')
    .select('index')
    .where('enrichment_id', '=', input.enrichmentId)
    .where('finished_at', 'is', null)
    .where((eb) => eb.or([eb('holder', 'is', null), eb('lease_expires_at', '<', sql<Date>`now()`)]))
    .orderBy('index')
    .limit(1)
    .forUpdate()
    .skipLocked()
    .executeTakeFirst();
  if (!free) return undefined;
  return trx
    .updateTable('enrichment_pieces')
    .set({
      holder: input.holder,
      lease_expires_at: sql`now() + ${input.leaseMs} * interval '1 millisecond'`,
    })
    .where('enrichment_id', '=', input.enrichmentId)
    .where('index', '=', free.index)
    .returningAll()
    .executeTakeFirst();
}

/** Extends `holder`'s lease on an unfinished piece; false when it is no longer its. */
export async function renewPieceLease(
  db: Db,
  input: { enrichmentId: string; index: number; holder: string; leaseMs: number },
): Promise<boolean> {
  const row = await db
    .updateTable('enrichment_pieces')
    .set({ lease_expires_at: sql`now() + ${input.leaseMs} * interval '1 millisecond'` })
    .where('enrichment_id', '=', input.enrichmentId)
    .where('index', '=', input.index)
    .where('holder', '=', input.holder)
    .where('finished_at', 'is', null)
    .returning('index')
    .executeTakeFirst();
  return Boolean(row);
}

/** Lets go of `holder`'s unfinished pieces (shutdown, a failed request), free for anyone at once. */
export async function releasePieceLeases(
  db: Db,
  input: { enrichmentId: string; holder: string },
): Promise<number> {
  const rows = await db
    .updateTable('enrichment_pieces')
    .set({ holder: null, lease_expires_at: null })
    .where('enrichment_id', '=', input.enrichmentId)
    .where('holder', '=', input.holder)
    .where('finished_at', 'is', null)
    .returning('index')
    .execute();
  return rows.length;
}

/** Stores a piece's output, once (a piece stored by another holder is kept as it is). */
export async function storePieceOutput(
  trx: Db,
  input: {
    enrichmentId: string;
    index: number;
    output: unknown;
    model: string;
    promptTokens: number;
    completionTokens: number;
    attempt: number;
    processingMs: number;
  },
): Promise<boolean> {
  const row = await trx
    .updateTable('enrichment_pieces')
    .set({
      output: JSON.stringify(input.output),
      model: input.model,
      prompt_tokens: input.promptTokens,
      completion_tokens: input.completionTokens,
      attempt: input.attempt,
      processing_ms: input.processingMs,
      holder: null,
      lease_expires_at: null,
      finished_at: sql`now()`,
    })
    .where('enrichment_id', '=', input.enrichmentId)
    .where('index', '=', input.index)
    .where('finished_at', 'is', null)
    .returning('index')
    .executeTakeFirst();
  return Boolean(row);
}

/** Pieces finished, of all; the counts the progress is made of. */
export async function countFinishedPieces(db: Db, enrichmentId: string): Promise<number> {
  const { done } = await db
    .selectFrom('enrichment_pieces')
    .select((eb) => eb.fn.countAll<string>().as('done'))
    .where('enrichment_id', '=', enrichmentId)
    .where('finished_at', 'is not', null)
    .executeTakeFirstOrThrow();
  return Number(done);
}

/**
 * Writes pieces_done and progress; with `touch`, also updated_at (the time of the last
 * progress event, which paces the next one).
 */
export async function updateEnrichmentProgress(
  trx: Db,
  input: { id: string; piecesDone: number; progress: number; touch: boolean },
): Promise<void> {
  await trx
    .updateTable('enrichments')
    .set({
      pieces_done: input.piecesDone,
      progress: input.progress,
      ...(input.touch ? { updated_at: sql`now()` } : {}),
    })
    .where('id', '=', input.id)
    .where('status', '=', 'processing')
    .execute();
}

export async function listEnrichmentPieces(
  db: Db,
  enrichmentId: string,
): Promise<EnrichmentPieceRow[]> {
  return db
    .selectFrom('enrichment_pieces')
    .selectAll()
    .where('enrichment_id', '=', enrichmentId)
    .orderBy('index')
    .execute();
}

/**
 * The enrichment's own lease (the combine step): taken when free, expired or already
 * `holder`'s; extended by taking it again.
 */
export async function leaseEnrichmentRow(
  db: Db,
  input: { id: string; holder: string; leaseMs: number },
): Promise<EnrichmentRow | undefined> {
  return db
    .updateTable('enrichments')
    .set({
      holder: input.holder,
      lease_expires_at: sql`now() + ${input.leaseMs} * interval '1 millisecond'`,
    })
    .where('id', '=', input.id)
    .where('status', '=', 'processing')
    .where((eb) =>
      eb.or([
        eb('holder', 'is', null),
        eb('holder', '=', input.holder),
        eb('lease_expires_at', '<', sql<Date>`now()`),
      ]),
    )
    .returningAll()
    .executeTakeFirst();
}

/** processing → completed, with the result and the summed usage. */
export async function completeEnrichmentRow(
  trx: Db,
  input: {
    id: string;
    text: string;
    result: unknown;
    model: string | null;
    promptVersion: string;
    promptTokens: number;
    completionTokens: number;
  },
): Promise<EnrichmentRow | undefined> {
  return leaveProcessing(trx, input.id, {
    status: 'completed',
    progress: 100,
    pieces_done: sql<number>`coalesce(pieces_total, 0)`,
    text: input.text,
    result: JSON.stringify(input.result),
    model: input.model,
    prompt_version: input.promptVersion,
    prompt_tokens: input.promptTokens,
    completion_tokens: input.completionTokens,
    finished_at: sql`now()`,
  });
}

/** processing → failed, with the error. */
export async function failEnrichmentRow(
  trx: Db,
  input: { id: string; code: string; message: string },
): Promise<EnrichmentRow | undefined> {
  return leaveProcessing(trx, input.id, {
    status: 'failed',
    error_code: input.code,
    error_message: input.message,
    finished_at: sql`now()`,
  });
}

/** processing → queued for a later attempt (its leases dropped; finished pieces stay). */
export async function requeueEnrichmentRow(
  trx: Db,
  input: { id: string; code: string; message: string },
): Promise<EnrichmentRow | undefined> {
  const row = await leaveProcessing(trx, input.id, {
    status: 'queued',
    error_code: input.code,
    error_message: input.message,
  });
  if (row) {
    await trx
      .updateTable('enrichment_pieces')
      .set({ holder: null, lease_expires_at: null })
      .where('enrichment_id', '=', input.id)
      .where('finished_at', 'is', null)
      .execute();
  }
  return row;
}

/** The guarded update of every edge out of `processing`: the combine lease goes with it. */
function leaveProcessing(
  trx: Db,
  id: string,
  set: UpdateObject<Database, 'enrichments'>,
): Promise<EnrichmentRow | undefined> {
  return trx
    .updateTable('enrichments')
    .set({ ...set, holder: null, lease_expires_at: null, updated_at: sql`now()` })
    .where('id', '=', id)
    .where('status', '=', 'processing')
    .returningAll()
    .executeTakeFirst();
}
