import type { JobEvent } from '@transcribe/contracts';
import { findJob, type JobRow } from '@transcribe/db';
import type { GatewayDeps } from './deps.js';

const TERMINAL: ReadonlySet<string> = new Set(['completed', 'failed', 'canceled']);

/**
 * Even with the events subscription up, re-read the row this often: a safety net for an
 * event lost between broker and gateway, far off the fast path (completion is pushed).
 */
const SAFETY_REREAD_MS = 15_000;

export interface JobWaitOptions {
  waitMs: number;
  /** Each of the job's events as it arrives (streaming answers use progress). */
  onEvent?: (event: JobEvent) => void;
  /** The client went away: stop waiting. */
  signal?: AbortSignal;
}

/**
 * Waits until the job is completed, failed or canceled, or `waitMs` passed, and returns its
 * row as it then stands (undefined: the job is gone, or the client left). The end is pushed
 * by the job's event; the row is re-read only as a check: right after watching starts (an
 * event before that is not missed), on every (re)subscription, on a terminal event, rarely
 * as a safety net, and once at the wait limit.
 */
export async function waitForJobEnd(
  deps: Pick<GatewayDeps, 'db' | 'jobEvents' | 'logger'>,
  job: JobRow,
  options: JobWaitOptions,
): Promise<JobRow | undefined> {
  if (TERMINAL.has(job.status)) return job;
  if (options.signal?.aborted) return undefined;
  return new Promise<JobRow | undefined>((resolve) => {
    let done = false;
    let reading: Promise<void> | undefined;
    let again = false;
    const finish = (row: JobRow | undefined) => {
      if (done) return;
      done = true;
      unwatch?.();
      clearTimeout(limit);
      clearInterval(safety);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(row);
    };
    const read = async (final: boolean) => {
      const row = await findJob(deps.db, job.tenant_id, job.id);
      if (!row || TERMINAL.has(row.status) || final) finish(row);
    };
    // One read at a time; a request during a read runs once more after it.
    const check = () => {
      if (done) return;
      if (reading) {
        again = true;
        return;
      }
      reading = read(false)
        .catch((err: unknown) => deps.logger.warn({ err, jobId: job.id }, 'job re-read failed'))
        .finally(() => {
          reading = undefined;
          if (again) {
            again = false;
            check();
          }
        });
    };
    const onAbort = () => finish(undefined);
    options.signal?.addEventListener('abort', onAbort);
    const unwatch = deps.jobEvents?.watch(job.id, {
      onEvent(event) {
        if (done) return;
        options.onEvent?.(event);
        if (TERMINAL.has(event.type)) check();
      },
      onResync: check,
    });
    const limit = setTimeout(() => {
      read(true).catch(() => finish(job));
    }, options.waitMs);
    const safety = setInterval(check, deps.jobEvents ? SAFETY_REREAD_MS : 1000);
    check();
  });
}
