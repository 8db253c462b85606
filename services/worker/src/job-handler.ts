import { JobsQueueMessage, type TranscribeMessage } from '@transcribe/contracts';
import { chargedAttempts, renewLease, type Db, type JobRow } from '@transcribe/db';
import { DELAY_LEVELS, type MessageHandler, type OutboxRelay } from '@transcribe/queue';
import type { Storage } from '@transcribe/storage';
import type { Logger } from '@transcribe/telemetry';
import { tenantAudioAdmission } from './admission.js';
import { exhaustedBudget } from './attempt-budget.js';
import { handleChunk, type Outcome } from './chunk-handler.js';
import { dbChunkStore } from './chunk-store.js';
import { jobFanOut } from './fan-out.js';
import {
  isInfrastructureFailure,
  isPermanentJobError,
  JobLostError,
  JobTimeoutError,
  ShutdownError,
} from './errors.js';
import { guardAttempt } from './heartbeat.js';
import { runPipeline, type PipelineDeps, type Stage } from './pipeline.js';
import { throttleProgress } from './progress-throttle.js';
import { delayLevelFor, retryDelayMs, type RetryPolicy } from './retry-policy.js';
import {
  claimForProcessing,
  markCompleted,
  markDeadLettered,
  markFailed,
  reportProgress,
  requeueForHandover,
  requeueForRetry,
} from '@transcribe/jobs';
import type { WorkerMetrics } from './metrics.js';

export interface JobHandlerDeps {
  db: Db;
  relay: Pick<OutboxRelay, 'kick'>;
  logger: Logger;
  metrics: WorkerMetrics;
  pipeline: PipelineDeps;
  maxAttempts: number;
  /** Lost attempts (expired leases, hand-overs) after which a claimed job fails `worker_lost` (the reaper's MAX_LOST_ATTEMPTS). */
  maxLostAttempts?: number;
  /** A job not heard from for this long may be taken over by another worker. */
  leaseMs: number;
  /**
   * Progress events of one job are written at most this often (never under 500 ms:
   * at most 2 per second); stage changes and each stage's last value wait their turn.
   */
  progressIntervalMs: number;
  /** Seconds of decoded audio a tenant may start per UTC day (tenants.max_audio_s_per_day overrides); 0 none. */
  tenantMaxAudioSPerDay?: number;
  /** Limit on one attempt; past it the job fails with `timeout`. */
  jobTimeoutMs: number;
  retry: RetryPolicy;
  /** Jobs of one tenant processing at once (tenants.max_concurrent_jobs overrides it). */
  tenantMaxConcurrent?: number;
  /** Fires when the worker must hand its jobs back (after the shutdown grace period). */
  shutdown?: AbortSignal;
  /**
   * Long recordings fan out: their chunks become messages any worker may take. Without
   * this, every job is transcribed where it was claimed and chunk messages are refused.
   */
  fanOut?: {
    /** Fan out when at least this many chunks are pending; 0 never (chunk messages are still served). */
    minChunks: number;
    /** Lease of a fanned-out job, renewed by each chunk's worker. */
    leaseMs: number;
    storage: Pick<Storage, 'upload' | 'download' | 'delete'>;
  };
}

