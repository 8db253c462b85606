// The notifier in front of a Postgres that drops and hangs (a TCP proxy we cut), on real
// Postgres and RabbitMQ: no crash when connections die under it, /readyz reports a hang
// within seconds, /healthz fails while its pool is stuck, and everything recovers.
import { sql } from 'kysely';
import WebSocket from 'ws';
import { CloseCode } from '@transcribe/contracts';
import { createDb, poolProbe, type Db } from '@transcribe/db';
import { startLivenessMonitor, type LivenessMonitor } from '@transcribe/telemetry';
import {
  createTestEnv,
  startFaultProxy,
  type FaultProxy,
  type TestEnv,
} from '../../../packages/testkit/src/index.js';
import { Harness, waitFor, type RunningNotifier, type Tenant } from './support/harness.js';

let env: TestEnv;
let h: Harness;
let proxy: FaultProxy;
let db: Db;
let monitor: LivenessMonitor;
let notifier: RunningNotifier;
let tenant: Tenant;
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  env = await createTestEnv();
  h = new Harness(env);
  await h.start();
  const target = new URL(env.databaseUrl);
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) });
  db = createDb(proxy.rewrite(env.databaseUrl), {
    max: 2,
    connectTimeoutMs: 6000,
    statementTimeoutMs: 3000,
    queryTimeoutMs: 6000,
  });
  monitor = startLivenessMonitor({ stallMs: 1500, pools: [poolProbe(db)!] });
  notifier = await h.startNotifier(
    { readyCheckTimeoutMs: 1000 },
    { db, liveness: () => monitor.check() },
  );
  tenant = await h.createTenant();
}, 60_000);

afterAll(async () => {
  monitor?.stop();
  await h?.stop();
  await proxy?.close();
  await db?.destroy();
  await env?.close();
  process.off('uncaughtException', onUncaught);
});

afterEach(() => {
  proxy.restore();
  expect(uncaught).toEqual([]);
});

const status = async (path: string) => (await fetch(`${notifier.httpUrl}${path}`)).status;

/** Opens a tenant stream with the API key; resolves with the first frame or the close code. */
function follow(): Promise<'frame' | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(notifier.tenantUrl(), {
      headers: { authorization: `Bearer ${tenant.apiKey}` },
    });
    ws.once('message', () => {
      resolve('frame');
      ws.close();
    });
    ws.once('close', (code) => resolve(code));
    ws.once('error', () => undefined);
  });
}

it('survives a cut under a checked-out client and serves streams again', async () => {
  expect(await follow()).toBe('frame');
  const inTransaction = db.transaction().execute(async (trx) => {
    await sql`select 1`.execute(trx);
    proxy.cut();
    await new Promise((r) => setTimeout(r, 300));
    await sql`select 1`.execute(trx);
  });
  await expect(inTransaction).rejects.toThrow();
  // A stream opened while Postgres refuses is closed with 1013 (try again later), and SSE
  // answers 503 in the error shape with Retry-After; the process lives on.
  proxy.refuse();
  expect(await follow()).toBe(CloseCode.TryAgainLater);
  const sse = await fetch(`${notifier.httpUrl}/v1/events/sse`, {
    headers: { authorization: `Bearer ${tenant.apiKey}` },
  });
  expect(sse.status).toBe(503);
  expect(sse.headers.get('retry-after')).toBe('5');
  expect(await sse.json()).toEqual({
    error: { code: 'dependency_unavailable', message: expect.any(String) },
  });
  proxy.restore();
  await waitFor(async () => (await follow()) === 'frame');
});

it('black hole: /readyz 503 within seconds, /healthz 503 while the pool is stuck; recovers', async () => {
  proxy.blackhole();
  // The check's own bound ended it (it says so), not the black hole lifting.
  const ready = await fetch(`${notifier.httpUrl}/readyz`);
  expect(ready.status).toBe(503);
  expect(await ready.json()).toMatchObject({
    checks: { postgres: expect.stringMatching(/^timed out after \d+ ms$/) },
  });
  // Streams whose admission waits on the stuck pool, more than it has connections.
  const stuck = Array.from({ length: 4 }, () => follow());
  await waitFor(async () => (await status('/healthz')) === 503);
  proxy.restore();
  await Promise.all(stuck);
  await waitFor(async () => (await status('/readyz')) === 200);
  await waitFor(async () => (await status('/healthz')) === 200);
  expect(await follow()).toBe('frame');
}, 60_000);
