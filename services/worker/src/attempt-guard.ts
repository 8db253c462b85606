import { JobLostError, JobTimeoutError, ShutdownError } from './errors.js';

export interface HeartbeatOptions {
  intervalMs: number;
  /** Renews the lease; false means the job is no longer ours. */
  beat: () => Promise<boolean>;
  /** Called once, when a beat reports the job lost. */
  onLost: () => void;
  /** A failed beat (Postgres unreachable) is logged and retried at the next interval. */
  onError: (error: unknown) => void;
}

/**
 * Renews a job's lease on a timer, independent of progress: an engine may report
 * nothing for minutes, and the reaper must still see the worker alive. A beat that
 * finds the job canceled or taken over stops it through `onLost`.
 */
export function startHeartbeat(options: HeartbeatOptions): { stop(): void } {
  let stopped = false;
  let running = false;
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = true;
    options
      .beat()
      .then((held) => {
        if (!held && !stopped) {
          stopped = true;
          clearInterval(timer);
          options.onLost();
        }
      })
      .catch(options.onError)
      .finally(() => {
        running = false;
      });
  }, options.intervalMs);
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

export interface AttemptGuard {
  /** Aborts when the attempt must stop; its reason says why. */
  readonly signal: AbortSignal;
  /** Stops the attempt (the first reason wins). */
  abort(reason: Error): void;
  /** Ends the guard: the time limit, the heartbeat and the shutdown listener. */
  release(): void;
}

/**
 * What ends one attempt early, for a whole job or one chunk of it: the worker shutting
 * down, the attempt's time limit, or a heartbeat that finds the job no longer ours.
 */
export function guardAttempt(options: {
  shutdown?: AbortSignal;
  timeoutMs: number;
  heartbeatMs: number;
  /** Renews the lease; false means the job was canceled or taken over. */
  renew: () => Promise<boolean>;
  onRenewError: (error: unknown) => void;
}): AttemptGuard {
  const controller = new AbortController();
  const abort = (reason: Error) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const onShutdown = () => abort(new ShutdownError());
  if (options.shutdown?.aborted) onShutdown();
  options.shutdown?.addEventListener('abort', onShutdown, { once: true });
  const timer = setTimeout(
    () => abort(new JobTimeoutError(Math.round(options.timeoutMs / 1000))),
    options.timeoutMs,
  );
  const heartbeat = startHeartbeat({
    intervalMs: options.heartbeatMs,
    beat: options.renew,
    onLost: () => abort(new JobLostError()),
    onError: options.onRenewError,
  });
  return {
    signal: controller.signal,
    abort,
    release() {
      clearTimeout(timer);
      heartbeat.stop();
      options.shutdown?.removeEventListener('abort', onShutdown);
    },
  };
}

/** How often an attempt renews its lease: three times per lease, and not more than twice a second. */
export function heartbeatIntervalMs(leaseMs: number): number {
  return Math.max(500, Math.floor(leaseMs / 3));
}
