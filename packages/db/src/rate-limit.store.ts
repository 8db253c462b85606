import type { PgPool } from './connection.js';

// Per-key budgets (issue 18): counted in this process, shared through Postgres in batches.
// A request used to cost an upsert on the hot path; now a key's first request in a window
// reads the shared count (one upsert), later ones are decided in memory, and what was
// spent is added to the shared row every `syncMs` in one statement for all keys. With one
// replica the count is exact (a restart starts from the shared row); with R replicas a key
// may be admitted beyond its budget by what the other replicas admitted since their last
// sync, at most (R − 1) × its rate × syncMs.

export type RateLimitOutcome =
  { allowed: true; remainingPoints: number } | { allowed: false; msBeforeNext: number };

/** A budget of `points` per window; `consume` rejects only when the store itself failed. */
export interface RateLimitStore {
  readonly points: number;
  consume(key: string): Promise<RateLimitOutcome>;
  /** Writes what is spent but not shared yet, and stops the periodic sync. */
  close(): Promise<void>;
}

export interface RateLimitStoreOptions {
  /** Keeps budgets of different actions apart in the one table. */
  keyPrefix: string;
  points: number;
  durationS: number;
  /** How often spent points are added to the shared row (default 250 ms). */
  syncMs?: number;
  /** A sync that failed (it is retried at the next one; spent points are kept). */
  onSyncError?: (error: unknown) => void;
}

interface Window {
  /** Epoch ms the shared window ends. */
  expire: number;
  /** The shared row's count at the last sync (every replica's spending, ours included). */
  shared: number;
  /** Spent here since the last sync. */
  pending: number;
  /** Spent here and being written by the sync in flight: counted until it has landed. */
  syncing: number;
}

// A fixed window from the first spend, as the `rate_limits` table has always held it
// (key, points spent, expire in epoch ms). One statement adds each key's spending (a row
// that expired starts a new window) and reads back the shared count of every key this
// process holds a window for, spent here since the last sync or not: what the other
// replicas spent reaches this one at every sync.
const ADD_SPENT = `
  WITH added AS (
    INSERT INTO rate_limits (key, points, expire)
    SELECT k, p, $3::bigint + $4::bigint FROM unnest($1::text[], $2::int[]) AS t(k, p) WHERE p > 0
    ON CONFLICT (key) DO UPDATE SET
      points = CASE WHEN rate_limits.expire <= $3::bigint THEN excluded.points
                    ELSE rate_limits.points + excluded.points END,
      expire = CASE WHEN rate_limits.expire <= $3::bigint THEN excluded.expire
                    ELSE rate_limits.expire END
    RETURNING key, points, expire
  )
  SELECT key, points, expire FROM added
  UNION ALL
  SELECT key, points, expire FROM rate_limits
  WHERE key = ANY($1::text[]) AND key NOT IN (SELECT key FROM added)`;

