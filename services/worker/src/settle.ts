import type { JobRow } from '@transcribe/db';
import type { OutboxRelay } from '@transcribe/queue';
import type { Logger } from '@transcribe/telemetry';

/** A settled delivery: acked, or handed back to the broker for another worker. */
export type Outcome = 'ack' | 'requeue';

/**
 * Runs a job's final transition; "false" means another attempt owns the job now (or it
 * was canceled), which is fine: the result is discarded.
 */
export async function settle(
  deps: { relay: Pick<OutboxRelay, 'kick'>; logger: Logger },
  job: JobRow,
  transition: () => Promise<boolean>,
): Promise<void> {
  const applied = await transition();
  if (applied) deps.relay.kick();
  else deps.logger.warn({ jobId: job.id }, 'job was taken over or canceled; result discarded');
}
