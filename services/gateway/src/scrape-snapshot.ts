/** What a scrape gets from a bounded read: the value, and how it stands. */
export interface Snapshot<T> {
  /** The last value read (undefined until one read succeeded). */
  value: T | undefined;
  /** Whether this scrape's read succeeded in time (false: `value` is an older one, or none). */
  fresh: boolean;
  /** When `value` was read (epoch ms); undefined with no value. */
  readAt: number | undefined;
}

export interface SnapshotOptions {
  /** The longest a scrape waits for the read; past it, the scrape carries on with the last value. */
  timeoutMs: number;
  /** An attempt this recently ended is served as it is (0: only callers during the attempt share it). */
  maxAgeMs: number;
  now?: () => number;
}

/**
 * A scrape-time read of Postgres that can neither hang nor fail a scrape: one read at a
 * time (a slow database is not hit again by every scrape and gauge while it is slow),
 * bounded by `timeoutMs`, and on failure or timeout the last good value is served with
 * `fresh: false`, so dashboards keep their last picture while the up gauge says why.
 */
export function boundedSnapshot<T>(
  read: () => Promise<T>,
  options: SnapshotOptions,
): () => Promise<Snapshot<T>> {
  const now = options.now ?? Date.now;
  let last: { value: T; readAt: number } | undefined;
  let inFlight: Promise<boolean> | undefined;

  const start = (): Promise<boolean> => {
    inFlight ??= read().then(
      (value) => {
        last = { value, readAt: now() };
        inFlight = undefined;
        return true;
      },
      () => {
        inFlight = undefined;
        return false;
      },
    );
    return inFlight;
  };

  const attempt = async (): Promise<Snapshot<T>> => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), options.timeoutMs);
      timer.unref();
    });
    const fresh = await Promise.race([start(), timedOut]);
    clearTimeout(timer);
    return { value: last?.value, fresh, readAt: last?.readAt };
  };

  // Every caller while an attempt runs shares it, and for maxAgeMs after it ended, failed
  // or not: the gauges of one scrape (collected together) wait once in all, not once each,
  // for a database that does not answer.
  let answer: { endedAt?: number; snapshot: Promise<Snapshot<T>> } | undefined;
  return () => {
    const current = answer;
    if (current && (current.endedAt === undefined || now() - current.endedAt < options.maxAgeMs)) {
      return current.snapshot;
    }
    const next: { endedAt?: number; snapshot: Promise<Snapshot<T>> } = {
      snapshot: attempt().finally(() => {
        next.endedAt = now();
      }),
    };
    answer = next;
    return next.snapshot;
  };
}
