// One delivery of a `transcribe.enrich` message: claim (or join) the enrichment, plan its
// pieces once, then take free pieces one at a time, ask the model and store each answer
// as it lands; the worker that finds every piece stored combines them and completes the
// task. Another delivery of the same enrichment (a fan-out copy, a redelivery after a
// kill, a retry) does the same from wherever the stored pieces are: none is redone.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  TERMINAL_ENRICHMENT_STATUSES,
  type EnrichMessage,
  type EnrichmentKind,
  type Segment,
} from '@transcribe/contracts';
import {
  findEnrichmentById,
  findJobById,
  type Db,
  type EnrichmentPieceRow,
  type EnrichmentRow,
} from '@transcribe/db';
import {
  claimEnrichment,
  completeEnrichment,
  failEnrichment,
  fanOutEnrichment,
  heartbeatEnrichmentPiece,
  listStoredPieces,
  planEnrichment,
  releaseEnrichmentPieces,
  storeEnrichmentPiece,
  takeCombineLease,
  takeEnrichmentPiece,
} from '@transcribe/jobs';
import type { Logger } from '@transcribe/telemetry';
import type { ChatEngine } from '../engines/openai-chat.js';
import type { WorkerMetrics } from '../metrics.js';
import type { RetryPolicy } from '../retry-policy.js';
import { reducePieces, stitchPieces } from './combine.js';
import {
  boundMarkdown,
  isTimed,
  maxLineChars,
  parseTimedAnswer,
  pieceBudget,
  planPieces,
  type Budget,
} from './pieces.js';
import { mapPrompt, PROMPT_VERSION } from './prompts.js';
import { asRetryable, retryLater, settleStopped, timeOut } from './outcomes.js';
import { EnrichmentStopped, isEnrichmentStopped, watched } from './watched-request.js';

export interface EnrichSettings {
  contextTokens: number;
  maxOutputTokens: number;
  /** Optional cap on one piece's data tokens (ENRICH_PIECE_TOKENS). */
  pieceTokens?: number;
  /** Messages in all for a many-piece enrichment (ENRICH_FANOUT). */
  fanout: number;
  maxAttempts: number;
  /** Piece and combine leases; renewed every heartbeat, so only a dead worker's run out. */
  leaseMs: number;
  heartbeatMs: number;
  /** Per task, from its first claim (ENRICH_TIMEOUT_S). */
  timeoutMs: number;
  retry: RetryPolicy;
  progressIntervalMs: number;
}

export interface EnrichDeps {
  db: Db;
  relay: { kick(): void };
  chat: ChatEngine;
  logger: Logger;
  metrics: Pick<WorkerMetrics, 'enrichments' | 'enrichPieceSeconds' | 'enrichTokens'>;
  settings: EnrichSettings;
  /** Fired when the worker starts draining: the running piece finishes, no new one is taken. */
  draining?: AbortSignal;
  /** Fired when the grace period is over: running requests are aborted, their pieces released, the message handed back. */
  shutdown?: AbortSignal;
}

export type Settle = 'ack' | 'nack';

/** Waits `ms`, or less when one of the signals fires. */
function sleep(ms: number, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  return new Promise((resolve) => {
    const live = signals.filter((s): s is AbortSignal => Boolean(s));
    const done = () => {
      clearTimeout(timer);
      live.forEach((s) => s.removeEventListener('abort', done));
      resolve();
    };
    const timer = setTimeout(done, ms);
    live.forEach((s) => s.addEventListener('abort', done));
  });
}

/**
 * `redelivered`: the broker gave this message to a consumer before (one that died, most
 * likely, holding pieces whose leases have yet to run out). `delayed`: it comes out of
 * a delay queue (a retry after its backoff).
 */
