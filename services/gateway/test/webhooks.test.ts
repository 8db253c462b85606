// Webhook deliveries through the gateway's REST API, on real Postgres and RabbitMQ, with
// the notifier's real dispatcher sending to a real receiver on 127.0.0.1: list a job's
// deliveries and attempts, redeliver one (same delivery id), tenant scoping.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  TenantWebhookSettings,
  WEBHOOK_DELIVERY_HEADER,
  WebhookDelivery,
  WebhookDeliveryList,
  WebhookSecretResponse,
} from '@transcribe/contracts';
import {
  ensureTenantWebhookSecret,
  findTenantWebhook,
  insertJob,
  insertWebhookDelivery,
} from '@transcribe/db';
import { createLogger, createRegistry } from '@transcribe/telemetry';
import { startWebhookDispatcher } from '../../notifier/src/webhooks/dispatcher.js';
import { expectError, startGatewayHarness, type GatewayHarness } from './support/harness.js';
import { waitFor } from '../../../packages/testkit/src/wait-for.js';

let h: GatewayHarness;
let receiver: Server;
let receiverUrl: string;
let status = 500;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  h = await startGatewayHarness();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(status).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await new Promise((resolve) => receiver.once('listening', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
}, 60_000);

afterAll(async () => {
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
  await h?.close();
});

async function jobOf(tenantId: string): Promise<string> {
  const id = randomUUID();
  await insertJob(h.env.db, {
    id,
    tenant_id: tenantId,
    status: 'completed',
    priority: 'default',
    object_key: `${tenantId}/${id}/talk.wav`,
    filename: 'talk.wav',
    content_type: 'audio/wav',
    size_bytes: 4096,
    language: 'en',
    engine: 'sphinx',
    webhook_url: receiverUrl,
  });
  return id;
}

/** A delivery as the notifier's intake creates it. */
async function deliveryOf(jobId: string, tenantId: string, maxAttempts = 1): Promise<string> {
  const id = randomUUID();
  await insertWebhookDelivery(h.env.db, {
    id,
    jobId,
    tenantId,
    event: 'job.completed',
    url: receiverUrl,
    payload: { v: 1, id, type: 'job.completed', data: { jobId } },
    maxAttempts,
  });
  return id;
}

/** The notifier's sender, as its main.ts runs it (private targets allowed: 127.0.0.1). */
function dispatcher() {
  return startWebhookDispatcher({
    db: h.env.db,
    logger: createLogger('notifier', 'silent'),
    registry: createRegistry('notifier'),
    settings: {
      pollMs: 50,
      concurrency: 4,
      timeoutMs: 5000,
      backoffBaseMs: 50,
      backoffMaxMs: 200,
      allowPrivate: true,
      // Deliveries here answer 500 on purpose: no circuit should defer them.
      breakerThreshold: 0,
      breakerCooldownMs: 1000,
    },
  });
}

const list = async (jobId: string, key?: string | null) => {
  const res = await h.api(`/v1/jobs/${jobId}/webhooks/deliveries`, { key });
  return { res, body: res.status === 200 ? WebhookDeliveryList.parse(res.json) : undefined };
};

describe('GET /v1/jobs/:id/webhooks/deliveries', () => {
  it('lists nothing for a job without deliveries', async () => {
    const jobId = await jobOf(h.tenantA);
    const { res, body } = await list(jobId);
    expect(res.status).toBe(200);
    expect(body).toEqual({ deliveries: [] });
  });

  it("answers 404 for another tenant's job, an unknown job and a malformed id", async () => {
    const jobId = await jobOf(h.tenantA);
    await deliveryOf(jobId, h.tenantA);
    expectError((await list(jobId, h.keyB)).res, 404, 'not_found');
    expectError((await list(randomUUID())).res, 404, 'not_found');
    expectError((await list('not-a-uuid')).res, 404, 'not_found');
    expectError((await list(jobId, null)).res, 401, 'unauthorized');
  });
});

