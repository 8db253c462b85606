import { LRUCache } from 'lru-cache';

export interface AuthThrottleOptions {
  /** Failures allowed per minute per address and per key prefix (also the burst). */
  perMinute: number;
  /** Addresses and prefixes remembered at most (least recently seen forgotten first). */
  maxEntries?: number;
  now?: () => number;
}

export interface AuthThrottle {
  /** Seconds to wait when this address or key prefix spent its failures, else undefined. */
  blockedFor(address: string, prefix: string | undefined): number | undefined;
  /** Records one failed attempt. */
  failed(address: string, prefix: string | undefined): void;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets of failed API-key attempts, in bounded LRU maps: cheap enough to sit in front
 * of the key lookup, so guessing keys costs the attacker 429s instead of costing us queries.
 * In memory per replica: a guesser spread over N replicas gets N budgets, which is fine for a
 * brake (keys have 256 random bits); what matters is that it is never a database write.
 */
export function createAuthThrottle(options: AuthThrottleOptions): AuthThrottle {
  const capacity = options.perMinute;
  const refillPerMs = capacity / 60_000;
  const now = options.now ?? Date.now;
  const maps = {
    address: new LRUCache<string, Bucket>({ max: options.maxEntries ?? 10_000 }),
    prefix: new LRUCache<string, Bucket>({ max: options.maxEntries ?? 10_000 }),
  };

  function level(map: LRUCache<string, Bucket>, key: string, t: number): Bucket {
    const bucket = map.get(key);
    if (!bucket) return { tokens: capacity, at: t };
    return { tokens: Math.min(capacity, bucket.tokens + (t - bucket.at) * refillPerMs), at: t };
  }

  function waitS(map: LRUCache<string, Bucket>, key: string, t: number): number | undefined {
    const { tokens } = level(map, key, t);
    return tokens >= 1 ? undefined : Math.max(1, Math.ceil((1 - tokens) / refillPerMs / 1000));
  }

  return {
    blockedFor(address, prefix) {
      const t = now();
      const waits = [waitS(maps.address, address, t)];
      if (prefix !== undefined) waits.push(waitS(maps.prefix, prefix, t));
      const defined = waits.filter((w): w is number => w !== undefined);
      return defined.length ? Math.max(...defined) : undefined;
    },
    failed(address, prefix) {
      const t = now();
      for (const [map, key] of [
        [maps.address, address],
        [maps.prefix, prefix],
      ] as const) {
        if (key === undefined) continue;
        const bucket = level(map, key, t);
        map.set(key, { tokens: Math.max(0, bucket.tokens - 1), at: t });
      }
    },
  };
}
