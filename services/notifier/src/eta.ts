import type { JobEvent } from '@transcribe/contracts';

const MAX_JOBS = 100_000;

/**
 * Estimates the seconds left of a job from the rate of its progress events, by their own
 * timestamps (so replayed and live events give the same answer). Kept per job until its
 * terminal event; bounded, dropping the oldest jobs first.
 */
export class EtaEstimator {
  private readonly first = new Map<string, { atMs: number; progress: number }>();

  /** Call with every event this notifier sends; returns the ETA for progress events. */
  observe(event: JobEvent): number | undefined {
    if (event.type === 'completed' || event.type === 'failed' || event.type === 'canceled') {
      this.first.delete(event.jobId);
      return undefined;
    }
    if (event.type !== 'progress') return undefined;
    const atMs = Date.parse(event.at);
    const start = this.first.get(event.jobId);
    if (!start || atMs < start.atMs) {
      if (this.first.size >= MAX_JOBS) this.first.delete(this.first.keys().next().value!);
      this.first.set(event.jobId, { atMs, progress: event.progress });
      return undefined;
    }
    const gained = event.progress - start.progress;
    const elapsedMs = atMs - start.atMs;
    if (gained <= 0 || elapsedMs <= 0) return undefined;
    const etaS = ((elapsedMs / gained) * (100 - event.progress)) / 1000;
    return Math.round(etaS * 10) / 10;
  }
}
