import { claimOutbox, deleteOutbox, type Db, type OutboxRow } from '@transcribe/db';
import { parseJobsRoutingKey } from '@transcribe/jobs';
import type { Broker } from './broker.js';
import { delayQueueFor, enrichDelayQueueFor } from './topology.js';

export interface OutboxRelay {
  /** Drain now (call after committing outbox rows) instead of waiting for the next poll. */
  kick(): void;
  stop(): Promise<void>;
}

export interface OutboxRelayOptions {
  db: Db;
  broker: Broker;
  pollMs: number;
  batchSize?: number;
  onError?: (error: unknown) => void;
}

/** `jobs` rows go straight to the queue their routing key names (see packages/jobs/src/messages.ts). */
function destination(broker: Broker, row: OutboxRow): { exchange: string; routingKey: string } {
  if (row.topic !== 'jobs') {
    return { exchange: broker.names.eventsExchange, routingKey: row.routing_key };
  }
  const route = parseJobsRoutingKey(row.routing_key);
  switch (route.queue) {
    case 'delay':
      return { exchange: '', routingKey: delayQueueFor(broker.names, route.level) };
    case 'dead':
      return { exchange: '', routingKey: broker.names.deadQueue };
    case 'jobs':
      return { exchange: '', routingKey: broker.names.jobsQueue };
    case 'enrich':
      return { exchange: '', routingKey: broker.names.enrichQueue };
    case 'enrich-delay':
      return { exchange: '', routingKey: enrichDelayQueueFor(broker.names, route.level) };
  }
}

/**
 * Publishes outbox rows with publisher confirms and deletes them in the same transaction
 * that locked them. A crash between confirm and commit republishes the row: delivery is
 * at-least-once, and consumers are idempotent (guarded job updates, events deduped by seq).
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const batchSize = options.batchSize ?? 100;
  let current: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  async function drainOnce(): Promise<number> {
    return options.db.transaction().execute(async (trx) => {
      const rows = await claimOutbox(trx, batchSize);
      // Issued in order on one confirm channel, so the broker keeps the order; we only wait together.
      await Promise.all(
        rows.map((row) => {
          const { exchange, routingKey } = destination(options.broker, row);
          return options.broker.publish(exchange, routingKey, row.payload, {
            priority: row.priority ?? undefined,
            messageId: String(row.id),
            expiration: row.expiration_ms ?? undefined,
            headers: row.headers ?? undefined,
          });
        }),
      );
      await deleteOutbox(
        trx,
        rows.map((r) => r.id),
      );
      return rows.length;
    });
  }

  async function drain(): Promise<void> {
    try {
      // Kicks that came before stop() are honoured; a backlog is left to other relays.
      do {
        again = false;
        if ((await drainOnce()) === batchSize && !stopped) again = true;
      } while (again);
    } catch (error) {
      options.onError?.(error);
    } finally {
      current = undefined;
    }
  }

  function kick(): void {
    if (stopped) return;
    if (current) {
      again = true;
      return;
    }
    current = drain();
  }

  const timer = setInterval(kick, options.pollMs);
  timer.unref();
  kick(); // rows left by a previous process go out now, not at the first poll
  return {
    kick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await current;
    },
  };
}
