// The gateway in front of a Postgres that drops, refuses and hangs (a TCP proxy we cut), on
// real Postgres, RabbitMQ and an S3 API server: it never crashes, answers 503 + Retry-After
// in the JSON error shape while Postgres is gone, reports a hang on /readyz within seconds,
// fails /healthz when its pool is stuck, keeps /metrics fast (last values, db_up 0), and
// recovers on its own when Postgres is back.
import { sql } from 'kysely';
import { createDb, poolProbe, type Db } from '@transcribe/db';
import { createRegistry, startLivenessMonitor, type LivenessMonitor } from '@transcribe/telemetry';
import { startFaultProxy, waitFor, type FaultProxy } from '../../../packages/testkit/src/index.js';
import { expectError, startGatewayHarness, type GatewayHarness } from './support/harness.js';

let h: GatewayHarness;
let proxy: FaultProxy;
let db: Db;
let monitor: LivenessMonitor;
let base: string;
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

const STALL_MS = 1500;

beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  h = await startGatewayHarness();
  const target = new URL(h.env.databaseUrl);
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) });
  // Short bounds so the test is quick; the defaults are longer, the behaviour the same.
  db = createDb(proxy.rewrite(h.env.databaseUrl), {
    max: 3,
    connectTimeoutMs: 6000,
    statementTimeoutMs: 3000,
    queryTimeoutMs: 6000,
  });
  monitor = startLivenessMonitor({ stallMs: STALL_MS, pools: [poolProbe(db)!] });
  base = await h.listen({
    ...h.deps,
    db,
    registry: createRegistry('gateway'),
    liveness: () => monitor.check(),
    settings: { ...h.deps.settings, readyCheckTimeoutMs: 1000 },
  });
}, 60_000);

afterAll(async () => {
  monitor?.stop();
  await proxy?.close();
  await db?.destroy();
  await h?.close();
  process.off('uncaughtException', onUncaught);
});

afterEach(() => {
  proxy.restore();
  expect(uncaught).toEqual([]);
});

const get = (path: string, key: string | null = h.keyA) => h.api(path, { key }, base);

function expectUnavailable(res: Awaited<ReturnType<typeof get>>) {
  expectError(res, 503, 'dependency_unavailable');
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
}

it('serves normally through the proxy', async () => {
  expect((await get('/v1/jobs')).status).toBe(200);
  expect((await get('/readyz', null)).status).toBe(200);
});

it('opens sessions with the configured server-side timeouts', async () => {
  const { rows } = await sql<{
    statement_timeout: string;
    idle_in_transaction_session_timeout: string;
  }>`select current_setting('statement_timeout') as statement_timeout,
            current_setting('idle_in_transaction_session_timeout') as idle_in_transaction_session_timeout`.execute(
    db,
  );
  expect(rows[0]).toEqual({ statement_timeout: '3s', idle_in_transaction_session_timeout: '1min' });
});

it('survives a cut while a client is checked out (idle in a transaction, and mid-query)', async () => {
  const idleInTransaction = db.transaction().execute(async (trx) => {
    await sql`select 1`.execute(trx);
    proxy.cut();
    // The socket dies while this client is checked out between two queries: pg emits
    // 'error' on it, which used to crash the process.
    await new Promise((r) => setTimeout(r, 300));
    await sql`select 1`.execute(trx);
  });
  await expect(idleInTransaction).rejects.toThrow();
  const midQuery = sql`select pg_sleep(2)`.execute(db);
  await waitFor(() => proxy.stats().open > 0, { what: 'a connection through the proxy' });
  await new Promise((r) => setTimeout(r, 200));
  proxy.cut();
  await expect(midQuery).rejects.toThrow();
  // Still alive, and the pool reconnects by itself.
  expect((await get('/v1/jobs')).status).toBe(200);
});

it('answers 503 + Retry-After while Postgres refuses connections, then recovers', async () => {
  proxy.refuse();
  const started = Date.now();
  expectUnavailable(await get('/v1/jobs'));
  expectUnavailable(await get(`/v1/jobs/${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}`));
  expect(Date.now() - started).toBeLessThan(10_000);
  const ready = await get('/readyz', null);
  expect(ready.status).toBe(503);
  expect(ready.json).toMatchObject({ status: 'not_ready', checks: { rabbitmq: 'ok', s3: 'ok' } });
  // Postgres being down is not a reason to restart the gateway.
  expect((await get('/healthz', null)).status).toBe(200);
  proxy.restore();
  await waitFor(async () => {
    const r = await get('/v1/jobs');
    return r.status === 200 && r;
  });
  expect((await get('/readyz', null)).status).toBe(200);
});

it('under a black hole: /readyz 503 within seconds, requests 503 within the timeouts, /healthz 503 while the pool is stuck; all recover', async () => {
  proxy.blackhole();
  const ready = await get('/readyz', null);
  expect(ready.status).toBe(503);
  // The check's own bound ended it (it says so), not the black hole lifting.
  expect((ready.json as { checks: Record<string, string> }).checks.postgres).toMatch(/timed out/);

  // More requests than connections: callers wait in the pool and nothing moves.
  const requests = Array.from({ length: 6 }, () => get('/v1/jobs'));
  const wedged = await waitFor(
    async () => {
      const r = await get('/healthz', null);
      return r.status === 503 && r;
    },
    { what: '/healthz 503' },
  );
  expect(wedged.json).toMatchObject({ status: 'wedged' });
  // Each gives up by its connect and query timeouts (6 s each): they all end while the
  // black hole lasts, so nothing else could have ended them (it used to take minutes, past
  // this test's own bound).
  for (const res of await Promise.all(requests)) expectUnavailable(res);

  proxy.restore();
  await waitFor(async () => {
    const r = await get('/v1/jobs');
    return r.status === 200 && r;
  });
  await waitFor(async () => (await get('/readyz', null)).status === 200, { what: '/readyz 200' });
  await waitFor(async () => (await get('/healthz', null)).status === 200, {
    what: '/healthz 200',
  });
}, 60_000);

it('serves /metrics within its bound while Postgres refuses or hangs: the last values, db_up 0', async () => {
  const scrape = async () => {
    const started = Date.now();
    const res = await get('/metrics', null);
    expect(res.status).toBe(200);
    const up = /^transcribe_metrics_db_up\{[^}]*\} (\d)$/m.exec(res.text)?.[1];
    return { text: res.text, up: Number(up), ms: Date.now() - started };
  };
  await waitFor(async () => (await scrape()).up === 1, { what: 'db_up 1' });
  for (const cut of [() => proxy.refuse(), () => proxy.blackhole()]) {
    cut();
    const down = await waitFor(
      async () => {
        const s = await scrape();
        return s.up === 0 && s;
      },
      { what: 'db_up 0', timeoutMs: 20_000 },
    );
    // The read's bound is the readiness checks' (1 s here), whatever Postgres does.
    expect(down.ms).toBeLessThan(2500);
    expect(down.text).toMatch(/^transcribe_queue_depth\{lane="jobs"[^}]*\} \d+$/m);
    expect(down.text).toMatch(/^transcribe_jobs_stalled\{[^}]*\} \d+$/m);
    // Scrapes stay fast while it lasts: one read at a time, not one per scrape or gauge.
    for (let i = 0; i < 3; i++) expect((await scrape()).ms).toBeLessThan(2500);
    proxy.restore();
    await waitFor(async () => (await scrape()).up === 1, { what: 'db_up 1', timeoutMs: 30_000 });
  }
}, 90_000);
