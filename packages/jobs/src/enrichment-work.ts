// The worker's edges of an enrichment (issue 15), each one transaction with its event
// and messages, like lifecycle.ts:
//
//   queued     --claim-->    processing   (attempts + 1, `enrichment.processing`)
//   processing --join-->     processing   (another delivery helps; no write)
//   processing --plan/piece/progress/combine--> processing (under piece or row leases)
//   processing --complete--> completed    (`enrichment.completed`)
//   processing --fail-->     failed       (`enrichment.failed`)
//   processing --requeue-->  queued       (`enrichment.queued` + a delayed message)
//
// Each edge locks the job row first, then the enrichment (the order cancelEnrichment and
// the job's edges use), and does nothing unless the enrichment is `processing`: a
// canceled one, or one whose job was deleted, turns every write into a no-op and the
// caller stops.
import type { ErrorCode, Priority } from '@transcribe/contracts';
import {
  appendJobEvent,
  claimEnrichmentRow,
  completeEnrichmentRow,
  countFinishedPieces,
  failEnrichmentRow,
  findEnrichmentById,
  insertEnrichmentPlan,
  leaseEnrichmentRow,
  leaseFreePiece,
  listEnrichmentPieces,
  lockEnrichment,
  lockJob,
  releasePieceLeases,
  renewPieceLease,
  requeueEnrichmentRow,
  storePieceOutput,
  updateEnrichmentProgress,
  type Db,
  type EnrichmentPieceRow,
  type EnrichmentRow,
} from '@transcribe/db';
import { enrichmentRefOf } from './enrichment-lifecycle.js';
import { enqueueEnrichment } from './messages.js';

