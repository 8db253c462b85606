/**
 * Liveness ("is this process wedged?") for Kubernetes: a process whose event loop stalls, or
 * whose database pool has callers waiting while nothing moves, will not heal by itself and
 * should be restarted. Readiness (dependencies down) is a different question: see readiness.ts.
 */

/** A pool the monitor watches: callers waiting, and a counter that grows as it serves them. */
export interface ProgressProbe {
  name: string;
  waiting(): number;
  progress(): number;
}

export interface LivenessOptions {
  /** How long a stall may last before the process counts as wedged. */
  stallMs: number;
  pools?: readonly ProgressProbe[];
  /** Sampling period; default a quarter of stallMs, at most 1 s. */
  sampleMs?: number;
}

export type LivenessReport = { ok: true } | { ok: false; reasons: string[] };

export interface LivenessMonitor {
  check(): LivenessReport;
  stop(): void;
}

/** Samples event-loop lag (a timer's lateness) and pool progress; `check()` is instant. */
export function startLivenessMonitor(options: LivenessOptions): LivenessMonitor {
  const { stallMs } = options;
  const sampleMs = options.sampleMs ?? Math.max(10, Math.min(1000, Math.floor(stallMs / 4)));
  const pools = (options.pools ?? []).map((probe) => ({
    probe,
    lastProgress: probe.progress(),
    stuckSince: undefined as number | undefined,
  }));
  let expected = performance.now() + sampleMs;
  let loopStall: { lagMs: number; at: number } | undefined;

  const timer = setInterval(() => {
    const now = performance.now();
    const lagMs = now - expected;
    expected = now + sampleMs;
    // A late timer means the loop was blocked that long; remember it for one more bound so
    // the probe that follows the stall still sees it.
    if (lagMs > stallMs) loopStall = { lagMs, at: now };
    else if (loopStall && now - loopStall.at > stallMs) loopStall = undefined;
    for (const pool of pools) {
      const progress = pool.probe.progress();
      if (pool.probe.waiting() > 0 && progress === pool.lastProgress) pool.stuckSince ??= now;
      else pool.stuckSince = undefined;
      pool.lastProgress = progress;
    }
  }, sampleMs);
  timer.unref();

  return {
    check() {
      const now = performance.now();
      const reasons: string[] = [];
      // Also counts a stall still going on, should the check run before the timer.
      const ongoing = now - expected;
      if (ongoing > stallMs) reasons.push(`event loop stalled for ${Math.round(ongoing)} ms`);
      else if (loopStall) reasons.push(`event loop stalled for ${Math.round(loopStall.lagMs)} ms`);
      for (const pool of pools) {
        if (pool.stuckSince !== undefined && now - pool.stuckSince > stallMs) {
          reasons.push(
            `${pool.probe.name} pool: ${pool.probe.waiting()} callers waiting, no progress for ${Math.round(now - pool.stuckSince)} ms`,
          );
        }
      }
      return reasons.length ? { ok: false, reasons } : { ok: true };
    },
    stop: () => clearInterval(timer),
  };
}
