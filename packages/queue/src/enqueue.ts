import type { Priority, TranscribeMessage } from '@transcribe/contracts';
import { insertOutbox, type Db } from '@transcribe/db';
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
