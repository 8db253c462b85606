import type { ChunkMessage, Priority, TranscribeMessage } from '@transcribe/contracts';
import {
  appendJobEvent,
  insertJob,
  insertOutbox,
  type Db,
  type JobRow,
  type NewJob,
} from '@transcribe/db';
import { MAX_PRIORITY } from './topology.js';

const PRIORITY_VALUE: Record<Priority, number> = {
  low: 0,
  default: 1,
  high: 2,
  critical: MAX_PRIORITY,
};

/**
 * Queues a job's `transcribe.jobs` message through the outbox, in the caller's transaction:
 * the message exists if and only if the job's state change committed.
 */
export async function enqueueTranscription(
  trx: Db,
  job: { id: string; tenantId: string; priority: Priority },
): Promise<void> {
  const payload: TranscribeMessage = { v: 1, jobId: job.id, tenantId: job.tenantId };
  await insertOutbox(trx, {
    topic: 'jobs',
    routingKey: 'transcribe',
    payload,
    priority: PRIORITY_VALUE[job.priority],
  });
}

/**
 * A new job, queued: its row, its `queued` event and its message, all in the caller's
 * transaction, so the job exists if and only if its message will be sent.
 */
export async function insertQueuedJob(
  trx: Db,
  job: Omit<NewJob, 'status' | 'stage'>,
): Promise<JobRow> {
  const row = await insertJob(trx, { ...job, status: 'queued', stage: 'queued' });
  const tenantId = row.tenant_id;
  await appendJobEvent(trx, { id: row.id, tenantId }, { type: 'queued' });
  await enqueueTranscription(trx, { id: row.id, tenantId, priority: row.priority });
  return row;
}

/**
 * Queues a retry through the outbox, in the caller's transaction: the message waits
 * `delayMs` in the delay queue of backoff level `level`, then returns to the jobs queue.
 */
export async function enqueueRetry(
  trx: Db,
  job: { id: string; tenantId: string; priority: Priority },
  retry: { level: number; delayMs: number },
): Promise<void> {
  const payload: TranscribeMessage = { v: 1, jobId: job.id, tenantId: job.tenantId };
  await insertOutbox(trx, {
    topic: 'jobs',
    routingKey: `retry.${Math.max(1, Math.floor(retry.level))}`,
    payload,
    priority: PRIORITY_VALUE[job.priority],
    expirationMs: Math.max(0, Math.round(retry.delayMs)),
  });
}

/** Why a job was dead-lettered, carried in the message's headers. */
export interface DeadLetterReason {
  code: string;
  reason: string;
  attempts: number;
}

/**
 * Puts a job that ran out of attempts on `transcribe.dead` with the reason in its
 * headers (`x-error-code`, `x-reason`, `x-attempts`), through the outbox.
 */
export async function enqueueDeadLetter(
  trx: Db,
  job: { id: string; tenantId: string },
  why: DeadLetterReason,
): Promise<void> {
  const payload: TranscribeMessage = { v: 1, jobId: job.id, tenantId: job.tenantId };
  await insertOutbox(trx, {
    topic: 'jobs',
    routingKey: 'dead',
    payload,
    headers: {
      'x-error-code': why.code,
      'x-reason': why.reason.slice(0, 1000),
      'x-attempts': why.attempts,
    },
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
  job: { id: string; tenantId: string; priority: Priority },
  chunks: {
    indexes: readonly number[];
    attempt: number;
    delay?: { level: number; delayMs: number };
  },
): Promise<void> {
  const { delay } = chunks;
  for (const index of chunks.indexes) {
    const payload: ChunkMessage = {
      v: 1,
      type: 'chunk',
      jobId: job.id,
      tenantId: job.tenantId,
      index,
      attempt: chunks.attempt,
    };
    await insertOutbox(trx, {
      topic: 'jobs',
      routingKey: delay ? `retry.${Math.max(1, Math.floor(delay.level))}` : 'transcribe',
      payload,
      priority: PRIORITY_VALUE[job.priority],
      ...(delay ? { expirationMs: Math.max(0, Math.round(delay.delayMs)) } : {}),
    });
  }
}
