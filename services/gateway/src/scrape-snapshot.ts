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
  /** A value this young is served as it is: several gauges in one scrape (and several scrapers) share one read. */
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
    });
    const fresh = await Promise.race([start(), timedOut]);
    clearTimeout(timer);
    return { value: last?.value, fresh, readAt: last?.readAt };
  };

  // Every caller within maxAgeMs of an attempt shares it, failed or not: the gauges of one
  // scrape wait once in all (not once each) for a database that does not answer.
  let answer: { startedAt: number; snapshot: Promise<Snapshot<T>> } | undefined;
  return () => {
    if (answer && now() - answer.startedAt < options.maxAgeMs) return answer.snapshot;
    answer = { startedAt: now(), snapshot: attempt() };
    return answer.snapshot;
  };
}