/** Handles one `transcribe.jobs` message; never throws (the message is always settled). */
export function createJobHandler(deps: JobHandlerDeps): MessageHandler {
  return async (body, ctx) => {
    let message: JobsQueueMessage;
    try {
      message = JobsQueueMessage.parse(JSON.parse(body.toString()));
    } catch (error) {
      // Not ours or not parseable: dead-letter it, keep consuming.
      deps.logger.error({ err: error }, 'invalid message on jobs queue; dead-lettered');
      ctx.nack(false);
      return;
    }
    const log = deps.logger.child({ jobId: message.jobId, tenantId: message.tenantId });
    if (message.type === 'chunk' && !deps.fanOut) {
      log.error('chunk message on a worker without fan-out configured; dead-lettered');
      ctx.nack(false);
      return;
    }
    try {
      const outcome =
        message.type === 'chunk'
          ? await handleChunk(
              {
                ...deps,
                storage: deps.fanOut!.storage,
                engines: deps.pipeline.engines,
                tmpDir: deps.pipeline.tmpDir,
                leaseMs: deps.fanOut!.leaseMs,
                chunkLeaseMs: deps.leaseMs,
                recheckLevel: delayLevelFor(deps.leaseMs, deps.retry, DELAY_LEVELS),
                heartbeatMs: heartbeatMs(),
                chunkTimeoutMs: deps.jobTimeoutMs,
                settleFailure: (job, cause, chunkLog) =>
                  settleFailure(job, chargedAttempts(job), cause, chunkLog),
              },
              message,
              log.child({ chunk: message.index }),
            )
          : await handle(message, log);
      if (outcome === 'ack') ctx.ack();
      else ctx.nack(true);
    } catch (error) {
      // Infrastructure trouble (Postgres down…): give the message back after a pause.
      log.error({ err: error }, 'job handling failed; message requeued');
      await new Promise((r) => setTimeout(r, 1000));
      ctx.nack(true);
    }
  };

  async function handle(message: TranscribeMessage, log: Logger): Promise<Outcome> {
    // A redelivered message is claimed like any other: only an expired lease is taken
    // over. One for a job whose holder is still renewing its lease (the broker lost a
    // channel, not the worker) finds nothing to claim and is dropped: the holder's result
    // completes the job, and should the holder die the reaper requeues the job once the
    // lease runs out, with a fresh message. Requeueing it through a delay queue instead
    // would only duplicate the reaper and keep a message cycling for the length of a job.
    const job = await claimForProcessing(deps.db, message.jobId, {
      leaseMs: deps.leaseMs,
      tenantMaxConcurrent: deps.tenantMaxConcurrent,
      deferMs: retryDelayMs(1, deps.retry),
    });
    if (job === 'deferred') {
      log.debug('the tenant has its maximum of jobs processing; job deferred');
      deps.relay.kick();
      return 'ack';
    }
    if (!job) {
      log.info(
        'job is not waiting for a worker (finished, canceled, or held under a live lease); message dropped',
      );
      return 'ack';
    }
    deps.relay.kick();
    // Attempts are counted from the last manual retry (retry_base), less the ones lost to
    // infrastructure (hand-overs, expired leases), which say nothing about the audio.
    const attempt = chargedAttempts(job);
    const exhausted = exhaustedBudget(job, deps);
    if (exhausted) {
      await settle(job, () => markDeadLettered(deps.db, job, exhausted));
      deps.metrics.jobs.inc({ outcome: 'failed' });
      return 'ack';
    }
    log.info({ attempt }, 'processing');
    const started = Date.now();
    deps.metrics.inFlight.inc();

    const guard = guardAttempt({
      shutdown: deps.shutdown,
      timeoutMs: deps.jobTimeoutMs,
      heartbeatMs: heartbeatMs(),
      renew: () =>
        renewLease(deps.db, { id: job.id, attempt: job.attempts, leaseMs: deps.leaseMs }),
      onRenewError: (err) => log.warn({ err }, 'lease renewal failed'),
    });

    const fanOut = deps.fanOut && jobFanOut(deps.db, deps.fanOut, job);
    try {
      const progress = progressReporter(job, log, () => guard.abort(new JobLostError()));
      const result = await runPipeline(
        {
          objectKey: job.object_key,
          engine: job.engine,
          language: job.language,
          model: job.model,
        },
        deps.pipeline,
        progress.report,
        guard.signal,
        dbChunkStore(deps.db, job),
        fanOut,
        tenantAudioAdmission(deps.db, job, deps.tenantMaxAudioSPerDay ?? 0),
      ).then(
        async (result) => {
          await progress.flush();
          return result;
        },
        async (error: unknown) => {
          // A failed attempt's pending progress would only be refused or misleading.
          await progress.stop();
          throw error;
        },
      );
      if (result.fannedOut > 0) {
        log.info(
          { chunks: result.chunks, fannedOut: result.fannedOut },
          'chunks handed to the worker pool',
        );
        deps.relay.kick();
        return 'ack';
      }
      const processingMs = Date.now() - started;
      await settle(job, () =>
        markCompleted(deps.db, job, {
          text: result.text,
          segments: result.segments,
          durationS: result.durationS,
          processingMs,
          model: result.model,
        }),
      );
      deps.metrics.jobs.inc({ outcome: 'completed' });
      deps.metrics.audioSeconds.inc(result.durationS);
      deps.metrics.chunks.inc(result.chunksTranscribed);
      log.info(
        {
          processingMs,
          durationS: result.durationS,
          chunks: result.chunks,
          chunksTranscribed: result.chunksTranscribed,
        },
        'completed',
      );
      return 'ack';
    } catch (error) {
      // When the signal fired, its reason says why, whatever the interrupted step threw.
      const cause: unknown = guard.signal.aborted ? guard.signal.reason : error;
      await fanOut?.discardUndispatched(log);
      return await settleFailure(job, attempt, cause, log);
    } finally {
      guard.release();
      deps.metrics.inFlight.dec();
    }
  }

  async function settleFailure(
    job: JobRow,
    attempt: number,
    cause: unknown,
    log: Logger,
  ): Promise<Outcome> {
    if (cause instanceof JobLostError) {
      // Canceled, or another worker took over after our lease ran out: nothing of ours to write.
      log.info('job is no longer ours (canceled or taken over); stopped');
      deps.metrics.jobs.inc({ outcome: 'abandoned' });
      return 'ack';
    }
    if (cause instanceof ShutdownError) {
      log.info('shutting down: job handed back to the queue');
      await settle(job, () => requeueForHandover(deps.db, job));
      deps.metrics.jobs.inc({ outcome: 'handed_over' });
      return 'requeue';
    }
    if (cause instanceof JobTimeoutError) {
      log.warn({ limitS: cause.limitS }, 'failed: time limit');
      await settle(job, () =>
        markFailed(deps.db, job, { code: 'timeout', message: cause.message }),
      );
      deps.metrics.jobs.inc({ outcome: 'failed' });
      return 'ack';
    }
    if (isPermanentJobError(cause)) {
      log.warn({ code: cause.code, reason: cause.message }, 'failed: bad input');
      await settle(job, () =>
        markFailed(deps.db, job, { code: cause.code, message: cause.message }),
      );
      deps.metrics.jobs.inc({ outcome: 'failed' });
      return 'ack';
    }
    if (isInfrastructureFailure(cause)) {
      // Not the job's fault: retried soon, and the attempt is lost rather than charged.
      const delayMs = retryDelayMs(1, deps.retry);
      log.warn({ err: cause, attempt, delayMs }, 'a dependency failed mid-job; retry uncharged');
      await settle(job, () => requeueForRetry(deps.db, job, { level: 1, delayMs, lost: true }));
      deps.metrics.jobs.inc({ outcome: 'retried' });
      return 'ack';
    }
    const reason = cause instanceof Error ? cause.message : String(cause);
    if (attempt < deps.maxAttempts) {
      const delayMs = retryDelayMs(attempt, deps.retry);
      log.warn({ err: cause, attempt, delayMs }, 'transient failure; will retry');
      await settle(job, () => requeueForRetry(deps.db, job, { level: attempt, delayMs }));
      deps.metrics.jobs.inc({ outcome: 'retried' });
      return 'ack';
    }
    log.error({ err: cause, attempt }, 'failed after the last attempt; dead-lettered');
    await settle(job, () =>
      markDeadLettered(deps.db, job, {
        code: 'engine_failed',
        message: `transcription failed after ${attempt} attempts: ${reason}`,
      }),
    );
    deps.metrics.jobs.inc({ outcome: 'failed' });
    return 'ack';
  }

  function heartbeatMs(): number {
    return Math.max(500, Math.floor(deps.leaseMs / 3));
  }

  /** Runs a final transition; "false" means another attempt owns the job now, which is fine. */
  async function settle(job: JobRow, transition: () => Promise<boolean>) {
    const applied = await transition();
    if (applied) deps.relay.kick();
    else deps.logger.warn({ jobId: job.id }, 'job was taken over or canceled; result discarded');
  }

  /** Writes progress events, paced (see progress-throttle.ts), without blocking the pipeline. */
  function progressReporter(job: JobRow, log: Logger, onLost: () => void) {
    return throttleProgress<Stage>({
      minIntervalMs: Math.max(500, deps.progressIntervalMs),
      write: (progress, stage) =>
        reportProgress(deps.db, job, { progress, stage, leaseMs: deps.leaseMs })
          .then((held) => {
            if (held) deps.relay.kick();
            else onLost();
          })
          .catch((err: unknown) => log.warn({ err }, 'progress update failed')),
    });
  }
}
