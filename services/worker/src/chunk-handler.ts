// One chunk of a fanned-out job, on whichever worker its message reached: download the
// chunk's WAV, transcribe it with the job's engine, store the result, and complete the
// job if it was the last one. The chunk's object is deleted whatever happens, except
// when the message goes back to the queue (shutdown), which still needs it.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChunkMessage } from '@transcribe/contracts';
import {
  chargedAttempts,
  claimChunk,
  findJobById,
  releaseChunk,
  renewChunkLease,
  renewLease,
  type JobChunk,
  type JobRow,
} from '@transcribe/db';
import { chunkLanded, requeueChunkLater, storeChunk } from '@transcribe/jobs';
import type { Storage } from '@transcribe/storage';
import type { Logger } from '@transcribe/telemetry';
import { offsetSegments, offsetWords } from './chunking.js';
import type { EngineSelector } from './engines/selector.js';
import { guardAttempt } from './attempt-guard.js';
import { JobLostError, ShutdownError } from './errors.js';
import { settleFailure, type FailurePolicyDeps } from './failure-policy.js';
import { recordJobEnd } from './metrics.js';
import { progressReporter } from './progress-reporter.js';
import type { Outcome } from './settle.js';

/** Where a fanned-out chunk's WAV waits for its worker: under the job, per attempt. */
export function chunkObjectKey(
  job: { tenantId: string; jobId: string },
  attempt: number,
  index: number,
) {
  return `${job.tenantId}/${job.jobId}/chunks/a${attempt}/${index}.wav`;
}

export interface ChunkHandlerDeps extends FailurePolicyDeps {
  storage: Pick<Storage, 'download' | 'delete'>;
  engines: EngineSelector;
  tmpDir?: string;
  /** The job lease each chunk's worker keeps renewing while it works… */
  leaseMs: number;
  /**
   * The chunk's own lease: while its holder renews it, another delivery of the chunk's
   * message (a broker blip) waits instead of transcribing the chunk a second time.
   */
  chunkLeaseMs: number;
  /** The delay queue (backoff level) a held chunk's message waits in (see delayLevelFor). */
  recheckLevel: number;
  /** …both renewed this often; a renewal that fails (canceled, retried, taken over) stops the chunk. */
  heartbeatMs: number;
  chunkTimeoutMs: number;
  shutdown?: AbortSignal;
  /** This chunk's progress writes (issue 16), paced like a whole job's; default 500 ms. */
  progressIntervalMs?: number;
}

export async function handleChunk(
  deps: ChunkHandlerDeps,
  message: ChunkMessage,
  log: Logger,
): Promise<Outcome> {
  const key = chunkObjectKey(message, message.attempt, message.index);
  const job = await findJobById(deps.db, message.jobId);
  // The attempt is part of the token, so a write of an earlier attempt's holder is told
  // apart; its live lease still holds the chunk until released or run out (claimChunk).
  const holder = `a${message.attempt}:${randomUUID()}`;
  const chunk =
    job?.status === 'processing' && job.attempts === message.attempt
      ? await claimChunk(deps.db, {
          jobId: job.id,
          index: message.index,
          attempt: message.attempt,
          holder,
          leaseMs: deps.chunkLeaseMs,
        })
      : 'gone';
  if (chunk === 'held') {
    // Another worker is transcribing it: look again once its lease would have run out.
    log.info({ index: message.index }, 'chunk held by another worker; looking again later');
    await requeueChunkLater(deps.db, job!, {
      index: message.index,
      delayMs: deps.chunkLeaseMs,
      level: deps.recheckLevel,
    });
    deps.relay.kick();
    return 'ack';
  }
  if (!job || chunk === 'gone') {
    // Canceled, finished, retried since, or a duplicate message: nothing to do.
    log.info({ index: message.index }, 'chunk no longer needed; dropped');
    await deleteQuietly(deps, key, log);
    return 'ack';
  }
  return runClaimedChunk(deps, { job, chunk, holder }, log);
}

/**
 * A claimed chunk (its lease taken under `holder`), from download to landing: shared by
 * both schedulers (fifo claims the message's chunk, fair the next unit in fair order).
 */
