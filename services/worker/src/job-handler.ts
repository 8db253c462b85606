import { TranscribeMessage } from '@transcribe/contracts';
import type { Db, JobRow } from '@transcribe/db';
import type { MessageHandler, OutboxRelay } from '@transcribe/queue';
import type { Logger } from '@transcribe/telemetry';
import { isPermanentJobError } from './errors.js';
import { runPipeline, type PipelineDeps, type Stage } from './pipeline.js';
import {
  claimForProcessing,
  markCompleted,
  markFailed,
  reportProgress,
  requeueForRetry,
} from './transitions.js';
import type { WorkerMetrics } from './metrics.js';

export interface JobHandlerDeps {
  db: Db;
  relay: Pick<OutboxRelay, 'kick'>;
  logger: Logger;
  metrics: WorkerMetrics;
  pipeline: PipelineDeps;
  maxAttempts: number;
  /** A job not heard from for this long may be taken over by another worker. */
  leaseMs: number;
  /** Progress events are written at most this often (plus at every stage change). */
  progressIntervalMs: number;
}

/** Handles one `transcribe.jobs` message; never throws (the message is always settled). */
export function createJobHandler(deps: JobHandlerDeps): MessageHandler {
  return async (body, ctx) => {
    let message: TranscribeMessage;
    try {
      message = TranscribeMessage.parse(JSON.parse(body.toString()));
    } catch (error) {
      // Not ours or not parseable: dead-letter it, keep consuming.
      deps.logger.error({ err: error }, 'invalid message on jobs queue; dead-lettered');
      ctx.nack(false);
      return;
    }
    const log = deps.logger.child({ jobId: message.jobId, tenantId: message.tenantId });
    try {
      await handle(message, log, ctx.redelivered);
      ctx.ack();
    } catch (error) {
      // Infrastructure trouble (Postgres down…): give the message back after a pause.
      log.error({ err: error }, 'job handling failed; message requeued');
      await new Promise((r) => setTimeout(r, 1000));
      ctx.nack(true);
    }
  };

  async function handle(message: TranscribeMessage, log: Logger, redelivered: boolean) {
    const job = await claimForProcessing(deps.db, message.jobId, {
      leaseMs: deps.leaseMs,
      takeOver: redelivered,
    });
    if (!job) {
      log.info('job is not waiting for a worker (finished, canceled or held); message dropped');
      return;
    }
    deps.relay.kick();
    if (job.attempts > deps.maxAttempts) {
      await settle(job, () =>
        markFailed(deps.db, job, {
          code: 'engine_failed',
          message: `gave up after ${deps.maxAttempts} attempts`,
        }),
      );
      return;
    }
    log.info({ attempt: job.attempts }, 'processing');
    const started = Date.now();
    deps.metrics.inFlight.inc();
    try {
      const progress = progressReporter(job, log);
      const result = await runPipeline(
        {
          objectKey: job.object_key,
          engine: job.engine,
          language: job.language,
          model: job.model,
        },
        deps.pipeline,
        progress.report,
      ).finally(() => progress.flush());
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
      log.info({ processingMs, durationS: result.durationS }, 'completed');
    } catch (error) {
      if (isPermanentJobError(error)) {
        log.warn({ code: error.code, reason: error.message }, 'failed: bad input');
        await settle(job, () =>
          markFailed(deps.db, job, { code: error.code, message: error.message }),
        );
        deps.metrics.jobs.inc({ outcome: 'failed' });
      } else if (job.attempts < deps.maxAttempts) {
        log.warn({ err: error, attempt: job.attempts }, 'transient failure; will retry');
        await settle(job, () => requeueForRetry(deps.db, job));
        deps.metrics.jobs.inc({ outcome: 'retried' });
      } else {
        log.error({ err: error }, 'failed after the last attempt');
        const reason = error instanceof Error ? error.message : String(error);
        await settle(job, () =>
          markFailed(deps.db, job, {
            code: 'engine_failed',
            message: `transcription failed: ${reason}`,
          }),
        );
        deps.metrics.jobs.inc({ outcome: 'failed' });
      }
    } finally {
      deps.metrics.inFlight.dec();
    }
  }

  /** Runs a final transition; "false" means another attempt owns the job now, which is fine. */
  async function settle(job: JobRow, transition: () => Promise<boolean>) {
    const applied = await transition();
    if (applied) deps.relay.kick();
    else deps.logger.warn({ jobId: job.id }, 'job was taken over; result discarded');
  }

  /** Writes progress events, throttled, in order, without blocking the pipeline. */
  function progressReporter(job: JobRow, log: Logger) {
    let lastStage: Stage | undefined;
    let lastWrite = 0;
    let chain = Promise.resolve();
    const report = (progress: number, stage: Stage) => {
      const now = Date.now();
      if (stage === lastStage && now - lastWrite < deps.progressIntervalMs) return;
      lastStage = stage;
      lastWrite = now;
      chain = chain
        .then(() => reportProgress(deps.db, job, { progress, stage, leaseMs: deps.leaseMs }))
        .then((held) => {
          if (held) deps.relay.kick();
        })
        .catch((err: unknown) => log.warn({ err }, 'progress update failed'));
    };
    // Pending progress lands before the final transition, so events stay in causal order.
    return { report, flush: () => chain };
  }
}
