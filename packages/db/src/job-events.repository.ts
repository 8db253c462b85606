import { JobEvent, type JobEventInput } from '@transcribe/contracts';
import type { Db } from './connection.js';
import { insertOutbox } from './outbox.repository.js';

/** Routing key on the job.events exchange: `<tenant>.<job>.<type>`. */
export function eventRoutingKey(event: Pick<JobEvent, 'tenantId' | 'jobId' | 'type'>): string {
  return `${event.tenantId}.${event.jobId}.${event.type}`;
}

/** A job's event as stored and published: the input stamped with the job, its seq and now. */
export function jobEventOf(
  job: { id: string; tenantId: string },
  seq: number,
  input: JobEventInput,
): JobEvent {
  return JobEvent.parse({
    ...input,
    v: 1,
    jobId: job.id,
    tenantId: job.tenantId,
    seq,
    at: new Date().toISOString(),
  });
}

/**
 * Appends the job's next event and queues it for publishing, in the caller's transaction.
 * The seq comes from the job row (`last_event_seq`), whose row lock serialises appends,
 * so seqs are gap-free per job.
 */
export async function appendJobEvent(
  trx: Db,
  job: { id: string; tenantId: string },
  input: JobEventInput,
): Promise<JobEvent> {
  const { last_event_seq: seq } = await trx
    .updateTable('jobs')
    .set((eb) => ({ last_event_seq: eb('last_event_seq', '+', 1) }))
    .where('id', '=', job.id)
    .returning('last_event_seq')
    .executeTakeFirstOrThrow();
  const event = jobEventOf(job, seq, input);
  await trx
    .insertInto('job_events')
    .values({ job_id: job.id, seq, type: event.type, payload: JSON.stringify(event) })
    .execute();
  await insertOutbox(trx, { topic: 'events', routingKey: eventRoutingKey(event), payload: event });
  return event;
}

/** Stored events with seq > `after`, oldest first. */
export async function listJobEvents(
  db: Db,
  jobId: string,
  after: number,
  limit = 1000,
): Promise<JobEvent[]> {
  const rows = await db
    .selectFrom('job_events')
    .select('payload')
    .where('job_id', '=', jobId)
    .where('seq', '>', after)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map((r) => JobEvent.parse(r.payload));
}
