import type { Db, JobRow } from '@transcribe/db';
import { reportProgress } from '@transcribe/jobs';
import type { OutboxRelay } from '@transcribe/queue';
import type { Logger } from '@transcribe/telemetry';
import type { Stage } from './pipeline.js';
import { throttleProgress } from './progress-throttle.js';

/**
 * Writes one attempt's progress events, paced (see progress-throttle.ts), without
 * blocking the pipeline. A write the job refuses (canceled, taken over) calls `onLost`.
 */
export function progressReporter(
  deps: {
    db: Db;
    relay: Pick<OutboxRelay, 'kick'>;
    leaseMs: number;
    /** Never under 500 ms: at most 2 progress events per second. */
    progressIntervalMs: number;
  },
  job: JobRow,
  log: Logger,
  onLost: () => void,
) {
  return throttleProgress<Stage>({
    minIntervalMs: Math.max(500, deps.progressIntervalMs),
    write: (progress, stage) =>
      reportProgress(deps.db, job, { progress, stage, leaseMs: deps.leaseMs })
        .then((held) => {
          if (held) deps.relay.kick();
          else onLost();
        })
        .catch((err: unknown) => log.warn({ err }, 'progress update failed')),
  });
}
