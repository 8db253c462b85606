// The gateway with its S3 behind a TCP proxy we cut and refuse (real Postgres, RabbitMQ and
// S3 API server): a request that needs S3 answers 503 dependency_unavailable + Retry-After,
// /readyz names S3, /healthz stays 200, and all is well again once S3 is back.
import { createStorage, type Storage } from '@transcribe/storage';
import { createRegistry } from '@transcribe/telemetry';
import { startFaultProxy, type FaultProxy } from '../../../packages/testkit/src/index.js';
import { expectError, startGatewayHarness, type GatewayHarness } from './support/harness.js';

let h: GatewayHarness;
let proxy: FaultProxy;
let storage: Storage;
let base: string;

beforeAll(async () => {
  h = await startGatewayHarness();
  const endpoint = new URL(h.env.deps.s3.endpoint);
  proxy = await startFaultProxy({ host: endpoint.hostname, port: Number(endpoint.port) });
  storage = createStorage({
    bucket: h.env.bucket,
    region: h.env.deps.s3.region,
    endpoint: proxy.rewrite(h.env.deps.s3.endpoint).replace(/\/$/, ''),
    accessKeyId: h.env.deps.s3.accessKeyId,
    secretAccessKey: h.env.deps.s3.secretAccessKey,
    forcePathStyle: true,
  });
  base = await h.listen({
    ...h.deps,
    storage,
    registry: createRegistry('gateway'),
    settings: { ...h.deps.settings, readyCheckTimeoutMs: 1000 },
  });
}, 60_000);

afterAll(async () => {
  storage?.destroy();
  await proxy?.close();
  await h?.close();
});

it('answers 503 + Retry-After when S3 refuses, then recovers', async () => {
  const upload = await h.uploadJfk();
  proxy.refuse();
  // Through the proxy the S3 check of the uploaded object fails: not the client's fault.
  const created = await h.api(
    '/v1/jobs',
    { method: 'POST', body: { uploadId: upload.uploadId } },
    base,
  );
  expect(expectError(created, 503, 'dependency_unavailable').message).toMatch(/^s3 /);
  expect(Number(created.headers.get('retry-after'))).toBeGreaterThan(0);
  const ready = await h.api('/readyz', { key: null }, base);
  expect(ready.status).toBe(503);
  expect(ready.json).toMatchObject({ checks: { postgres: 'ok', rabbitmq: 'ok' } });
  expect((ready.json as { checks: { s3: string } }).checks.s3).not.toBe('ok');
  expect((await h.api('/healthz', { key: null }, base)).status).toBe(200);

  proxy.restore();
  const again = await h.uploadJfk();
  const retried = await h.api(
    '/v1/jobs',
    { method: 'POST', body: { uploadId: again.uploadId } },
    base,
  );
  expect(retried.status).toBe(202);
  expect((await h.api('/readyz', { key: null }, base)).status).toBe(200);
});
