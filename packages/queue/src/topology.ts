import type { Channel } from 'amqplib';

export interface TopologyNames {
  /** Work queue of transcription jobs (classic, durable, priorities 0–3). */
  jobsQueue: string;
  /** Where rejected (unparseable, poison) job messages end up, with the reason in headers. */
  deadQueue: string;
  /** Topic exchange for job events; routing key `<tenant>.<job>.<type>`. */
  eventsExchange: string;
}

export function topologyNames(prefix = ''): TopologyNames {
  return {
    jobsQueue: `${prefix}transcribe.jobs`,
    deadQueue: `${prefix}transcribe.dead`,
    eventsExchange: `${prefix}job.events`,
  };
}

/** Highest message priority (critical). Classic queues cost a sub-queue per level, so keep it small. */
export const MAX_PRIORITY = 3;

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
}
