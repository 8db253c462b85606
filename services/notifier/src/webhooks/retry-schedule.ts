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
