// One chat request under watch: while it runs, a heartbeat about every second renews the
// lease it works under and checks that the enrichment is still processing; a cancel, a
// lost lease, the task's time limit or the worker's shutdown aborts the request in
// flight, and the reason comes back as a StopReason the runner settles by.
import type { Logger } from '@transcribe/telemetry';

export type StopReason = 'canceled' | 'lost' | 'timeout' | 'shutdown';

/** The request was aborted for `reason`; nothing it produced may be stored. */
export class EnrichmentStopped extends Error {
  override readonly name = 'EnrichmentStopped';
  constructor(readonly reason: StopReason) {
    super(`enrichment work stopped: ${reason}`);
  }
}

export function isEnrichmentStopped(error: unknown): error is EnrichmentStopped {
  return error instanceof Error && error.name === 'EnrichmentStopped';
}

export interface Watch {
  /** Renews the lease; `'stopped'` when the enrichment is no longer processing, `'lost'` when the lease is someone else's. */
  heartbeat(): Promise<'held' | 'lost' | 'stopped'>;
  heartbeatMs: number;
  /** Epoch ms past which the task has run out of time. */
  deadline: number;
  shutdown?: AbortSignal;
  logger: Logger;
}

export async function watched<T>(
  watch: Watch,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const stop = (reason: StopReason) => {
    if (!controller.signal.aborted) controller.abort(new EnrichmentStopped(reason));
  };
  if (watch.shutdown?.aborted) throw new EnrichmentStopped('shutdown');
  if (Date.now() >= watch.deadline) throw new EnrichmentStopped('timeout');
  const onShutdown = () => stop('shutdown');
  watch.shutdown?.addEventListener('abort', onShutdown);
  let beating = false;
  const timer = setInterval(() => {
    if (Date.now() >= watch.deadline) return stop('timeout');
    if (beating) return;
    beating = true;
    watch
      .heartbeat()
      .then((state) => {
        if (state === 'stopped') stop('canceled');
        else if (state === 'lost') stop('lost');
      })
      .catch((error: unknown) => watch.logger.warn({ err: error }, 'enrichment heartbeat failed'))
      .finally(() => {
        beating = false;
      });
  }, watch.heartbeatMs);
  try {
    return await run(controller.signal);
  } catch (error) {
    if (controller.signal.aborted) throw controller.signal.reason as EnrichmentStopped;
    throw error;
  } finally {
    clearInterval(timer);
    watch.shutdown?.removeEventListener('abort', onShutdown);
  }
}
