// How an enrichment delivery ends when it does not complete the task: the time limit, a
// stop (cancel, lost lease, shutdown), a refusal, or a failure worth another attempt —
// requeued through the enrichment delay queues with backoff until ENRICH_MAX_ATTEMPTS.
import type { ErrorCode, Priority } from '@transcribe/contracts';
import type { EnrichmentRow } from '@transcribe/db';
import { failEnrichment, releaseEnrichmentPieces, requeueEnrichment } from '@transcribe/jobs';
import { DELAY_LEVELS } from '@transcribe/queue';
import type { Logger } from '@transcribe/telemetry';
import { isChatEngineError } from '../engines/openai-chat.js';
import { retryDelayMs } from '../retry-policy.js';
import type { EnrichDeps, Settle } from './run-enrichment.js';
import type { StopReason } from './watched-request.js';

/** Why a piece's answer could not be used, or the engine could not give one: retried. */
export interface Retryable {
  code: ErrorCode;
  message: string;
}

export function asRetryable(error: unknown): Retryable | 'rejected' | undefined {
  if (isChatEngineError(error)) {
    return error.retryable ? { code: error.code, message: error.message } : 'rejected';
  }
  if (error instanceof Error && error.name === 'PieceOutputError') {
    return { code: 'engine_failed', message: error.message };
  }
  return undefined;
}

export async function timeOut(deps: EnrichDeps, row: EnrichmentRow, log: Logger): Promise<Settle> {
  const message = `enrichment ran over its time limit of ${Math.round(deps.settings.timeoutMs / 1000)} s`;
  if (await failEnrichment(deps.db, row, { code: 'timeout', message })) {
    deps.metrics.enrichments.inc({ kind: row.kind, outcome: 'failed' });
    deps.relay.kick();
    log.warn('enrichment timed out');
  }
  return 'ack';
}

export async function settleStopped(
  deps: EnrichDeps,
  row: EnrichmentRow,
  holder: string,
  reason: StopReason,
  log: Logger,
): Promise<Settle> {
  switch (reason) {
    case 'timeout':
      return timeOut(deps, row, log);
    case 'shutdown':
      // Another worker continues from the stored pieces; this piece is free at once.
      await releaseEnrichmentPieces(deps.db, row, holder).catch(() => undefined);
      log.info('shutting down; enrichment handed back');
      return 'nack';
    case 'lost':
    case 'canceled':
      await releaseEnrichmentPieces(deps.db, row, holder).catch(() => undefined);
      log.info({ reason }, 'enrichment no longer ours; request aborted');
      return 'ack';
  }
}

export async function retryLater(
  deps: EnrichDeps,
  row: EnrichmentRow,
  holder: string,
  priority: Priority,
  error: Retryable,
  log: Logger,
): Promise<Settle> {
  await releaseEnrichmentPieces(deps.db, row, holder).catch(() => undefined);
  // The attempt this delivery worked in: if the task has moved on (another worker
  // requeued it and a retry claimed it), this failure is old news and changes nothing.
  const attempt = row.attempts;
  if (attempt >= deps.settings.maxAttempts) {
    const message = `${error.message} (after ${attempt} attempts)`;
    if (await failEnrichment(deps.db, row, { code: error.code, message }, { attempt })) {
      deps.metrics.enrichments.inc({ kind: row.kind, outcome: 'failed' });
      deps.relay.kick();
      log.warn({ code: error.code, attempts: attempt }, 'enrichment failed: out of attempts');
    }
    return 'ack';
  }
  const delayMs = retryDelayMs(attempt, deps.settings.retry);
  const level = Math.min(DELAY_LEVELS, Math.max(1, attempt));
  if (await requeueEnrichment(deps.db, row, { error, attempt, level, delayMs, priority })) {
    deps.metrics.enrichments.inc({ kind: row.kind, outcome: 'requeued' });
    deps.relay.kick();
    log.warn({ code: error.code, attempt, delayMs }, 'enrichment requeued for a retry');
  }
  return 'ack';
}