function inTransaction<T>(db: Db, run: (trx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

const jobOf = (row: EnrichmentRow) => ({ id: row.job_id, tenantId: row.tenant_id });

/**
 * The row, locked after its job, when it is still `processing` (and, with `attempt`,
 * still in that attempt: a helper of an older attempt must not requeue a newer one).
 */
async function lockProcessing(
  trx: Db,
  row: EnrichmentRow,
  attempt?: number,
): Promise<EnrichmentRow | undefined> {
  if (!(await lockJob(trx, row.job_id))) return undefined;
  const current = await lockEnrichment(trx, row.id);
  if (current?.status !== 'processing') return undefined;
  return attempt === undefined || current.attempts === attempt ? current : undefined;
}

/**
 * claim: queued → processing, with `enrichment.processing`; or join (`joined: true`) one
 * already processing. Undefined when it is finished, canceled or gone.
 */
export async function claimEnrichment(
  db: Db,
  id: string,
): Promise<{ row: EnrichmentRow; joined: boolean } | undefined> {
  return inTransaction(db, async (trx) => {
    const current = await findEnrichmentById(trx, id);
    if (!current || !(await lockJob(trx, current.job_id))) return undefined;
    const claimed = await claimEnrichmentRow(trx, id);
    if (claimed) {
      await appendJobEvent(trx, jobOf(claimed), {
        type: 'enrichment.processing',
        ...enrichmentRefOf(claimed),
        attempt: claimed.attempts,
      });
      return { row: claimed, joined: false };
    }
    const row = await findEnrichmentById(trx, id);
    return row?.status === 'processing' ? { row, joined: true } : undefined;
  });
}

/**
 * plan: the pieces, once. A second planner (two deliveries at once) finds them planned
 * and keeps the first plan. Returns the row with pieces_total, undefined when stopped.
 */
export async function planEnrichment(
  db: Db,
  row: EnrichmentRow,
  pieces: readonly { index: number; firstSegment: number; lastSegment: number }[],
): Promise<EnrichmentRow | undefined> {
  return inTransaction(db, async (trx) => {
    const current = await lockProcessing(trx, row);
    if (!current) return undefined;
    if (current.pieces_total !== null) return current;
    await insertEnrichmentPlan(trx, row.id, pieces);
    return { ...current, pieces_total: pieces.length };
  });
}

/** fan out: `copies` more messages for this enrichment, so other workers take pieces too. */
export async function fanOutEnrichment(
  db: Db,
  row: EnrichmentRow,
  options: { copies: number; priority: Priority },
): Promise<boolean> {
  if (options.copies < 1) return false;
  return inTransaction(db, async (trx) => {
    if (!(await lockProcessing(trx, row))) return false;
    await enqueueEnrichment(
      trx,
      { id: row.id, jobId: row.job_id, tenantId: row.tenant_id, priority: options.priority },
      { copies: options.copies },
    );
    return true;
  });
}

/**
 * The next free piece, leased to `holder`; `'stopped'` when the enrichment is no longer
 * processing; undefined when every piece is finished or held by someone alive.
 */
export async function takeEnrichmentPiece(
  db: Db,
  row: EnrichmentRow,
  options: { holder: string; leaseMs: number },
): Promise<EnrichmentPieceRow | 'stopped' | undefined> {
  return inTransaction(db, async (trx) => {
    const current = await findEnrichmentById(trx, row.id);
    if (current?.status !== 'processing') return 'stopped';
    return leaseFreePiece(trx, { enrichmentId: row.id, ...options });
  });
}

/**
 * The heartbeat of a running request: `'stopped'` when the enrichment was canceled (or
 * failed, or requeued by another worker), `'lost'` when the piece's lease went to
 * someone else, else `'held'` with the lease extended.
 */
export async function heartbeatEnrichmentPiece(
  db: Db,
  piece: Pick<EnrichmentPieceRow, 'enrichment_id' | 'index'>,
  options: { holder: string; leaseMs: number },
): Promise<'held' | 'lost' | 'stopped'> {
  const current = await findEnrichmentById(db, piece.enrichment_id);
  if (current?.status !== 'processing') return 'stopped';
  const held = await renewPieceLease(db, {
    enrichmentId: piece.enrichment_id,
    index: piece.index,
    ...options,
  });
  return held ? 'held' : 'lost';
}

/** Lets go of `holder`'s pieces of this enrichment (shutdown, an aborted request). */
export async function releaseEnrichmentPieces(
  db: Db,
  row: Pick<EnrichmentRow, 'id'>,
  holder: string,
): Promise<number> {
  return releasePieceLeases(db, { enrichmentId: row.id, holder });
}

/**
 * piece: a finished piece's output stored, progress updated, and `enrichment.progress`
 * appended when the last one is at least `progressIntervalMs` old (or all pieces are
 * done). False when stopped; a piece someone else already stored is left as it was.
 */
export async function storeEnrichmentPiece(
  db: Db,
  row: EnrichmentRow,
  piece: {
    index: number;
    output: unknown;
    model: string;
    promptTokens: number;
    completionTokens: number;
    processingMs: number;
  },
  options: { progressIntervalMs: number },
): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const current = await lockProcessing(trx, row);
    if (!current) return false;
    const stored = await storePieceOutput(trx, {
      enrichmentId: row.id,
      ...piece,
      attempt: current.attempts,
    });
    if (!stored) return true;
    const total = current.pieces_total ?? 1;
    const done = await countFinishedPieces(trx, row.id);
    // The combine step counts as one more piece.
    const progress = Math.min(99, Math.round((done / (total + 1)) * 1000) / 10);
    const due =
      done >= total || Date.now() - current.updated_at.getTime() >= options.progressIntervalMs;
    await updateEnrichmentProgress(trx, { id: row.id, piecesDone: done, progress, touch: due });
    if (due) {
      await appendJobEvent(trx, jobOf(row), {
        type: 'enrichment.progress',
        ...enrichmentRefOf(row),
        progress,
        piecesDone: done,
        piecesTotal: Math.max(1, total),
      });
    }
    return true;
  });
}

