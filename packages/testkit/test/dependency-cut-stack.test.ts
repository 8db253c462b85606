// Gateway, notifier and a worker as separate processes from their built code, talking to a
// real Postgres through a TCP proxy we cut, refuse and black-hole while they poll and serve.
// No process crashes (the old `Unhandled 'error' event` of a checked-out pg client); the
// gateway answers 503 + Retry-After while Postgres is gone; all are ready again after. The
// same for RabbitMQ connections cut again and again.
import { randomBytes } from 'node:crypto';
import { ErrorBody } from '@transcribe/contracts';
import {
  createTestEnv,
  startStack,
  startFaultProxy,
  type Stack,
  type FaultProxy,
  type TestEnv,
} from '../src/index.js';

const KEY = `test-key-${randomBytes(8).toString('hex')}`;
let env: TestEnv;
let proxy: FaultProxy;
let amqpProxy: FaultProxy;
let stack: Stack;

beforeAll(async () => {
  env = await createTestEnv();
  const target = new URL(env.databaseUrl);
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const amqp = new URL(env.env.AMQP_URL!);
  amqpProxy = await startFaultProxy({ host: amqp.hostname, port: Number(amqp.port || 5672) });
  stack = await startStack({
    env: {
      ...env.env,
      DATABASE_URL: proxy.rewrite(env.databaseUrl),
      AMQP_URL: amqpProxy.rewrite(env.env.AMQP_URL!),
      DEV_API_KEY: KEY,
      // Busy pollers: many transactions in flight, so a cut lands on checked-out clients.
      OUTBOX_POLL_MS: '20',
      WEBHOOK_POLL_MS: '20',
      REAPER_INTERVAL_S: '1',
      PG_CONNECT_TIMEOUT_MS: '2000',
      PG_QUERY_TIMEOUT_MS: '4000',
      PG_STATEMENT_TIMEOUT_MS: '3000',
      READY_CHECK_TIMEOUT_MS: '1000',
    },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await proxy?.close();
  await amqpProxy?.close();
  await env?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expectAllAlive() {
  for (const [id, service] of stack.services) {
    expect({ id, exitCode: service.child.exitCode, signal: service.child.signalCode }).toEqual({
      id,
      exitCode: null,
      signal: null,
    });
    expect(service.output()).not.toMatch(/Unhandled 'error' event|uncaught/i);
  }
}

async function waitReady(url: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} not ready again`);
    await sleep(200);
  }
}

const jobs = () =>
  fetch(`${stack.gatewayUrl}/v1/jobs`, { headers: { authorization: `Bearer ${KEY}` } });

it('no service dies when Postgres connections are cut, refused or black-holed, and all recover', async () => {
  // Traffic on the gateway all along: requests hold clients when the cuts land.
  let stop = false;
  const statuses: number[] = [];
  const traffic = (async () => {
    while (!stop) {
      statuses.push(
        await jobs().then(
          async (r) => {
            await r.arrayBuffer();
            return r.status;
          },
          () => 0,
        ),
      );
    }
  })();

  for (let i = 0; i < 15; i++) {
    await sleep(100);
    proxy.cut();
  }
  expectAllAlive();

  proxy.refuse();
  await sleep(500);
  const refused = await jobs();
  expect(refused.status).toBe(503);
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(ErrorBody.parse(await refused.json()).error.code).toBe('dependency_unavailable');
  await sleep(2000);
  expectAllAlive();

  proxy.blackhole();
  await sleep(5000);
  expectAllAlive();

  proxy.restore();
  stop = true;
  await traffic;
  for (const url of [`${stack.gatewayUrl}/readyz`, `${stack.notifierUrl}/readyz`])
    await waitReady(url);
  expect((await jobs()).status).toBe(200);
  expectAllAlive();
  // The gateway never answered 500 through all of it: 200 or 503 (or a dropped connection).
  expect(statuses.filter((s) => s !== 200 && s !== 503 && s !== 0)).toEqual([]);
  expect(statuses).toContain(503);
}, 120_000);

it('no service dies when its RabbitMQ connections are cut again and again, and all reconnect', async () => {
  // Cuts at varying moments land during reconnects and channel setups too.
  for (let i = 0; i < 12; i++) {
    await sleep(150 + (i % 4) * 250);
    amqpProxy.cut();
  }
  expectAllAlive();
  for (const url of [`${stack.gatewayUrl}/readyz`, `${stack.notifierUrl}/readyz`])
    await waitReady(url);
  expect((await jobs()).status).toBe(200);
  expectAllAlive();
}, 120_000);
