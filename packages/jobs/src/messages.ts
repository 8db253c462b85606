// The outbox protocol of the `jobs` topic, both ends of it: what the lifecycle writes
// (a routing key naming a queue, a payload in a contracts schema) and how the relay reads
// the routing key back into a destination. Written once so the two cannot drift apart.
import {
  ChunkMessage,
  EnrichMessage,
  JobsQueueMessage,
  TranscribeMessage,
  type Priority,
} from '@transcribe/contracts';
import { insertOutbox, type Db } from '@transcribe/db';

/** Highest message priority (critical). Classic queues cost a sub-queue per level, so keep it small. */
export const MAX_PRIORITY = 3;

const PRIORITY_VALUE: Record<Priority, number> = {
  low: 0,
  default: 1,
  high: 2,
  critical: MAX_PRIORITY,
};

/**
 * Where a `jobs` outbox row goes: the jobs queue, a backoff level's delay queue, the
 * dead-letter queue, or the enrichment lane (issue 15) and its own delay queues.
 */
export type JobsRoute =
  | { queue: 'jobs' }
  | { queue: 'delay'; level: number }
  | { queue: 'dead' }
  | { queue: 'enrich' }
  | { queue: 'enrich-delay'; level: number };

export type JobsRoutingKey =
  'transcribe' | 'dead' | `retry.${number}` | 'enrich' | `enrich.retry.${number}`;

export function jobsRoutingKey(route: JobsRoute): JobsRoutingKey {
  switch (route.queue) {
    case 'jobs':
      return 'transcribe';
    case 'dead':
      return 'dead';
    case 'delay':
      return `retry.${Math.max(1, Math.floor(route.level))}`;
    case 'enrich':
      return 'enrich';
    case 'enrich-delay':
      return `enrich.retry.${Math.max(1, Math.floor(route.level))}`;
  }
}

/** The relay's reading of a routing key; anything unknown goes to the jobs queue. */
export function parseJobsRoutingKey(key: string): JobsRoute {
  const retry = /^retry\.(\d+)$/.exec(key);
  if (retry) return { queue: 'delay', level: Number(retry[1]) };
  const enrichRetry = /^enrich\.retry\.(\d+)$/.exec(key);
  if (enrichRetry) return { queue: 'enrich-delay', level: Number(enrichRetry[1]) };
  if (key === 'enrich') return { queue: 'enrich' };
  if (key === 'dead') return { queue: 'dead' };
  return { queue: 'jobs' };
}

/** Why a job was dead-lettered, carried in the message's headers. */
export interface DeadLetterReason {
  code: string;
  reason: string;
  attempts: number;
}

/** Headers of a message on `transcribe.dead` put there by the lifecycle. */
export interface DeadLetterHeaders {
  'x-error-code': string;
  'x-reason': string;
  'x-attempts': number;
  [name: string]: string | number;
}

export function deadLetterHeaders(why: DeadLetterReason): DeadLetterHeaders {
  return {
    'x-error-code': why.code,
    'x-reason': why.reason.slice(0, 1000),
    'x-attempts': why.attempts,
  };
}

type JobRef = { id: string; tenantId: string };

// Payloads are parsed before they are written: a message the worker could not read
// would only be dead-lettered on arrival, far from the code that wrote it.
const transcribePayload = (job: JobRef): TranscribeMessage =>
  TranscribeMessage.parse({ v: 1, jobId: job.id, tenantId: job.tenantId });

type Delay = { level: number; delayMs: number };

/**
 * One message on a lane (the jobs queue or the enrichment lane) through the outbox, at a
 * priority; with `delay`, it waits first in that lane's delay queue of backoff `level`.
 */
function queueOnLane(
  trx: Db,
  lane: 'jobs' | 'enrich',
  payload: unknown,
  priority: Priority,
  delay?: Delay,
): Promise<void> {
  const delayed: JobsRoute | undefined = delay && {
    queue: lane === 'jobs' ? 'delay' : 'enrich-delay',
    level: delay.level,
  };
  return insertOutbox(trx, {
    topic: 'jobs',
    routingKey: jobsRoutingKey(delayed ?? { queue: lane }),
    payload,
    priority: PRIORITY_VALUE[priority],
    ...(delay ? { expirationMs: Math.max(0, Math.round(delay.delayMs)) } : {}),
  });
}