export async function listStoredPieces(
  db: Db,
  row: Pick<EnrichmentRow, 'id'>,
): Promise<EnrichmentPieceRow[]> {
  return listEnrichmentPieces(db, row.id);
}

/**
 * combine: the enrichment's own lease, for the one worker that combines the pieces (or
 * extends it, when taken again by its holder). Undefined when someone alive holds it or
 * the enrichment is no longer processing.
 */
export async function takeCombineLease(
  db: Db,
  row: EnrichmentRow,
  options: { holder: string; leaseMs: number },
): Promise<EnrichmentRow | undefined> {
  return leaseEnrichmentRow(db, { id: row.id, ...options });
}

/**
 * complete: processing → completed with its result; usage is the pieces' sums plus the
 * combine step's `extraUsage`; processingMs counts from the first claim.
 */
export async function completeEnrichment(
  db: Db,
  row: EnrichmentRow,
  input: {
    result: unknown;
    text: string;
    model: string | null;
    promptVersion: string;
    extraUsage: { promptTokens: number; completionTokens: number };
  },
): Promise<EnrichmentRow | undefined> {
  return inTransaction(db, async (trx) => {
    const current = await lockProcessing(trx, row);
    if (!current) return undefined;
    const pieces = await listEnrichmentPieces(trx, row.id);
    const promptTokens = pieces.reduce(
      (sum, p) => sum + p.prompt_tokens,
      input.extraUsage.promptTokens,
    );
    const completionTokens = pieces.reduce(
      (sum, p) => sum + p.completion_tokens,
      input.extraUsage.completionTokens,
    );
    const model = input.model ?? pieces.find((p) => p.model)?.model ?? null;
    const done = await completeEnrichmentRow(trx, {
      id: row.id,
      text: input.text,
      result: input.result,
      model,
      promptVersion: input.promptVersion,
      promptTokens,
      completionTokens,
    });
    if (!done) return undefined;
    await appendJobEvent(trx, jobOf(row), {
      type: 'enrichment.completed',
      ...enrichmentRefOf(row),
      model,
      usage: { promptTokens, completionTokens },
      processingMs: done.started_at ? Date.now() - done.started_at.getTime() : 0,
    });
    return done;
  });
}

/**
 * fail: processing → failed, with `enrichment.failed`; with `attempt`, only while the
 * task is still in that attempt.
 */
export async function failEnrichment(
  db: Db,
  row: EnrichmentRow,
  error: { code: ErrorCode; message: string },
  options: { attempt?: number } = {},
): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    if (!(await lockProcessing(trx, row, options.attempt))) return false;
    const failed = await failEnrichmentRow(trx, { id: row.id, ...error });
    if (!failed) return false;
    await appendJobEvent(trx, jobOf(row), {
      type: 'enrichment.failed',
      ...enrichmentRefOf(row),
      error,
    });
    return true;
  });
}

/**
 * requeue: processing → queued for another attempt after `delayMs` (the enrichment
 * lane's delay queue at `level`), with `enrichment.queued`, while the task is still in
 * `attempt`. Stored pieces stay: the next attempt resumes after them.
 */
export async function requeueEnrichment(
  db: Db,
  row: EnrichmentRow,
  input: {
    error: { code: ErrorCode; message: string };
    attempt: number;
    level: number;
    delayMs: number;
    priority: Priority;
  },
): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    if (!(await lockProcessing(trx, row, input.attempt))) return false;
    const requeued = await requeueEnrichmentRow(trx, { id: row.id, ...input.error });
    if (!requeued) return false;
    await appendJobEvent(trx, jobOf(row), { type: 'enrichment.queued', ...enrichmentRefOf(row) });
    await enqueueEnrichment(
      trx,
      { id: row.id, jobId: row.job_id, tenantId: row.tenant_id, priority: input.priority },
      { delay: { level: input.level, delayMs: input.delayMs } },
    );
    return true;
  });
}
