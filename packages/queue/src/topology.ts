import { MAX_PRIORITY } from '@transcribe/jobs';
import type { Channel } from 'amqplib';

export interface TopologyNames {
  /** Work queue of transcription jobs (classic, durable, priorities 0–3). */
  jobsQueue: string;
  /** Where rejected (unparseable, poison) job messages end up, with the reason in headers. */
  deadQueue: string;
  /** Topic exchange for job events; routing key `<tenant>.<job>.<type>`. */
  eventsExchange: string;
  /**
   * Retry delay queues, one per backoff level (`transcribe.delay.1` …): no consumers;
   * each message carries its own TTL and dead-letters back to the jobs queue when it
   * expires. One queue per level keeps the TTLs in a queue close together, so a message
   * never waits long behind a later-expiring one (RabbitMQ expires from the head only).
   */
  delayQueues: string[];
  /** The notifiers' shared, durable queue of terminal events for webhooks. */
  webhooksQueue: string;
  /**
   * The enrichment lane (issue 15): chat-model work on finished transcripts. Its own queue,
   * so it never delays transcription and scales on its own depth; same priorities.
   */
  enrichQueue: string;
  /** The enrichment lane's retry delay queues; they dead-letter back to `enrichQueue`. */
  enrichDelayQueues: string[];
}

/** Backoff levels with their own delay queue; later retries reuse the last one. */
export const DELAY_LEVELS = 5;

export function topologyNames(prefix = ''): TopologyNames {
  return {
    jobsQueue: `${prefix}transcribe.jobs`,
    deadQueue: `${prefix}transcribe.dead`,
    eventsExchange: `${prefix}job.events`,
    delayQueues: Array.from(
      { length: DELAY_LEVELS },
      (_, i) => `${prefix}transcribe.delay.${i + 1}`,
    ),
    webhooksQueue: `${prefix}notifier.webhooks`,
    enrichQueue: `${prefix}transcribe.enrich`,
    enrichDelayQueues: Array.from(
      { length: DELAY_LEVELS },
      (_, i) => `${prefix}transcribe.enrich.delay.${i + 1}`,
    ),
  };
}

// Messages carry priorities 0..MAX_PRIORITY (see packages/jobs/src/messages.ts).
export { MAX_PRIORITY };

/**
 * Declares everything the services use. Idempotent; re-run on every reconnect so a broker
 * that lost its definitions (a fresh node) gets them back.
 */
export async function assertTopology(channel: Channel, names: TopologyNames): Promise<void> {
  await channel.assertQueue(names.deadQueue, { durable: true });
  await channel.assertQueue(names.jobsQueue, {
    durable: true,
    arguments: {
      'x-max-priority': MAX_PRIORITY,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': names.deadQueue,
    },
  });
  await channel.assertExchange(names.eventsExchange, 'topic', { durable: true });
  for (const queue of names.delayQueues) {
    await channel.assertQueue(queue, {
      durable: true,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': names.jobsQueue },
    });
  }
  await channel.assertQueue(names.enrichQueue, {
    durable: true,
    arguments: {
      'x-max-priority': MAX_PRIORITY,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': names.deadQueue,
    },
  });
  for (const queue of names.enrichDelayQueues) {
    await channel.assertQueue(queue, {
      durable: true,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': names.enrichQueue },
    });
  }
}

/** Routing keys (`<tenant>.<job>.<type>`) of the events that trigger webhooks. */
export const WEBHOOK_BINDINGS = [
  '*.*.completed',
  '*.*.failed',
  '*.*.canceled',
  '*.*.enrichment.completed',
  '*.*.enrichment.failed',
];

/**
 * The notifiers' shared, durable webhooks queue, bound to the terminal events. Declared
 * only by its consumers, not by `assertTopology`: until a notifier has run once, no queue
 * holds terminal events for nobody.
 */
export async function assertWebhooksQueue(channel: Channel, names: TopologyNames): Promise<void> {
  await channel.assertExchange(names.eventsExchange, 'topic', { durable: true });
  await channel.assertQueue(names.webhooksQueue, { durable: true });
  for (const key of WEBHOOK_BINDINGS) {
    await channel.bindQueue(names.webhooksQueue, names.eventsExchange, key);
  }
}

/** The delay queue for the `level`-th retry (1-based; past the last level, the last). */
export function delayQueueFor(names: TopologyNames, level: number): string {
  return atLevel(names.delayQueues, level);
}

/** The enrichment lane's delay queue for the `level`-th retry. */
export function enrichDelayQueueFor(names: TopologyNames, level: number): string {
  return atLevel(names.enrichDelayQueues, level);
}

function atLevel(queues: readonly string[], level: number): string {
  const index = Math.min(Math.max(1, Math.floor(level)), queues.length) - 1;
  return queues[index]!;
}