export async function runClaimedChunk(
  deps: ChunkHandlerDeps,
  claimed: { job: JobRow; chunk: JobChunk; holder: string },
  log: Logger,
): Promise<Outcome> {
  const { job, chunk, holder } = claimed;
  const key = chunkObjectKey({ tenantId: job.tenant_id, jobId: job.id }, job.attempts, chunk.index);

  const guard = guardAttempt({
    shutdown: deps.shutdown,
    timeoutMs: deps.chunkTimeoutMs,
    heartbeatMs: deps.heartbeatMs,
    renew: async () =>
      (await renewChunkLease(deps.db, {
        jobId: job.id,
        index: chunk.index,
        holder,
        leaseMs: deps.chunkLeaseMs,
      })) && renewLease(deps.db, { id: job.id, attempt: job.attempts, leaseMs: deps.leaseMs }),
    onRenewError: (err) => log.warn({ err }, 'lease renewal failed'),
  });
  const dir = await mkdtemp(join(deps.tmpDir ?? tmpdir(), 'chunk-'));
  let outcome: Outcome = 'ack';
  // This chunk's own figure goes to job_chunks.done_s and the job's is derived from all
  // chunks (packages/jobs progress.ts): the job is `transcribing` as soon as one starts.
  const progress = progressReporter<'transcribing'>(
    { ...deps, progressIntervalMs: deps.progressIntervalMs ?? 500 },
    job,
    log,
    () => guard.abort(new JobLostError()),
  );
  const lengthS = chunk.endS - chunk.startS;
  try {
    progress.report(0, 'transcribing', { index: chunk.index, doneS: 0 });
    const wav = join(dir, 'chunk.wav');
    await deps.storage.download(key, wav);
    guard.signal.throwIfAborted();
    const started = Date.now();
    const result = await deps.engines
      .get(job.engine)
      .transcribe(
        wav,
        { language: job.language, model: job.model, signal: guard.signal },
        (processedS) =>
          progress.report(0, 'transcribing', {
            index: chunk.index,
            doneS: Math.min(processedS, lengthS),
          }),
      );
    await progress.finish();
    const stored = await storeChunk(deps.db, job, {
      index: chunk.index,
      startS: chunk.startS,
      endS: chunk.endS,
      text: result.text,
      segments: offsetSegments(result.segments, chunk),
      words: offsetWords(result.words ?? [], chunk),
      model: result.model,
      language: result.language ?? null,
      processingMs: Date.now() - started,
      holder,
    });
    if (!stored) throw new JobLostError();
    deps.metrics.chunks.inc();
    const landed = await chunkLanded(deps.db, job, deps.leaseMs);
    if (landed !== 'lost') deps.relay.kick();
    if (landed === 'completed') {
      recordJobEnd(deps.metrics, job, 'completed');
      log.info({ index: chunk.index }, 'last chunk landed; job completed');
    }
  } catch (error) {
    await progress.stop();
    const cause: unknown = guard.signal.aborted ? guard.signal.reason : error;
    if (cause instanceof ShutdownError) {
      // Only this chunk goes back to the queue; the job and its other chunks carry on.
      log.info({ index: chunk.index }, 'shutting down: chunk handed back to the queue');
      outcome = 'requeue';
    } else {
      // The job's failure policy, as for whole jobs: a chunk's failure is its job's.
      outcome = await settleFailure(
        deps,
        job,
        chargedAttempts(job),
        cause,
        log.child({ index: chunk.index }),
      );
    }
  } finally {
    await progress.stop();
    guard.release();
    // Whatever happened, the chunk is free for its next message at once (a no-op when stored).
    await releaseChunk(deps.db, { jobId: job.id, index: chunk.index, holder }).catch(
      (err: unknown) => log.warn({ err }, 'chunk lease release failed'),
    );
    await rm(dir, { recursive: true, force: true });
    if (outcome === 'ack') await deleteQuietly(deps, key, log);
  }
  return outcome;
}

async function deleteQuietly(deps: Pick<ChunkHandlerDeps, 'storage'>, key: string, log: Logger) {
  // A leftover chunk object costs storage, not correctness.
  await deps.storage
    .delete(key)
    .catch((err: unknown) => log.warn({ err, key }, 'chunk delete failed'));
}
