import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { PgPool } from './connection.js';

export type RateLimitOutcome =
  { allowed: true; remainingPoints: number } | { allowed: false; msBeforeNext: number };

/** A budget of `points` per window; `consume` rejects only when the store itself failed. */
export interface RateLimitStore {
  readonly points: number;
  consume(key: string): Promise<RateLimitOutcome>;
}

export interface RateLimitStoreOptions {
  /** Keeps budgets of different actions apart in the one table. */
  keyPrefix: string;
  points: number;
  durationS: number;
}

/**
 * Budgets counted in Postgres, so every replica shares them. The `rate_limits` table comes
 * from a migration, not from the library (which would create it at first use).
 */
export function createRateLimitStore(pool: PgPool, options: RateLimitStoreOptions): RateLimitStore {
  const limiter = new RateLimiterPostgres({
    storeClient: pool,
    storeType: 'pool',
    tableName: 'rate_limits',
    tableCreated: true,
    keyPrefix: options.keyPrefix,
    points: options.points,
    duration: options.durationS,
  });
  return {
    points: limiter.points,
    async consume(key) {
      try {
        const spent = await limiter.consume(key);
        return { allowed: true, remainingPoints: spent.remainingPoints };
      } catch (rejection) {
        // The library rejects with a RateLimiterRes for a spent budget, with an Error otherwise.
        if (rejection instanceof RateLimiterRes) {
          return { allowed: false, msBeforeNext: rejection.msBeforeNext };
        }
        throw rejection;
      }
    },
  };
}
