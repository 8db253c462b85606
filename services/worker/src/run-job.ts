// One attempt at a whole job, from its `transcribe.jobs` message to its final transition.
import type { TranscribeMessage } from '@transcribe/contracts';
import { chargedAttempts, renewLease, type Db, type JobRow } from '@transcribe/db';
import { claimForProcessing, markCompleted, markDeadLettered } from '@transcribe/jobs';
import type { OutboxRelay } from '@transcribe/queue';
import type { Storage } from '@transcribe/storage';
import type { Logger } from '@transcribe/telemetry';
import { tenantAudioAdmission } from './admission.js';
import { exhaustedBudget } from './attempt-budget.js';
import { guardAttempt, heartbeatIntervalMs } from './attempt-guard.js';
import { dbChunkStore } from './chunk-store.js';
import { JobLostError } from './errors.js';
import { settleFailure } from './failure-policy.js';
import { jobFanOut } from './fan-out.js';
import { observeClaim, type WorkerMetrics } from './metrics.js';
import { runPipeline, type PipelineDeps, type Stage } from './pipeline.js';
import { progressReporter } from './progress-reporter.js';
import { retryDelayMs, type RetryPolicy } from './retry-policy.js';
import { settle, type Outcome } from './settle.js';

export interface RunJobDeps {
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
  /**
   * `fair`: a message is a token and the next unit of work is chosen between tenants
   * (issue 17, packages/jobs scheduler.ts); `fifo` (the default here): each message's own
   * job or chunk, in the broker's order.
   */
  scheduler?: 'fair' | 'fifo';
  /** Fires when the worker must hand its jobs back (after the shutdown grace period). */
  shutdown?: AbortSignal;
  /**
   * Long recordings fan out: their chunks become messages any worker may take. Without
   * this, every job is transcribed where it was claimed and chunk messages are refused.
   */
  fanOut?: {
    /** Fan out when at least this many chunks are pending; 0 never (chunk messages are still served). */
    minChunks: number;
    /** A recording longer than one chunk is cut into at least this many (FanOut.spreadChunks). */
    spreadChunks?: number;
    /** Lease of a fanned-out job, renewed by each chunk's worker. */
    leaseMs: number;
    storage: Pick<Storage, 'upload' | 'download' | 'delete'>;
  };
}

export async function runJob(
  deps: RunJobDeps,
  message: TranscribeMessage,
  log: Logger,
): Promise<Outcome> {
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
  return runClaimedJob(deps, job, log);
}

/**
 * A claimed attempt, from its budget check to its final transition: shared by both
 * schedulers (fifo claims the message's job, fair the next job in fair order).
 */
export async function runClaimedJob(deps: RunJobDeps, job: JobRow, log: Logger): Promise<Outcome> {
  observeClaim(deps.metrics, job, Date.now());
  // Attempts are counted from the last manual retry (retry_base), less the ones lost to
  // infrastructure (hand-overs, expired leases), which say nothing about the audio.
  const attempt = chargedAttempts(job);
  const exhausted = exhaustedBudget(job, deps);
  if (exhausted) {
    await settle(deps, job, () => markDeadLettered(deps.db, job, exhausted), 'failed');
    return 'ack';
  }
  log.info({ attempt }, 'processing');
  const started = Date.now();
  deps.metrics.inFlight.inc();

  const guard = guardAttempt({
    shutdown: deps.shutdown,
    timeoutMs: deps.jobTimeoutMs,
    heartbeatMs: heartbeatIntervalMs(deps.leaseMs),
    renew: () => renewLease(deps.db, { id: job.id, attempt: job.attempts, leaseMs: deps.leaseMs }),
    onRenewError: (err) => log.warn({ err }, 'lease renewal failed'),
  });

  const fanOut = deps.fanOut && jobFanOut(deps.db, deps.fanOut, job);
  try {
    const progress = progressReporter<Stage>(deps, job, log, () => guard.abort(new JobLostError()));
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
        await progress.finish();
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
    await settle(
      deps,
      job,
      () =>
        markCompleted(deps.db, job, {
          text: result.text,
          segments: result.segments,
          words: result.words,
          durationS: result.durationS,
          processingMs,
          model: result.model,
        }),
      'completed',
    );
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
    return await settleFailure(deps, job, attempt, cause, log);
  } finally {
    guard.release();
    deps.metrics.inFlight.dec();
  }
}
