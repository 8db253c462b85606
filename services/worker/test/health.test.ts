// The worker's probes on a real Postgres behind a TCP proxy we black-hole: /readyz turns 503
// within its bound, /healthz turns 503 once the pool is stuck past the liveness bound, and
// both recover when Postgres is back.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDb, type Db } from '@transcribe/db';
import { createRegistry, serveMetrics } from '@transcribe/telemetry';
import { sql } from 'kysely';
import {
  createTestEnv,
  startFaultProxy,
  type FaultProxy,
  type TestEnv,
} from '../../../packages/testkit/src/index.js';
import { workerProbes } from '../src/health.js';
import { waitFor } from '../../../packages/testkit/src/wait-for.js';

let env: TestEnv;
let proxy: FaultProxy;
let db: Db;
let server: Server;
let probes: ReturnType<typeof workerProbes>;
let base: string;
let brokerUp = true;

beforeAll(async () => {
  env = await createTestEnv();
  const target = new URL(env.databaseUrl);
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) });
  db = createDb(proxy.rewrite(env.databaseUrl), {
    max: 1,
    connectTimeoutMs: 6000,
    queryTimeoutMs: 6000,
    statementTimeoutMs: 3000,
  });
  probes = workerProbes(
    { db, isBrokerConnected: () => brokerUp },
    { readyTimeoutMs: 1000, stallMs: 1500 },
  );
  server = await serveMetrics(createRegistry('worker'), 0, probes);
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  probes?.monitor.stop();
  server?.close();
  await proxy?.close();
  await db?.destroy();
  await env?.close();
});

const probe = async (path: string) => {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

it('is ready and live with Postgres and the broker up; not ready without the broker', async () => {
  expect(await probe('/readyz')).toEqual({
    status: 200,
    json: { status: 'ok', checks: { rabbitmq: 'ok', postgres: 'ok' } },
  });
  expect(await probe('/healthz')).toEqual({ status: 200, json: { status: 'ok' } });
  brokerUp = false;
  expect((await probe('/readyz')).status).toBe(503);
  brokerUp = true;
});

it('black hole: /readyz 503 within its bound, /healthz 503 while the pool is stuck; recovers', async () => {
  proxy.blackhole();
  const ready = await probe('/readyz');
  expect(ready.status).toBe(503);
  // The check's own bound ended it (it says so), not the black hole lifting.
  expect(ready.json).toMatchObject({ checks: { postgres: 'timed out after 1000 ms' } });
  // Work waiting on the one connection, which hangs: nothing moves.
  const stuck = [1, 2, 3].map(() => sql`select 1`.execute(db).catch(() => undefined));
  await waitFor(async () => (await probe('/healthz')).status === 503);
  expect((await probe('/healthz')).json).toMatchObject({ status: 'wedged' });
  proxy.restore();
  await Promise.all(stuck);
  await waitFor(async () => (await probe('/readyz')).status === 200);
  await waitFor(async () => (await probe('/healthz')).status === 200);
}, 60_000);
