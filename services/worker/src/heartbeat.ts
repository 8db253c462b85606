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
