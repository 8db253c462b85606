import {
  TERMINAL_ENRICHMENT_EVENT_TYPES,
  TERMINAL_EVENT_TYPES,
  type JobEvent,
} from '@transcribe/contracts';

const MAX_TASKS = 100_000;

/**
 * A job's ETA is the one its progress event carries (`etaS`, measured by the worker);
 * otherwise it estimates the seconds left from the rate of progress events, by their own timestamps
 * (so replayed and live events give the same answer): of a job from its `progress`
 * events, and of each enrichment from its `enrichment.progress` events, which follow the
 * job's `completed` on the same stream. Each is tracked by its own id until its own
 * terminal event — a job's `completed` ends the job's estimate, not its enrichments'.
 * Bounded, dropping the oldest first.
 */
export class EtaEstimator {
  private readonly first = new Map<string, { atMs: number; progress: number }>();

  /** Call with every event this notifier sends; returns the ETA for progress events. */
  observe(event: JobEvent): number | undefined {
    if (TERMINAL_EVENT_TYPES.includes(event.type)) {
      this.first.delete(event.jobId);
      return undefined;
    }
    if (TERMINAL_ENRICHMENT_EVENT_TYPES.includes(event.type) && 'enrichment' in event) {
      this.first.delete(event.enrichment.id);
      return undefined;
    }
    if (event.type === 'progress') {
      // Issue 16: the worker measures the job's throughput where it writes the progress
      // (audio seconds per wall second, all chunks) and sends its own ETA; this estimate
      // from event timestamps is only the fallback for events stored before that.
      const own = this.estimate(event.jobId, event.at, event.progress);
      return event.etaS ?? own;
    }
    if (event.type === 'enrichment.progress') {
      return this.estimate(event.enrichment.id, event.at, event.progress);
    }
    return undefined;
  }

  private estimate(id: string, at: string, progress: number): number | undefined {
    const atMs = Date.parse(at);
    const start = this.first.get(id);
    if (!start || atMs < start.atMs) {
      if (this.first.size >= MAX_TASKS) this.first.delete(this.first.keys().next().value!);
      this.first.set(id, { atMs, progress });
      return undefined;
    }
    const gained = progress - start.progress;
    const elapsedMs = atMs - start.atMs;
    if (gained <= 0 || elapsedMs <= 0) return undefined;
    const etaS = ((elapsedMs / gained) * (100 - progress)) / 1000;
    return Math.round(etaS * 10) / 10;
  }
}
