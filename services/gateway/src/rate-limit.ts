import type { RequestHandler } from 'express';
import type pg from 'pg';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '@transcribe/telemetry';
import { tenantOf } from './auth.js';
import { HttpError } from './http-error.js';

export type RateLimitedAction = 'jobs' | 'uploads';
export type RateLimits = Partial<Record<RateLimitedAction, RateLimiterPostgres>>;

/**
 * Per-tenant budgets per minute, counted in Postgres so every gateway replica shares them
 * (the `rate_limits` table comes from a migration). A budget of 0 is no limit.
 */
export function createRateLimits(
  pool: pg.Pool,
  perMinute: Record<RateLimitedAction, number>,
): RateLimits {
  const limits: RateLimits = {};
  for (const action of ['jobs', 'uploads'] as const) {
    if (perMinute[action] > 0) {
      limits[action] = new RateLimiterPostgres({
        storeClient: pool,
        storeType: 'pool',
        tableName: 'rate_limits',
        tableCreated: true,
        keyPrefix: action,
        points: perMinute[action],
        duration: 60,
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
    try {
      const spent = await limiter.consume(tenantOf(req));
      res.setHeader('ratelimit-limit', String(limiter.points));
      res.setHeader('ratelimit-remaining', String(spent.remainingPoints));
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) {
        // The store failed (Postgres trouble): serving beats refusing every request.
        logger.warn({ err: rejection, action }, 'rate limit store failed; request let through');
        return next();
      }
      const retryAfterS = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
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
    next();
  };
}