export async function runEnrichment(
  deps: EnrichDeps,
  message: EnrichMessage,
  log: Logger,
  delivery: { redelivered: boolean; delayed: boolean } = { redelivered: false, delayed: false },
): Promise<Settle> {
  const { db } = deps;
  const found = await findEnrichmentById(db, message.enrichmentId);
  if (!found || TERMINAL_ENRICHMENT_STATUSES.includes(found.status)) return 'ack';
  if (found.status === 'queued' && found.error_code && !delivery.delayed) {
    // Requeued for a retry after a failure: its retry message waits out the backoff in a
    // delay queue. This is an older copy (a fan-out helper's); claiming now would skip
    // the backoff and burn attempts against a server that is down.
    log.debug('enrichment waits for its retry; stale copy dropped');
    return 'ack';
  }
  const job = await findJobById(db, found.job_id);
  // Queued again by the job's complete edge when the transcript lands.
  if (job?.status !== 'completed') return 'ack';
  const claimed = await claimEnrichment(db, found.id);
  if (!claimed) return 'ack';
  let row = claimed.row;
  if (!claimed.joined) {
    deps.relay.kick();
    log.info({ attempt: row.attempts, kind: row.kind }, 'enrichment claimed');
  }
  const holder = `${hostname()}:${process.pid}:${randomUUID()}`;
  const segments: Segment[] = job.segments ?? [];
  const kind = row.kind;
  const budget = pieceBudget(kind, deps.settings);
  const deadline = (row.started_at?.getTime() ?? Date.now()) + deps.settings.timeoutMs;
  // A helper (a fan-out copy) leaves work others hold to them. The delivery that claimed
  // the task, or one redelivered after its consumer died, may be the only message left
  // for it: that one stays until the work is done, taking over leases that run out.
  const responsible = !claimed.joined || delivery.redelivered;

  try {
    if (row.pieces_total === null) {
      const planned = await planEnrichment(db, row, planPieces(segments, budget.inputTokens));
      if (!planned) return 'ack';
      row = planned;
      log.info({ pieces: row.pieces_total, inputTokens: budget.inputTokens }, 'enrichment planned');
    }
    const open = (await listStoredPieces(db, row)).filter((p) => !p.finished_at).length;
    if (!claimed.joined && open > 1 && deps.settings.fanout > 1) {
      const copies = Math.min(deps.settings.fanout - 1, open - 1);
      if (await fanOutEnrichment(db, row, { copies, priority: job.priority })) deps.relay.kick();
    }

    let pieces: EnrichmentPieceRow[];
    for (;;) {
      if (deps.shutdown?.aborted || deps.draining?.aborted) {
        log.info('draining; enrichment handed back');
        return 'nack';
      }
      if (Date.now() >= deadline) return await timeOut(deps, row, log);
      const piece = await takeEnrichmentPiece(db, row, { holder, leaseMs: deps.settings.leaseMs });
      if (piece === 'stopped') return 'ack';
      if (piece) {
        await runPiece(deps, { row, piece, segments, budget, holder, deadline }, log);
        continue;
      }
      pieces = await listStoredPieces(db, row);
      if (pieces.every((p) => p.finished_at)) break;
      // The last pieces are held by others: they store them and combine.
      if (!responsible) return 'ack';
      await sleep(deps.settings.heartbeatMs, deps.draining, deps.shutdown);
    }

    while (!(await takeCombineLease(db, row, { holder, leaseMs: deps.settings.leaseMs }))) {
      // Someone else combines (or did, and completed it).
      if (!responsible || (await findEnrichmentById(db, row.id))?.status !== 'processing') {
        return 'ack';
      }
      if (deps.shutdown?.aborted || deps.draining?.aborted) return 'nack';
      await sleep(deps.settings.heartbeatMs, deps.draining, deps.shutdown);
    }
    await combineAndComplete(deps, { row, pieces, segments, budget, holder, deadline }, log);
    return 'ack';
  } catch (error) {
    if (isEnrichmentStopped(error)) return settleStopped(deps, row, holder, error.reason, log);
    const retryable = asRetryable(error);
    if (retryable === 'rejected') {
      const message = error instanceof Error ? error.message : String(error);
      log.warn({ err: error }, 'chat server rejected the request; enrichment failed');
      if (await failEnrichment(db, row, { code: 'engine_rejected', message })) {
        deps.metrics.enrichments.inc({ kind, outcome: 'failed' });
        deps.relay.kick();
      }
      return 'ack';
    }
    if (retryable) return retryLater(deps, row, holder, job.priority, retryable, log);
    // Infrastructure trouble: let go of the piece, the consumer hands the message back.
    await releaseEnrichmentPieces(db, row, holder).catch(() => undefined);
    throw error;
  }
}

