// API keys resolved from memory (issue 18), on a real Postgres and a real gateway process:
// a key revoked with the CLI's revokeApiKey is refused at once by a running gateway
// (Postgres NOTIFY), however long its cache would keep it; without the notification, the
// cache's TTL bounds how long a revoked key still passes; unknown keys are never cached.
import { randomBytes } from 'node:crypto';
import {
  API_KEY_REVOKED_CHANNEL,
  ensureTenant,
  insertApiKey,
  listenForNotifications,
  revokeApiKey,
} from '@transcribe/db';
import {
  createTestEnv,
  freePort,
  startService,
  waitFor,
  type ServiceProcess,
  type TestEnv,
} from '../../../packages/testkit/src/index.js';
import { createApiKeyCache } from '../src/api-key-cache.js';

let env: TestEnv;
let tenantId: string;

beforeAll(async () => {
  env = await createTestEnv();
  tenantId = await ensureTenant(env.db, 'cache');
}, 60_000);

afterAll(async () => {
  await env?.close();
});

async function newKey(): Promise<{ id: string; key: string }> {
  const key = `tk_cache_${randomBytes(16).toString('hex')}`;
  const { id } = await insertApiKey(env.db, { tenantId, name: 'cache', key });
  return { id, key };
}

it('drops a key revoked elsewhere at once when the revocation is heard', async () => {
  const cache = createApiKeyCache(env.db, { ttlMs: 600_000 });
  let listening!: () => void;
  const ready = new Promise<void>((resolve) => (listening = resolve));
  const feed = listenForNotifications(env.databaseUrl, {
    channel: API_KEY_REVOKED_CHANNEL,
    onNotification: (hash) => cache.revoked(hash),
    onListening: () => listening(),
  });
  try {
    await ready;
    const { id, key } = await newKey();
    expect(await cache.tenantOf(key)).toBe(tenantId);
    expect(await revokeApiKey(env.db, id)).toBe(true);
    const t0 = Date.now();
    await waitFor(async () => (await cache.tenantOf(key)) === undefined, { timeoutMs: 2000 });
    expect(Date.now() - t0).toBeLessThan(2000);
  } finally {
    await feed.stop();
  }
});

it('bounds a revoked key by the TTL when no revocation is heard, and never caches a miss', async () => {
  const cache = createApiKeyCache(env.db, { ttlMs: 300 });
  const { id, key } = await newKey();
  expect(await cache.tenantOf(key)).toBe(tenantId);
  await revokeApiKey(env.db, id);
  // Cached: still the tenant's until the TTL ends, then refused.
  expect(await cache.tenantOf(key)).toBe(tenantId);
  await new Promise((r) => setTimeout(r, 350));
  expect(await cache.tenantOf(key)).toBeUndefined();
  // A key not known yet is looked up every time: a key created now works at once.
  const later = `tk_cache_${randomBytes(16).toString('hex')}`;
  expect(await cache.tenantOf(later)).toBeUndefined();
  await insertApiKey(env.db, { tenantId, name: 'later', key: later });
  expect(await cache.tenantOf(later)).toBe(tenantId);
});

describe('a running gateway', () => {
  let gateway: ServiceProcess | undefined;
  afterAll(async () => {
    await gateway?.stop();
  });

  it('refuses a key revoked with the CLI at once, its cache notwithstanding', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    gateway = await startService(
      'gateway',
      { ...env.env, GATEWAY_PORT: String(port), HOST: '127.0.0.1', API_KEY_CACHE_TTL_MS: '300000' },
      `${base}/readyz`,
    );
    const { id, key } = await newKey();
    const list = () =>
      fetch(`${base}/v1/jobs?limit=1`, { headers: { authorization: `Bearer ${key}` } }).then(
        async (res) => (await res.arrayBuffer(), res.status),
      );
    expect(await list()).toBe(200);
    expect(await list()).toBe(200);
    await revokeApiKey(env.db, id);
    const t0 = Date.now();
    await waitFor(async () => (await list()) === 401, { timeoutMs: 3000 });
    expect(Date.now() - t0).toBeLessThan(3000);
  }, 120_000);
});