export function createRateLimitStore(pool: PgPool, options: RateLimitStoreOptions): RateLimitStore {
  const { points, keyPrefix } = options;
  const durationMs = options.durationS * 1000;
  const windows = new Map<string, Window>();
  const rowKey = (key: string) => `${keyPrefix}:${key}`;

  async function addSpent(spent: Map<string, number>): Promise<Map<string, Window>> {
    const keys = [...spent.keys()];
    const now = Date.now();
    const { rows } = await pool.query<{ key: string; points: number; expire: string }>(ADD_SPENT, [
      keys.map(rowKey),
      keys.map((k) => spent.get(k)!),
      now,
      durationMs,
    ]);
    const byRow = new Map(rows.map((r) => [r.key, r]));
    // A key read back without a row (deleted by hand): nothing shared, a window from now.
    return new Map(
      keys.map((k) => {
        const row = byRow.get(rowKey(k));
        const window = row
          ? { shared: row.points, expire: Number(row.expire) }
          : { shared: 0, expire: now + durationMs };
        return [k, { ...window, pending: 0, syncing: 0 }];
      }),
    );
  }

  let syncing: Promise<void> | undefined;
  async function sync(): Promise<void> {
    const taken = new Map<string, Window>();
    const now = Date.now();
    for (const [key, w] of windows) {
      // A window that ended takes its unshared points with it: they counted against it.
      if (w.expire <= now) {
        windows.delete(key);
        continue;
      }
      // Moved aside, not forgotten: spends decided meanwhile still count them.
      w.syncing = w.pending;
      w.pending = 0;
      taken.set(key, w);
    }
    if (taken.size === 0) return;
    try {
      const fresh = await addSpent(new Map([...taken].map(([key, w]) => [key, w.syncing])));
      for (const [key, w] of taken) {
        // A window replaced meanwhile (a new one began) is not this sync's to update.
        if (windows.get(key) !== w) continue;
        // Updated in place: a spend holding this window object must still count.
        const shared = fresh.get(key)!;
        w.shared = shared.shared;
        w.expire = shared.expire;
        w.syncing = 0;
      }
    } catch (error) {
      // Kept for the next sync: nothing spent is forgotten because Postgres was away.
      for (const w of taken.values()) {
        w.pending += w.syncing;
        w.syncing = 0;
      }
      options.onSyncError?.(error);
    }
  }
  const timer = setInterval(() => {
    syncing ??= sync().finally(() => (syncing = undefined));
  }, options.syncMs ?? 250);
  timer.unref();

  // A key's first spend in a window is shared at once (so a restart or another replica
  // sees it) and reads the count every replica has spent. First spends are batched: a
  // burst of new tenants costs a few statements, not one round trip each through the
  // small pool. Keys whose load is in flight wait for it; others wait for the next batch.
  type Waiter = { resolve: (w: Window | undefined) => void; reject: (e: unknown) => void };
  let next = new Map<string, Waiter[]>();
  const inFlight = new Map<string, Promise<unknown>>();
  let loader: Promise<void> | undefined;

  async function loadBatches(): Promise<void> {
    // The rest of this tick's requests join the first batch.
    await new Promise((r) => setImmediate(r));
    while (next.size > 0) {
      const batch = next;
      next = new Map();
      const load = addSpent(new Map([...batch.keys()].map((k) => [k, 1])));
      for (const key of batch.keys()) inFlight.set(key, load);
      try {
        const fresh = await load;
        for (const [key, waiters] of batch) {
          const loaded = fresh.get(key)!;
          windows.set(key, loaded);
          // The first waiter's point is the one written; the others spend in memory.
          waiters[0]!.resolve({ ...loaded, pending: -1 });
          for (const w of waiters.slice(1)) w.resolve(undefined);
        }
      } catch (error) {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(error);
      } finally {
        for (const key of batch.keys()) inFlight.delete(key);
      }
    }
    loader = undefined;
  }

  /** The key's window; pending −1 when this call's point was the one the load wrote. */
  async function windowOf(key: string): Promise<Window> {
    const w = windows.get(key);
    if (w && w.expire > Date.now()) return w;
    const flying = inFlight.get(key);
    if (flying) {
      await flying;
      return windowOf(key);
    }
    const loaded = await new Promise<Window | undefined>((resolve, reject) => {
      const waiters = next.get(key) ?? [];
      waiters.push({ resolve, reject });
      next.set(key, waiters);
      loader ??= loadBatches();
    });
    return loaded ?? windowOf(key);
  }

  return {
    points,
    async consume(key) {
      const w = await windowOf(key);
      // pending −1: this call's point is in `shared` already (the first spend wrote it).
      if (w.pending === -1) {
        return w.shared <= points
          ? { allowed: true, remainingPoints: points - w.shared }
          : { allowed: false, msBeforeNext: Math.max(0, w.expire - Date.now()) };
      }
      const spent = w.shared + w.syncing + w.pending;
      if (spent >= points)
        return { allowed: false, msBeforeNext: Math.max(0, w.expire - Date.now()) };
      w.pending++;
      return { allowed: true, remainingPoints: points - spent - 1 };
    },
    async close() {
      clearInterval(timer);
      await syncing;
      await sync();
    },
  };
}