interface PieceWork {
  row: EnrichmentRow;
  piece: EnrichmentPieceRow;
  segments: Segment[];
  budget: Budget;
  holder: string;
  deadline: number;
}

async function runPiece(deps: EnrichDeps, work: PieceWork, log: Logger): Promise<void> {
  const { row, piece, budget } = work;
  const kind = row.kind;
  const source = work.segments.slice(piece.first_segment, piece.last_segment + 1);
  const prompt = mapPrompt(
    kind,
    row.target_language,
    source,
    piece.first_segment,
    maxLineChars(budget.inputTokens),
  );
  const started = Date.now();
  const answer = await watched(
    {
      heartbeat: () =>
        heartbeatEnrichmentPiece(deps.db, piece, {
          holder: work.holder,
          leaseMs: deps.settings.leaseMs,
        }),
      heartbeatMs: deps.settings.heartbeatMs,
      deadline: work.deadline,
      shutdown: deps.shutdown,
      logger: log,
    },
    (signal) => deps.chat.complete({ ...prompt, maxTokens: budget.outputTokens, signal }),
  );
  const processingMs = Date.now() - started;
  countRequest(deps, kind, processingMs, answer.usage);
  let output: unknown;
  if (isTimed(kind)) {
    const parsed = parseTimedAnswer(kind, answer.text, source, piece.first_segment);
    if (parsed.missing.length > 0) {
      log.warn(
        { piece: piece.index, missing: parsed.missing.length },
        'answer left out lines; their source text is kept',
      );
    }
    output = parsed;
  } else {
    output = { markdown: boundMarkdown(answer.text) };
  }
  if (answer.truncated) log.warn({ piece: piece.index }, 'answer hit max_tokens and was cut');
  const stored = await storeEnrichmentPiece(
    deps.db,
    row,
    {
      index: piece.index,
      output,
      model: answer.model,
      promptTokens: answer.usage.promptTokens,
      completionTokens: answer.usage.completionTokens,
      processingMs,
    },
    { progressIntervalMs: deps.settings.progressIntervalMs },
  );
  if (!stored) throw new EnrichmentStopped('canceled');
  deps.relay.kick();
  log.debug({ piece: piece.index, processingMs }, 'enrichment piece stored');
}

function countRequest(
  deps: EnrichDeps,
  kind: EnrichmentKind,
  ms: number,
  usage: { promptTokens: number; completionTokens: number },
) {
  deps.metrics.enrichPieceSeconds.observe({ kind }, ms / 1000);
  deps.metrics.enrichTokens.inc({ kind, type: 'prompt' }, usage.promptTokens);
  deps.metrics.enrichTokens.inc({ kind, type: 'completion' }, usage.completionTokens);
}

async function combineAndComplete(
  deps: EnrichDeps,
  work: Omit<PieceWork, 'piece'> & { pieces: EnrichmentPieceRow[] },
  log: Logger,
): Promise<void> {
  const { row } = work;
  const kind = row.kind;
  const combined = isTimed(kind)
    ? stitchPieces(work.segments, work.pieces)
    : await reducePieces(
        kind,
        work.pieces,
        work.budget,
        (run) =>
          watched(
            {
              heartbeat: async () =>
                (await takeCombineLease(deps.db, row, {
                  holder: work.holder,
                  leaseMs: deps.settings.leaseMs,
                }))
                  ? 'held'
                  : 'stopped',
              heartbeatMs: deps.settings.heartbeatMs,
              deadline: work.deadline,
              shutdown: deps.shutdown,
              logger: log,
            },
            async (signal) => {
              const started = Date.now();
              const answer = await run(signal);
              countRequest(deps, kind, Date.now() - started, answer.usage);
              return answer;
            },
          ),
        deps.chat,
      );
  const done = await completeEnrichment(deps.db, row, {
    result: combined.result,
    text: combined.text,
    model: combined.model,
    promptVersion: PROMPT_VERSION,
    extraUsage: combined.usage,
  });
  if (!done) throw new EnrichmentStopped('canceled');
  deps.relay.kick();
  deps.metrics.enrichments.inc({ kind, outcome: 'completed' });
  log.info(
    {
      pieces: work.pieces.length,
      reduceRequests: combined.requests,
      tokens: done.prompt_tokens + done.completion_tokens,
    },
    'enrichment completed',
  );
}
