import type { RequestHandler } from 'express';
import { createRateLimitStore, type PgPool, type RateLimitStore } from '@transcribe/db';
import type { Logger } from '@transcribe/telemetry';
import { tenantOf } from './auth.js';
import { HttpError } from './http-error.js';

export type RateLimitedAction = 'jobs' | 'uploads';
export type RateLimits = Partial<Record<RateLimitedAction, RateLimitStore>>;

/**
 * Per-tenant budgets per minute, counted in memory and shared through Postgres every
 * `syncMs` (see createRateLimitStore for the bound across replicas). A budget of 0 is no limit.
 */
export function createRateLimits(
  pool: PgPool,
  perMinute: Record<RateLimitedAction, number>,
  options: { syncMs?: number; logger?: Logger } = {},
): RateLimits {
  const limits: RateLimits = {};
  for (const action of ['jobs', 'uploads'] as const) {
    if (perMinute[action] > 0) {
      limits[action] = createRateLimitStore(pool, {
        keyPrefix: action,
        points: perMinute[action],
        durationS: 60,
        syncMs: options.syncMs,
        onSyncError: (err) =>
          options.logger?.warn({ err, action }, 'rate limit sync failed; kept for the next'),
      });
    }
  }
  return limits;
}

/** Spends one point of the tenant's budget, or answers 429 with Retry-After. */
export function rateLimit(
  limits: RateLimits | undefined,
  action: RateLimitedAction,
  logger: Logger,
): RequestHandler {
  const limiter = limits?.[action];
  return async (req, res, next) => {
    if (!limiter) return next();
    let outcome;
    try {
      outcome = await limiter.consume(tenantOf(req));
    } catch (error) {
      // The store failed (Postgres trouble): serving beats refusing every request.
      logger.warn({ err: error, action }, 'rate limit store failed; request let through');
      return next();
    }
    if (!outcome.allowed) {
      const retryAfterS = Math.max(1, Math.ceil(outcome.msBeforeNext / 1000));
      res.setHeader('retry-after', String(retryAfterS));
      res.setHeader('ratelimit-limit', String(limiter.points));
      res.setHeader('ratelimit-remaining', '0');
      throw new HttpError(
        429,
        'rate_limited',
        `too many ${action} requests: at most ${limiter.points} a minute; retry in ${retryAfterS} s`,
        { retryAfterS },
      );
    }
    res.setHeader('ratelimit-limit', String(limiter.points));
    res.setHeader('ratelimit-remaining', String(outcome.remainingPoints));
    next();
  };
}
