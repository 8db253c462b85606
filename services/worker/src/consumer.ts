// The worker's side of the jobs queue: each delivery decoded and sent to a whole job's
// attempt or a fanned-out chunk, and on shutdown the drain that lets running jobs finish
// or hands them back.
import { JobsQueueMessage } from '@transcribe/contracts';
import { DELAY_LEVELS, type Broker, type MessageHandler } from '@transcribe/queue';
import type { Logger } from '@transcribe/telemetry';
import { heartbeatIntervalMs } from './attempt-guard.js';
import { handleChunk, type ChunkHandlerDeps } from './chunk-handler.js';
import { runToken } from './fair-token.js';
import { createIntake } from './intake.js';
import { delayLevelFor } from './retry-policy.js';
import { runJob, type RunJobDeps } from './run-job.js';

export type JobHandlerDeps = RunJobDeps;

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
    // Under the fair scheduler a chunk message is a token like any other.
    if (message.type === 'chunk' && !deps.fanOut && deps.scheduler !== 'fair') {
      log.error('chunk message on a worker without fan-out configured; dead-lettered');
      ctx.nack(false);
      return;
    }
    try {
      const outcome =
        deps.scheduler === 'fair'
          ? await runToken(deps, deps.fanOut && (() => chunkDeps(deps)), message, log)
          : message.type === 'chunk'
            ? await handleChunk(chunkDeps(deps), message, log.child({ chunk: message.index }))
            : await runJob(deps, message, log);
      if (outcome === 'ack') ctx.ack();
      else ctx.nack(true);
    } catch (error) {
      // Infrastructure trouble (Postgres down…): give the message back after a pause.
      log.error({ err: error }, 'job handling failed; message requeued');
      await new Promise((r) => setTimeout(r, 1000));
      ctx.nack(true);
    }
  };
}

/** A chunk's worker: the job's engines and storage, the fanned-out job's long lease. */
function chunkDeps(deps: JobHandlerDeps): ChunkHandlerDeps {
  return {
    ...deps,
    storage: deps.fanOut!.storage,
    engines: deps.pipeline.engines,
    tmpDir: deps.pipeline.tmpDir,
    leaseMs: deps.fanOut!.leaseMs,
    chunkLeaseMs: deps.leaseMs,
    recheckLevel: delayLevelFor(deps.leaseMs, deps.retry, DELAY_LEVELS),
    heartbeatMs: heartbeatIntervalMs(deps.leaseMs),
    chunkTimeoutMs: deps.jobTimeoutMs,
  };
}

export interface Consumer {
  inFlight(): number;
  /**
   * Stops taking messages and waits up to `graceMs` for running jobs; those still running
   * then are handed back (put back to `queued`, their messages nacked) so another worker
   * picks them up, resuming from their stored chunks.
   */
  drain(): Promise<void>;
}

/** Consumes the jobs queue with at most `concurrency` jobs at once. */
export async function startConsumer(options: {
  broker: Broker;
  deps: Omit<JobHandlerDeps, 'shutdown'>;
  concurrency: number;
  graceMs: number;
  logger: Logger;
}): Promise<Consumer> {
  const { broker, logger } = options;
  // Fired when the grace period is over: running jobs are handed back.
  const handBack = new AbortController();
  const intake = createIntake({
    concurrency: options.concurrency,
    handler: createJobHandler({ ...options.deps, shutdown: handBack.signal }),
    onOverflow: (inFlight) =>
      logger.warn({ inFlight }, 'delivery beyond WORKER_CONCURRENCY handed back to the queue'),
  });
  await broker.consume(broker.names.jobsQueue, intake.handle, {
    prefetch: options.concurrency,
    // A replaced channel (broker blip) takes no new work until the lost one's jobs settle.
    beforeSubscribe: async () => {
      if (intake.inFlight() === 0) return;
      logger.warn(
        { inFlight: intake.inFlight() },
        'broker channel replaced; waiting for running jobs',
      );
      await intake.idle();
    },
  });
  return {
    inFlight: () => intake.inFlight(),
    async drain() {
      await broker.stopConsuming();
      await intake.idleWithin(options.graceMs);
      if (intake.inFlight() > 0) {
        logger.info({ inFlight: intake.inFlight() }, 'grace period over; handing jobs back');
        handBack.abort();
        // If even that hangs, exiting leaves the messages unacked: the broker redelivers them.
        await intake.idleWithin(10_000);
      }
    },
  };
}
