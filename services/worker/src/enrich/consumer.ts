// The worker's side of the enrichment lane (`transcribe.enrich`): each delivery decoded
// and run by runEnrichment, never crashing the consumer; on shutdown the drain aborts
// running requests, releases their pieces and hands the messages back.
import { EnrichMessage } from '@transcribe/contracts';
import type { Broker, MessageHandler } from '@transcribe/queue';
import type { Logger } from '@transcribe/telemetry';
import { createIntake } from '../intake.js';
import { runEnrichment, type EnrichDeps } from './run-enrichment.js';

/** Handles one `transcribe.enrich` message; never throws (the message is always settled). */
export function createEnrichHandler(deps: EnrichDeps): MessageHandler {
  return async (body, ctx) => {
    let message: EnrichMessage;
    try {
      message = EnrichMessage.parse(JSON.parse(body.toString()));
    } catch (error) {
      deps.logger.error({ err: error }, 'invalid message on the enrichment lane; dead-lettered');
      ctx.nack(false);
      return;
    }
    const log = deps.logger.child({
      jobId: message.jobId,
      tenantId: message.tenantId,
      enrichmentId: message.enrichmentId,
    });
    try {
      const settle = await runEnrichment(deps, message, log, {
        redelivered: ctx.redelivered,
        // RabbitMQ stamps x-death on a message a delay queue dead-lettered back here.
        delayed: ctx.headers['x-death'] !== undefined,
      });
      if (settle === 'ack') ctx.ack();
      else ctx.nack(true);
    } catch (error) {
      // Infrastructure trouble (Postgres down…): give the message back after a pause.
      log.error({ err: error }, 'enrichment handling failed; message requeued');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      ctx.nack(true);
    }
  };
}

export interface EnrichConsumer {
  inFlight(): number;
  /**
   * Stops taking messages and waits up to `graceMs` for running enrichments' requests;
   * then aborts the rest: their pieces are released and their messages nacked, so
   * another worker continues from the stored pieces.
   */
  drain(): Promise<void>;
}

/** Consumes the enrichment lane with at most `concurrency` deliveries at once. */
export async function startEnrichConsumer(options: {
  broker: Broker;
  deps: Omit<EnrichDeps, 'shutdown' | 'draining'>;
  concurrency: number;
  graceMs: number;
  logger: Logger;
}): Promise<EnrichConsumer> {
  const { broker, logger } = options;
  const draining = new AbortController();
  const handBack = new AbortController();
  const intake = createIntake({
    concurrency: options.concurrency,
    handler: createEnrichHandler({
      ...options.deps,
      draining: draining.signal,
      shutdown: handBack.signal,
    }),
    onOverflow: (inFlight) =>
      logger.warn({ inFlight }, 'delivery beyond ENRICH_CONCURRENCY handed back to the queue'),
  });
  await broker.consume(broker.names.enrichQueue, intake.handle, {
    prefetch: options.concurrency,
    beforeSubscribe: async () => {
      if (intake.inFlight() > 0) await intake.idle();
    },
  });
  return {
    inFlight: () => intake.inFlight(),
    async drain() {
      await broker.stopConsuming();
      draining.abort();
      await intake.idleWithin(options.graceMs);
      if (intake.inFlight() > 0) {
        logger.info({ inFlight: intake.inFlight() }, 'grace period over; handing enrichments back');
        handBack.abort();
        await intake.idleWithin(10_000);
      }
    },
  };
}
