// The default webhook retry schedule, computed from the config defaults themselves: a
// receiver down for a day still gets its webhook, whatever the jitter draws.
import { notifierSchema, parseEnv } from '@transcribe/config';
import { backoffMs, retrySchedule } from '../src/webhooks/retry-schedule.js';

const DAY_MS = 24 * 3600_000;

describe('default webhook retry schedule', () => {
  const config = parseEnv(notifierSchema, { TOKEN_SECRET: 'x'.repeat(16) });
  const schedule = retrySchedule({
    maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
    backoffBaseMs: config.WEBHOOK_BACKOFF_BASE_MS,
    backoffMaxMs: config.WEBHOOK_BACKOFF_MAX_MS,
  });

  it('makes at least 12 attempts spread over at least 24 h, even at the shortest jitter', () => {
    expect(schedule.length).toBeGreaterThanOrEqual(12);
    expect(schedule.at(-1)!.minAtMs).toBeGreaterThanOrEqual(DAY_MS);
  });

  it('is the table documented on retrySchedule (retry-schedule.ts)', () => {
    const minutes = (ms: number) => Math.round((ms / 60_000) * 10) / 10;
    expect(schedule.map((a) => minutes(a.maxDelayMs))).toEqual([
      0, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360, 360, 360, 360,
    ]);
    expect(minutes(schedule.at(-1)!.minAtMs)).toBe(1733.6); // 28.9 h
    expect(minutes(schedule.at(-1)!.maxAtMs)).toBe(2311.5); // 38.5 h
  });

  it('jitters every delay within ¾–1× of nominal', () => {
    for (let i = 0; i < 200; i++) {
      const delay = backoffMs(5, 30_000, 6 * 3600_000);
      expect(delay).toBeGreaterThanOrEqual(0.75 * 480_000);
      expect(delay).toBeLessThanOrEqual(480_000);
    }
  });
});