describe('POST /v1/jobs/:id/webhooks/deliveries/:deliveryId/redeliver', () => {
  it('sends a failed delivery again with the same id, and lists every attempt', async () => {
    const jobId = await jobOf(h.tenantA);
    const deliveryId = await deliveryOf(jobId, h.tenantA, 1);
    const sender = dispatcher();
    try {
      status = 500;
      const failed = await waitFor(
        async () => {
          const listed = await list(jobId);
          return listed.body?.deliveries[0]?.status === 'failed' && listed;
        },
        { what: 'the delivery to be failed' },
      );
      expect(failed.body!.deliveries).toHaveLength(1);
      expect(failed.body!.deliveries[0]).toMatchObject({
        id: deliveryId,
        jobId,
        event: 'job.completed',
        url: receiverUrl,
        attempts: 1,
        maxAttempts: 1,
        lastStatusCode: 500,
        nextAttemptAt: null,
        attemptLog: [{ attempt: 1, statusCode: 500, url: receiverUrl }],
      });

      status = 204;
      const res = await h.api(`/v1/jobs/${jobId}/webhooks/deliveries/${deliveryId}/redeliver`, {
        method: 'POST',
      });
      expect(res.status).toBe(202);
      expect(WebhookDelivery.parse(res.json)).toMatchObject({ id: deliveryId, status: 'pending' });

      const done = await waitFor(
        async () => {
          const listed = await list(jobId);
          return listed.body?.deliveries[0]?.status === 'succeeded' && listed;
        },
        { what: 'the delivery to be succeeded' },
      );
      expect(done.body!.deliveries[0]!.attemptLog.map((a) => [a.attempt, a.statusCode])).toEqual([
        [1, 500],
        [2, 204],
      ]);
      const sent = received.filter((r) => r.headers[WEBHOOK_DELIVERY_HEADER] === deliveryId);
      expect(sent).toHaveLength(2);
      expect(sent[0]!.body).toBe(sent[1]!.body);
    } finally {
      await sender.stop();
    }
  });

  it('answers 409 while the delivery is still pending, 404 across tenants and for unknown ids', async () => {
    // No dispatcher runs here: the delivery stays pending.
    const jobId = await jobOf(h.tenantA);
    const deliveryId = await deliveryOf(jobId, h.tenantA);
    const redeliver = (job: string, delivery: string, key?: string) =>
      h.api(`/v1/jobs/${job}/webhooks/deliveries/${delivery}/redeliver`, { method: 'POST', key });
    expectError(await redeliver(jobId, deliveryId), 409, 'conflict');
    expectError(await redeliver(jobId, deliveryId, h.keyB), 404, 'not_found');
    expectError(await redeliver(jobId, randomUUID()), 404, 'not_found');
    expectError(await redeliver(jobId, 'nope'), 404, 'not_found');
    // A delivery id under another job of the same tenant is not found either.
    const otherJob = await jobOf(h.tenantA);
    expectError(await redeliver(otherJob, deliveryId), 404, 'not_found');
  });
});

describe('tenant webhook settings', () => {
  it('sets and clears the default URL, keeps the secret, and scopes both to the tenant', async () => {
    const empty = await h.api('/v1/webhooks', { key: h.keyB });
    expect(empty.status).toBe(200);
    expect(TenantWebhookSettings.parse(empty.json)).toEqual({ url: null, secretPrefix: null });

    const put = await h.api('/v1/webhooks', {
      method: 'PUT',
      key: h.keyB,
      body: { url: 'https://hooks.example.test/transcribe' },
    });
    expect(put.status).toBe(200);
    const set = TenantWebhookSettings.parse(put.json);
    expect(set.url).toBe('https://hooks.example.test/transcribe');
    expect(set.secretPrefix).toMatch(/^whsec_/);
    const secret = await ensureTenantWebhookSecret(h.env.db, h.tenantB);
    expect(secret.startsWith(set.secretPrefix!)).toBe(true);
    expect(put.text).not.toContain(secret);
    // Tenant A sees none of it.
    expect(TenantWebhookSettings.parse((await h.api('/v1/webhooks')).json).url).toBeNull();

    const cleared = await h.api('/v1/webhooks', {
      method: 'PUT',
      key: h.keyB,
      body: { url: null },
    });
    expect(TenantWebhookSettings.parse(cleared.json)).toEqual({
      url: null,
      secretPrefix: set.secretPrefix,
    });
    expect(await ensureTenantWebhookSecret(h.env.db, h.tenantB)).toBe(secret);
  });

  it('refuses URLs that are not http(s) with 400 validation_failed', async () => {
    for (const url of ['ftp://hooks.example.test/x', 'not a url', 42]) {
      expectError(
        await h.api('/v1/webhooks', { method: 'PUT', body: { url } }),
        400,
        'validation_failed',
      );
    }
  });

  it('rotates the secret and shows the new one once', async () => {
    const before = await ensureTenantWebhookSecret(h.env.db, h.tenantA);
    const res = await h.api('/v1/webhooks/secret', { method: 'POST' });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { secret } = WebhookSecretResponse.parse(res.json);
    expect(secret).not.toBe(before);
    expect((await findTenantWebhook(h.env.db, h.tenantA))?.secret).toBe(secret);
    const shown = TenantWebhookSettings.parse((await h.api('/v1/webhooks')).json);
    expect(shown.secretPrefix).toBe(secret.slice(0, 12));
  });
});

