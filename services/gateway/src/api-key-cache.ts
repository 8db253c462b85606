import { LRUCache } from 'lru-cache';
import { findTenantIdByApiKey, hashApiKey, type Db } from '@transcribe/db';

// API keys resolved from memory (issue 18): a lookup per request was a Postgres round trip
// on every call. Only keys found valid are kept, for `ttlMs`; a revocation is announced by
// Postgres NOTIFY (revokeApiKey) and drops the key from every gateway's cache at once, and
// the TTL bounds how long a revoked key could still pass should that message be lost.

export interface ApiKeyCache {
  /** The tenant owning an unrevoked key, or undefined. */
  tenantOf(key: string): Promise<string | undefined>;
  /** A revoked key (its hash, as announced): refused from now on. */
  revoked(keyHash: string): void;
  /** Forget everything (the revocation feed was interrupted). */
  clear(): void;
}

export function createApiKeyCache(
  db: Db,
  options: { ttlMs: number; maxEntries?: number },
): ApiKeyCache {
  const tenants = new LRUCache<string, string>({
    max: options.maxEntries ?? 100_000,
    ttl: Math.max(1, options.ttlMs),
  });
  // A revocation that lands while a lookup is in flight must win over the lookup's answer.
  let generation = 0;
  return {
    async tenantOf(key) {
      if (options.ttlMs <= 0) return findTenantIdByApiKey(db, key);
      const hash = hashApiKey(key);
      const cached = tenants.get(hash);
      if (cached) return cached;
      const started = generation;
      const tenantId = await findTenantIdByApiKey(db, key);
      if (tenantId && started === generation) tenants.set(hash, tenantId);
      return tenantId;
    },
    revoked(keyHash) {
      generation++;
      tenants.delete(keyHash);
    },
    clear() {
      generation++;
      tenants.clear();
    },
  };
}
