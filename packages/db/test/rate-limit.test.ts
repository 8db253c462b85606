// Rate-limit budgets counted in memory and shared through Postgres (issue 18), on a real
// Postgres: one store counts exactly and leaves the count in the shared row; two stores
// (two gateway replicas) share one budget once synced; a restarted store goes on from
// the shared count instead of granting a fresh budget.
import pg from 'pg';
import { createTestEnv, waitFor, type TestEnv } from '../../testkit/src/index.js';
import { createRateLimitStore, type RateLimitStore } from '../src/index.js';

let env: TestEnv;
let pool: pg.Pool;
const stores: RateLimitStore[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  pool = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
}, 60_000);

afterAll(async () => {
  for (const store of stores) await store.close();
  await pool?.end();
  await env?.close();
});

function store(points: number, syncMs = 50): RateLimitStore {
  const s = createRateLimitStore(pool, { keyPrefix: 'jobs', points, durationS: 60, syncMs });
  stores.push(s);
  return s;
}

async function sharedCount(key: string): Promise<number> {
  const { rows } = await pool.query<{ points: number }>(
    'SELECT points FROM rate_limits WHERE key = $1',
    [`jobs:${key}`],
  );
  return rows[0]?.points ?? 0;
}

it('counts exactly in one process, concurrent spends included, and shares the count', async () => {
  const limits = store(10);
  const outcomes = await Promise.all(Array.from({ length: 15 }, () => limits.consume('t1')));
  expect(outcomes.filter((o) => o.allowed)).toHaveLength(10);
  const refused = outcomes.find((o) => !o.allowed);
  expect(refused && !refused.allowed && refused.msBeforeNext).toBeGreaterThan(50_000);
  const remaining = outcomes.flatMap((o) => (o.allowed ? [o.remainingPoints] : []));
  expect(remaining.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  await waitFor(async () => (await sharedCount('t1')) >= 10, { timeoutMs: 5000 });
});

it('counts spends made while a sync is in flight (never a point twice or none)', async () => {
  // A sync every 1 ms: spends keep landing while one is being written.
  const limits = store(40, 1);
  const remaining: number[] = [];
  for (let i = 0; i < 40; i++) {
    const o = await limits.consume('t-sync');
    expect(o.allowed).toBe(true);
    if (o.allowed) remaining.push(o.remainingPoints);
    await new Promise((r) => setTimeout(r, i % 3));
  }
  expect(remaining).toEqual(Array.from({ length: 40 }, (_, i) => 39 - i));
  expect((await limits.consume('t-sync')).allowed).toBe(false);
  await waitFor(async () => (await sharedCount('t-sync')) === 40, { timeoutMs: 5000 });
});

it('shares one budget between replicas once they have synced', async () => {
  const a = store(6);
  const b = store(6);
  for (let i = 0; i < 4; i++) expect((await a.consume('t2')).allowed).toBe(true);
  await waitFor(async () => (await sharedCount('t2')) === 4, { timeoutMs: 5000 });
  // B's first spend reads the shared count: two left, then none.
  expect(await b.consume('t2')).toEqual({ allowed: true, remainingPoints: 1 });
  expect((await b.consume('t2')).allowed).toBe(true);
  expect((await b.consume('t2')).allowed).toBe(false);
  // And A hears of B's spending at its next sync.
  await waitFor(async () => !(await a.consume('t2')).allowed, { timeoutMs: 5000 });
});

it('loads a burst of new keys in a few statements, not one round trip each', async () => {
  let statements = 0;
  const counting = new Proxy(pool, {
    get(target, name, receiver) {
      if (name === 'query') {
        return (...args: unknown[]) => {
          statements++;
          return (target.query as (...a: unknown[]) => unknown)(...args);
        };
      }
      return Reflect.get(target, name, receiver) as unknown;
    },
  });
  const limits = createRateLimitStore(counting, { keyPrefix: 'uploads', points: 2, durationS: 60 });
  stores.push(limits);
  const keys = Array.from({ length: 300 }, (_, i) => `burst-${i}`);
  const outcomes = await Promise.all(keys.flatMap((k) => [limits.consume(k), limits.consume(k)]));
  expect(outcomes.every((o) => o.allowed)).toBe(true);
  expect(statements).toBeLessThanOrEqual(3);
  expect((await limits.consume('burst-7')).allowed).toBe(false);
});

it('goes on from the shared count after a restart instead of granting a new budget', async () => {
  const before = store(3);
  for (let i = 0; i < 3; i++) expect((await before.consume('t3')).allowed).toBe(true);
  await before.close();
  const after = store(3);
  expect((await after.consume('t3')).allowed).toBe(false);
});
