/** Share of a delay taken off at random, so deliveries failed together do not retry together. */
export const BACKOFF_JITTER = 0.25;

/**
 * Delay before attempt `attempt + 1`: base · 2^(attempt−1), capped at `maxMs`, minus up to
 * 25 % at random (¾–1× of the nominal delay). A narrower spread than "equal jitter" (½–1×),
 * so the schedule's lower bound — what a receiver's outage must be shorter than to still
 * get the webhook — stays close to its nominal length; 25 % of hours is still plenty of
 * spread for a herd.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random) {
  const nominal = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(nominal * (1 - BACKOFF_JITTER * random()));
}

export interface RetryScheduleSettings {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface ScheduledAttempt {
  /** 1 for the first attempt. */
  attempt: number;
  /** Delay since the previous attempt (0 for the first), at the least and the most jitter. */
  minDelayMs: number;
  maxDelayMs: number;
  /** Time since the first attempt, at the least and the most jitter. */
  minAtMs: number;
  maxAtMs: number;
}

/**
 * Every attempt a delivery to an unreachable receiver gets, and when, as bounds over the
 * jitter (attempts themselves, up to WEBHOOK_TIMEOUT_MS each, add to these). A receiver
 * down for less than the last attempt's `minAtMs` still gets the webhook.
 *
 * With the defaults (WEBHOOK_MAX_ATTEMPTS 16, WEBHOOK_BACKOFF_BASE_MS 30 s doubled up to
 * WEBHOOK_BACKOFF_MAX_MS 6 h, each delay ¾–1× of nominal):
 *
 * | attempt | nominal delay after the previous | since the 1st (¾× … 1×) |
 * | ------: | -------------------------------: | ----------------------: |
 * |       1 |                                — | 0                       |
 * |       2 |                             30 s | 22.5 s … 30 s           |
 * |       3 |                            1 min | 1.1 … 1.5 min           |
 * |       4 |                            2 min | 2.6 … 3.5 min           |
 * |       5 |                            4 min | 5.6 … 7.5 min           |
 * |       6 |                            8 min | 11.6 … 15.5 min         |
 * |       7 |                           16 min | 23.6 … 31.5 min         |
 * |       8 |                           32 min | 47.6 … 63.5 min         |
 * |       9 |                           64 min | 1.6 … 2.1 h             |
 * |      10 |                          128 min | 3.2 … 4.3 h             |
 * |      11 |                          256 min | 6.4 … 8.5 h             |
 * |      12 |                              6 h | 10.9 … 14.5 h           |
 * |      13 |                              6 h | 15.4 … 20.5 h           |
 * |      14 |                              6 h | 19.9 … 26.5 h           |
 * |      15 |                              6 h | 24.4 … 32.5 h           |
 * |      16 |                              6 h | 28.9 … 38.5 h           |
 *
 * Deferrals while the receiver's circuit is open (circuit-breaker.ts) are not attempts:
 * they only move these later. retry-schedule.test.ts checks this table against the config.
 */
export function retrySchedule(settings: RetryScheduleSettings): ScheduledAttempt[] {
  const schedule: ScheduledAttempt[] = [];
  let minAtMs = 0;
  let maxAtMs = 0;
  for (let attempt = 1; attempt <= settings.maxAttempts; attempt++) {
    const previous = attempt - 1;
    const minDelayMs =
      previous === 0
        ? 0
        : backoffMs(previous, settings.backoffBaseMs, settings.backoffMaxMs, () => 1);
    const maxDelayMs =
      previous === 0
        ? 0
        : backoffMs(previous, settings.backoffBaseMs, settings.backoffMaxMs, () => 0);
    minAtMs += minDelayMs;
    maxAtMs += maxDelayMs;
    schedule.push({ attempt, minDelayMs, maxDelayMs, minAtMs, maxAtMs });
  }
  return schedule;
}
