// One way for tests to wait: on a condition, with a bound generous enough for a loaded
// machine (load averages near 20 have been seen), never on a guess of how fast it is.

export interface WaitOptions {
  /** Give up after this long; generous by default, since only a hang should reach it. */
  timeoutMs?: number;
  /** Pause between checks. */
  intervalMs?: number;
  /** Named in the timeout error; a function is called then, to describe the last state. */
  what?: string | (() => string);
}

/** Values that mean "not yet": anything else ends the wait and is returned. */
type NotYet = false | null | undefined;

export const DEFAULT_WAIT_TIMEOUT_MS = 60_000;

/**
 * Calls `condition` until it returns something other than false, null or undefined, and
 * returns that. Throws when `timeoutMs` has passed, naming what it waited for; errors from
 * `condition` end the wait at once.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<Exclude<T, NotYet>> {
  const { timeoutMs = DEFAULT_WAIT_TIMEOUT_MS, intervalMs = 20, what = 'a condition' } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== false && value !== null && value !== undefined) {
      return value as Exclude<T, NotYet>;
    }
    if (Date.now() > deadline) {
      const named = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${named}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
