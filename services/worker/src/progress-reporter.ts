import type { Db, JobRow } from '@transcribe/db';
import { reportProgress } from '@transcribe/jobs';
import type { OutboxRelay } from '@transcribe/queue';
import type { Logger } from '@transcribe/telemetry';
import {
  throttleProgress,
  type ChunkProgress,
  type ProgressThrottle,
} from './progress-throttle.js';

/** While work runs, the last figure is reported again this often (a heartbeat). */
export const HEARTBEAT_MS = 1000;

/**
 * Writes one attempt's progress (or one fanned-out chunk's), paced (see
 * progress-throttle.ts), without blocking the pipeline. While it runs it repeats its last
 * report every HEARTBEAT_MS even when nothing changed: the job's row decides which writes
 * become events (packages/jobs progress.ts, ≤ ~2/s per job across all its workers), and
 * a heartbeat every second keeps the gap between events under 2 s, so a subscriber can
 * tell a live job from a stuck one. A write the job refuses (canceled, taken over) calls
 * `onLost`.
 */
export function progressReporter<S extends string>(
  deps: {
    db: Db;
    relay: Pick<OutboxRelay, 'kick'>;
    leaseMs: number;
    /** Never under 500 ms: at most 2 progress writes per second from one reporter. */
    progressIntervalMs: number;
    heartbeatMs?: number;
  },
  job: JobRow,
  log: Logger,
  onLost: () => void,
): ProgressThrottle<S> {
  let last: { progress: number; stage: S; chunk?: ChunkProgress } | undefined;
  const throttle = throttleProgress<S>({
    minIntervalMs: Math.max(500, deps.progressIntervalMs),
    write: (progress, stage, chunk) =>
      reportProgress(deps.db, job, { progress, stage, chunk, leaseMs: deps.leaseMs })
        .then((held) => {
          if (held) deps.relay.kick();
          else onLost();
        })
        .catch((err: unknown) => log.warn({ err }, 'progress update failed')),
  });
  const heartbeat = setInterval(() => {
    if (last) throttle.report(last.progress, last.stage, last.chunk);
  }, deps.heartbeatMs ?? HEARTBEAT_MS);
  heartbeat.unref();
  return {
    report(progress, stage, chunk) {
      last = { progress, stage, chunk };
      throttle.report(progress, stage, chunk);
    },
    stop() {
      clearInterval(heartbeat);
      return throttle.stop();
    },
    finish() {
      clearInterval(heartbeat);
      return throttle.finish();
    },
  };
}