/** A job's `transcribe.jobs` message as an outbox row, for a statement that writes it itself. */
export function transcriptionOutboxRow(job: JobRef & { priority: Priority }) {
  return {
    topic: 'jobs' as const,
    routingKey: jobsRoutingKey({ queue: 'jobs' }),
    payload: transcribePayload(job),
    priority: PRIORITY_VALUE[job.priority],
  };
}

/**
 * Queues a job's `transcribe.jobs` message through the outbox, in the caller's transaction:
 * the message exists if and only if the job's state change committed.
 */
export async function enqueueTranscription(
  trx: Db,
  job: JobRef & { priority: Priority },
): Promise<void> {
  await queueOnLane(trx, 'jobs', transcribePayload(job), job.priority);
}

/**
 * Queues a retry through the outbox, in the caller's transaction: the message waits
 * `delayMs` in the delay queue of backoff level `level`, then returns to the jobs queue.
 */
export async function enqueueRetry(
  trx: Db,
  job: JobRef & { priority: Priority },
  retry: Delay,
): Promise<void> {
  await queueOnLane(trx, 'jobs', transcribePayload(job), job.priority, retry);
}

/**
 * Puts a job that ran out of attempts on `transcribe.dead` with the reason in its
 * headers (see DeadLetterHeaders), through the outbox.
 */
export async function enqueueDeadLetter(
  trx: Db,
  job: JobRef,
  why: DeadLetterReason,
): Promise<void> {
  await insertOutbox(trx, {
    topic: 'jobs',
    routingKey: jobsRoutingKey({ queue: 'dead' }),
    payload: transcribePayload(job),
    headers: deadLetterHeaders(why),
  });
}

/**
 * Queues one message per chunk of a fanned-out job through the outbox, in the caller's
 * transaction, at the job's priority: any worker of the pool may take any chunk. With
 * `delay`, the messages wait in that delay queue first (a chunk another worker holds,
 * looked at again once its lease would have run out).
 */
export async function enqueueChunks(
  trx: Db,
  job: JobRef & { priority: Priority },
  chunks: {
    indexes: readonly number[];
    attempt: number;
    delay?: Delay;
  },
): Promise<void> {
  for (const index of chunks.indexes) {
    const payload = ChunkMessage.parse({
      v: 1,
      type: 'chunk',
      jobId: job.id,
      tenantId: job.tenantId,
      index,
      attempt: chunks.attempt,
    });
    await queueOnLane(trx, 'jobs', payload, job.priority, chunks.delay);
  }
}

/**
 * Puts a fair scheduler's token back on the jobs lane through a delay queue (it found work,
 * but none that may start yet): the same message, which names no work in that mode.
 */
export async function enqueueToken(
  trx: Db,
  message: JobsQueueMessage,
  delay: Delay,
  priority: Priority = 'default',
): Promise<void> {
  await queueOnLane(trx, 'jobs', JobsQueueMessage.parse(message), priority, delay);
}

/**
 * Queues `copies` messages for one enrichment on the enrichment lane, through the outbox,
 * in the caller's transaction, at its job's priority. Several copies let several workers
 * take pieces of one long enrichment at once; with `delay`, they wait in that backoff
 * level's enrichment delay queue first (a retry).
 */
export async function enqueueEnrichment(
  trx: Db,
  enrichment: { id: string; jobId: string; tenantId: string; priority: Priority },
  options: { copies?: number; delay?: Delay } = {},
): Promise<void> {
  const payload = EnrichMessage.parse({
    v: 1,
    type: 'enrichment',
    enrichmentId: enrichment.id,
    jobId: enrichment.jobId,
    tenantId: enrichment.tenantId,
  });
  for (let i = 0; i < Math.max(1, options.copies ?? 1); i++) {
    await queueOnLane(trx, 'enrich', payload, enrichment.priority, options.delay);
  }
}