describe("webhook URL policy (the notifier's, applied at the API)", () => {
  const refused = [
    'http://127.0.0.1:9/hook',
    'http://localhost/hook', // resolves to loopback
    'http://10.0.0.1/hook',
    'http://192.168.1.10/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[fd00:ec2::254]/hook',
  ];

  it.each(refused)('PUT /v1/webhooks refuses %s with 400 webhook_url_refused', async (url) => {
    const error = expectError(
      await h.api('/v1/webhooks', { method: 'PUT', key: h.keyB, body: { url } }),
      400,
      'webhook_url_refused',
    );
    expect(error.message).toMatch(/^url: refused: .* is a \w+ address; webhooks are only sent/);
    expect(error.details).toMatchObject({ field: 'url' });
    expect((await findTenantWebhook(h.env.db, h.tenantB))?.url ?? null).toBeNull();
  });

  it('POST /v1/jobs refuses a metadata-address webhookUrl and leaves the upload unspent', async () => {
    const upload = await h.uploadJfk();
    const error = expectError(
      await h.createJob(upload.uploadId, h.keyA, {
        webhookUrl: 'http://169.254.169.254/latest/meta-data/',
      }),
      400,
      'webhook_url_refused',
    );
    expect(error.details).toMatchObject({
      field: 'webhookUrl',
      address: '169.254.169.254',
      range: 'linkLocal',
    });
    expect((await h.createJob(upload.uploadId)).status).toBe(202);
  });

  it('POST /v1/jobs/upload refuses a loopback webhookUrl form field and keeps nothing', async () => {
    const before = await h.env.db.selectFrom('uploads').select('id').execute();
    const form = new FormData();
    form.append('webhookUrl', 'http://localhost:8080/internal');
    form.append('file', new Blob([h.jfk], { type: 'audio/wav' }), 'jfk.wav');
    expectError(
      await h.api('/v1/jobs/upload', { method: 'POST', rawBody: form }),
      400,
      'webhook_url_refused',
    );
    expect(await h.env.db.selectFrom('uploads').select('id').execute()).toHaveLength(before.length);
  });

  it('accepts public addresses, and names that do not resolve (the notifier checks again)', async () => {
    for (const url of ['https://93.184.215.14/hook', 'https://hooks.invalid/hook']) {
      const res = await h.api('/v1/webhooks', { method: 'PUT', key: h.keyB, body: { url } });
      expect({ url, status: res.status }).toEqual({ url, status: 200 });
    }
  });

  it('accepts private addresses when WEBHOOK_ALLOW_PRIVATE is set', async () => {
    const base = await h.listen({
      ...h.deps,
      registry: createRegistry('gateway'),
      settings: { ...h.deps.settings, webhookAllowPrivate: true },
    });
    const res = await h.api(
      '/v1/webhooks',
      { method: 'PUT', key: h.keyB, body: { url: 'http://127.0.0.1:9/hook' } },
      base,
    );
    expect(res.status).toBe(200);
    expect(TenantWebhookSettings.parse(res.json).url).toBe('http://127.0.0.1:9/hook');
  });
});
