export interface RetryPolicy {
  /** Delay before the first retry, before jitter. */
  baseMs: number;
  /** Cap on the exponential delay. */
  maxMs: number;
}

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so a
 * burst of failures (an engine outage) does not come back as a burst, yet no retry
 * comes back immediately.
 */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

/**
 * The backoff level whose delay queue suits a message waiting `delayMs` (the first level
 * whose longest retry delay is at least that), so it does not sit at the head of a queue
 * of shorter TTLs and hold them up (RabbitMQ expires messages from the head only).
 */
export function delayLevelFor(delayMs: number, policy: RetryPolicy, levels: number): number {
  for (let level = 1; level < levels; level++) {
    if (Math.min(policy.maxMs, policy.baseMs * 2 ** (level - 1)) >= delayMs) return level;
  }
  return levels;
}
