// Webhooks end to end on real Postgres and RabbitMQ: terminal events published by the outbox
// relay reach the shared webhooks queue, become delivery rows, and are POSTed to a real
// HTTP receiver on 127.0.0.1 (hence WEBHOOK_ALLOW_PRIVATE in these tests, but for the
// SSRF ones), signed, retried with backoff and recorded.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import amqplib from 'amqplib';
import {
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_EVENT_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WebhookPayload,
  forbiddenRange,
  verifyWebhookSignature,
} from '@transcribe/contracts';
import {
  ensureTenantWebhookSecret,
  listJobWebhookDeliveries,
  setTenantWebhookUrl,
} from '@transcribe/db';
import { createLogger, createRegistry } from '@transcribe/telemetry';
import { createTestEnv, type TestEnv } from '../../../packages/testkit/src/index.js';
import {
  startWebhookDispatcher,
  type WebhookDispatcher,
  type WebhookDispatcherSettings,
} from '../src/webhooks/dispatcher.js';
import { webhookIntake } from '../src/webhooks/intake.js';
import { consumeWebhookQueue, webhookQueueName, type WebhookQueue } from '../src/webhooks/queue.js';
import { backoffMs } from '../src/webhooks/retry-schedule.js';
import { postWebhook } from '../src/webhooks/sender.js';
import { Harness, sleep, waitFor, type Job, type Tenant } from './support/harness.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  atMs: number;
  path: string;
}

/** A webhook receiver on 127.0.0.1 whose answer each test sets. */
class Receiver {
  readonly requests: Received[] = [];
  answer: (req: Received) => { status: number; headers?: Record<string, string> } = () => ({
    status: 204,
  });
  private server!: Server;
  url!: string;
  port!: number;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const got = {
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
          atMs: Date.now(),
          path: req.url ?? '/',
        };
        this.requests.push(got);
        const { status, headers } = this.answer(got);
        res.writeHead(status, headers).end();
      });
    });
    this.server.listen(0, '127.0.0.1');
    await new Promise((resolve) => this.server.once('listening', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  for(path: string): Received[] {
    return this.requests.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

let env: TestEnv;
let h: Harness;
let receiver: Receiver;
const running: { queue: WebhookQueue; dispatcher: WebhookDispatcher }[] = [];

const fast: WebhookDispatcherSettings = {
  pollMs: 50,
  concurrency: 8,
  timeoutMs: 5000,
  backoffBaseMs: 100,
  backoffMaxMs: 1000,
  allowPrivate: true,
  // Every test here shares one receiver origin and some make it fail on purpose; the
  // breaker has its own tests (webhook-breaker.test.ts) with receivers of their own.
  breakerThreshold: 0,
  breakerCooldownMs: 1000,
};

/** A notifier's webhook side as main.ts wires it: queue consumer + dispatcher. */
async function startWebhooks(settings: Partial<WebhookDispatcherSettings> = {}, maxAttempts = 3) {
  const logger = createLogger('notifier', 'silent');
  const dispatcher = startWebhookDispatcher({
    db: env.db,
    logger,
    registry: createRegistry('notifier'),
    settings: { ...fast, ...settings },
  });
  const queue = await consumeWebhookQueue({
    url: env.env.AMQP_URL!,
    prefix: env.prefix,
    prefetch: 8,
    handler: webhookIntake({
      db: env.db,
      logger,
      publicApiUrl: 'https://api.example.test',
      maxAttempts,
      onQueued: () => dispatcher.kick(),
    }),
  });
  const started = { queue, dispatcher };
  running.push(started);
  return started;
}

async function stopWebhooks(started: (typeof running)[number]) {
  running.splice(running.indexOf(started), 1);
  await started.queue.close();
  await started.dispatcher.stop();
}

beforeAll(async () => {
  env = await createTestEnv();
  h = new Harness(env);
  await h.start();
  receiver = new Receiver();
  await receiver.start();
});

afterAll(async () => {
  for (const started of [...running]) await stopWebhooks(started);
  await receiver?.stop();
  await h?.stop();
  // The shared webhooks queue is durable: remove this file's one.
  if (env) {
    const connection = await amqplib.connect(env.env.AMQP_URL!);
    const channel = await connection.createChannel();
    await channel.deleteQueue(webhookQueueName(env.prefix));
    await connection.close();
  }
  await env?.close();
});

/** A tenant whose default webhook goes to `path` on the receiver. */
async function tenantWithWebhook(path: string): Promise<Tenant & { secret: string }> {
  const tenant = await h.createTenant();
  await setTenantWebhookUrl(env.db, tenant.id, `${receiver.url}${path}`);
  return { ...tenant, secret: await ensureTenantWebhookSecret(env.db, tenant.id) };
}

const deliveries = (tenant: Tenant, job: Job) =>
  listJobWebhookDeliveries(env.db, tenant.id, job.id);

/** The job's deliveries once `ready` holds for them (polled: the dispatcher runs on its own). */
async function deliveriesWhen(
  tenant: Tenant,
  job: Job,
  ready: (rows: Awaited<ReturnType<typeof deliveries>>) => boolean,
  timeoutMs = 15_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await deliveries(tenant, job);
    if (ready(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`deliveries never ready: ${JSON.stringify(rows)}`);
    await sleep(50);
  }
}

describe('delivery', () => {
  let webhooks: (typeof running)[number];
  beforeAll(async () => {
    webhooks = await startWebhooks();
  });
  afterAll(async () => {
    await stopWebhooks(webhooks);
  });

  it('POSTs a signed job.completed payload that verifies with the tenant secret', async () => {
    const tenant = await tenantWithWebhook('/completed');
    const job = await h.createJob(tenant);
    await h.append(job, { type: 'queued' }, { type: 'processing', attempt: 1 });
    await h.progress(job, 50);
    await h.complete(job);
    await waitFor(() => receiver.for('/completed').length === 1, { what: 'webhook' });
    const [got] = receiver.for('/completed');

    const signature = String(got!.headers[WEBHOOK_SIGNATURE_HEADER]);
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(signature, got!.body, tenant.secret)).toBe(true);
    expect(verifyWebhookSignature(signature, got!.body.replace('11', '12'), tenant.secret)).toBe(
      false,
    );
    expect(verifyWebhookSignature(signature, got!.body, 'whsec_other')).toBe(false);
    const now = Math.floor(Date.now() / 1000);
    expect(verifyWebhookSignature(signature, got!.body, tenant.secret, { nowS: now + 3600 })).toBe(
      false,
    );

    const payload = WebhookPayload.parse(JSON.parse(got!.body));
    expect(payload).toMatchObject({
      type: 'job.completed',
      data: {
        jobId: job.id,
        tenantId: tenant.id,
        status: 'completed',
        durationS: 11,
        processingMs: 1234,
        links: {
          job: `https://api.example.test/v1/jobs/${job.id}`,
          transcript: `https://api.example.test/v1/jobs/${job.id}/transcript?format=json`,
        },
      },
    });
    expect(got!.headers[WEBHOOK_DELIVERY_HEADER]).toBe(payload.id);
    expect(got!.headers[WEBHOOK_EVENT_HEADER]).toBe('job.completed');
    expect(got!.headers['content-type']).toBe('application/json');

    const [row] = await deliveriesWhen(tenant, job, (r) => r[0]?.status === 'succeeded');
    expect(row).toMatchObject({ id: payload.id, status: 'succeeded', attempts: 1 });
    expect(row!.attemptRows).toMatchObject([{ attempt: 1, status_code: 204, error: null }]);
    // Only terminal events make webhooks: nothing for queued, processing, progress.
    expect(receiver.for('/completed')).toHaveLength(1);
  });

  it("sends a failed job's error to the job's own webhook URL rather than the tenant default", async () => {
    const tenant = await tenantWithWebhook('/tenant-default');
    const job = await h.createJob(tenant);
    await env.db
      .updateTable('jobs')
      .set({ webhook_url: `${receiver.url}/job-own` })
      .where('id', '=', job.id)
      .execute();
    await h.append(job, {
      type: 'failed',
      error: { code: 'invalid_media', message: 'not decodable media' },
    });
    await waitFor(() => receiver.for('/job-own').length === 1, { what: 'webhook' });
    const payload = WebhookPayload.parse(JSON.parse(receiver.for('/job-own')[0]!.body));
    expect(payload).toMatchObject({
      type: 'job.failed',
      data: { jobId: job.id, error: { code: 'invalid_media', message: 'not decodable media' } },
    });
    expect(receiver.for('/tenant-default')).toHaveLength(0);
  });

  it('retries a receiver answering 500 with growing delays, then records the delivery as failed', async () => {
    receiver.answer = (req) => ({ status: req.path === '/broken' ? 500 : 204 });
    const tenant = await tenantWithWebhook('/broken');
    const job = await h.createJob(tenant);
    await h.append(job, { type: 'canceled' });
    await waitFor(() => receiver.for('/broken').length === 3, { what: 'three attempts' });
    const rows = await deliveriesWhen(tenant, job, (r) => r[0]?.status === 'failed');
    const [row] = rows;
    expect(row).toMatchObject({
      status: 'failed',
      attempts: 3,
      attempts_left: 0,
      last_status_code: 500,
    });
    expect(row!.attemptRows.map((a) => [a.attempt, a.status_code])).toEqual([
      [1, 500],
      [2, 500],
      [3, 500],
    ]);
    expect(row!.attemptRows[0]!.error).toMatch(/500/);

    const sent = receiver.for('/broken');
    // One delivery id across attempts: receivers can drop duplicates.
    expect(new Set(sent.map((r) => r.headers[WEBHOOK_DELIVERY_HEADER])).size).toBe(1);
    // Backoff: base 100 ms, doubled, with ¾–1× jitter: ≥ 75 ms, then ≥ 150 ms.
    expect(sent[1]!.atMs - sent[0]!.atMs).toBeGreaterThanOrEqual(70);
    expect(sent[2]!.atMs - sent[1]!.atMs).toBeGreaterThanOrEqual(145);
    await sleep(300);
    expect(receiver.for('/broken')).toHaveLength(3); // bounded: no fourth attempt
    receiver.answer = () => ({ status: 204 });
  });

  it('POSTs a signed enrichment.completed payload, one delivery per enrichment of the job', async () => {
    const tenant = await tenantWithWebhook('/enriched');
    const job = await h.createJob(tenant);
    const summary = { id: randomUUID(), key: 'summary', kind: 'summary' as const };
    const german = { id: randomUUID(), key: 'translate:de', kind: 'translate' as const };
    await h.complete(job);
    await h.append(
      job,
      { type: 'enrichment.processing', enrichment: summary, attempt: 1 },
      {
        type: 'enrichment.progress',
        enrichment: summary,
        progress: 100,
        piecesDone: 1,
        piecesTotal: 1,
      },
      {
        type: 'enrichment.completed',
        enrichment: summary,
        model: 'llama3.1:8b',
        usage: { promptTokens: 812, completionTokens: 95 },
        processingMs: 3100,
      },
    );
    await h.append(job, {
      type: 'enrichment.completed',
      enrichment: german,
      model: 'llama3.1:8b',
      usage: null,
      processingMs: 5200,
    });
    // job.completed and the two enrichments: three deliveries, though both enrichments'
    // events have the same type (the row is unique per job and event).
    await waitFor(() => receiver.for('/enriched').length === 3, { what: 'three webhooks' });
    const byType = (type: string) =>
      receiver.for('/enriched').filter((r) => r.headers[WEBHOOK_EVENT_HEADER] === type);
    expect(byType('job.completed')).toHaveLength(1);
    const enriched = byType('enrichment.completed');
    expect(enriched).toHaveLength(2);

    const got = enriched.find((r) => r.body.includes('"summary"'))!;
    const signature = String(got.headers[WEBHOOK_SIGNATURE_HEADER]);
    expect(verifyWebhookSignature(signature, got.body, tenant.secret)).toBe(true);
    const payload = WebhookPayload.parse(JSON.parse(got.body));
    expect(payload).toEqual({
      v: 1,
      id: got.headers[WEBHOOK_DELIVERY_HEADER],
      type: 'enrichment.completed',
      createdAt: expect.any(String),
      data: {
        jobId: job.id,
        tenantId: tenant.id,
        enrichment: summary,
        status: 'completed',
        model: 'llama3.1:8b',
        usage: { promptTokens: 812, completionTokens: 95 },
        links: {
          job: `https://api.example.test/v1/jobs/${job.id}`,
          enrichment: `https://api.example.test/v1/jobs/${job.id}/enrichments/summary`,
        },
      },
    });
    const translated = WebhookPayload.parse(JSON.parse(enriched.find((r) => r !== got)!.body));
    expect(translated.data).toMatchObject({
      enrichment: german,
      links: { enrichment: `https://api.example.test/v1/jobs/${job.id}/enrichments/translate:de` },
    });

    const rows = await deliveriesWhen(tenant, job, (r) => r.length === 3);
    expect(rows.map((r) => r.event).sort()).toEqual([
      'enrichment.completed:summary',
      'enrichment.completed:translate:de',
      'job.completed',
    ]);
    // Only completed and failed enrichments make webhooks: nothing for processing, progress.
    await sleep(200);
    expect(receiver.for('/enriched')).toHaveLength(3);
  });

  it("sends enrichment.failed with the error to the job's own webhook URL", async () => {
    const tenant = await tenantWithWebhook('/tenant-default-enrichment');
    const job = await h.createJob(tenant);
    await env.db
      .updateTable('jobs')
      .set({ webhook_url: `${receiver.url}/job-own-enrichment` })
      .where('id', '=', job.id)
      .execute();
    const notes = { id: randomUUID(), key: 'notes', kind: 'notes' as const };
    await h.append(
      job,
      {
        type: 'enrichment.failed',
        enrichment: notes,
        error: { code: 'engine_failed', message: 'chat server answered 500 four times' },
      },
      // A canceled enrichment is the tenant's own doing: no webhook.
      {
        type: 'enrichment.canceled',
        enrichment: { ...notes, id: randomUUID(), key: 'clean', kind: 'clean' },
      },
    );
    await waitFor(() => receiver.for('/job-own-enrichment').length === 1, { what: 'webhook' });
    const [got] = receiver.for('/job-own-enrichment');
    expect(got!.headers[WEBHOOK_EVENT_HEADER]).toBe('enrichment.failed');
    expect(WebhookPayload.parse(JSON.parse(got!.body))).toMatchObject({
      type: 'enrichment.failed',
      data: {
        jobId: job.id,
        enrichment: notes,
        status: 'failed',
        error: { code: 'engine_failed', message: 'chat server answered 500 four times' },
        links: { enrichment: `https://api.example.test/v1/jobs/${job.id}/enrichments/notes` },
      },
    });
    await sleep(200);
    expect(receiver.for('/job-own-enrichment')).toHaveLength(1);
    expect(receiver.for('/tenant-default-enrichment')).toHaveLength(0);
  });

  it('does not follow a redirect (it could point anywhere): a 3xx is a failed attempt', async () => {
    receiver.answer = (req) =>
      req.path === '/moved'
        ? { status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data' } }
        : { status: 204 };
    const tenant = await tenantWithWebhook('/moved');
    const job = await h.createJob(tenant);
    await h.complete(job);
    await waitFor(() => receiver.for('/moved').length >= 1, { what: 'first attempt' });
    const rows = await deliveriesWhen(tenant, job, (r) => (r[0]?.attemptRows.length ?? 0) > 0);
    expect(rows[0]!.attemptRows[0]).toMatchObject({ status_code: 302 });
    expect(rows[0]!.attemptRows[0]!.error).toMatch(
      /redirect to http:\/\/169\.254\.169\.254.* not followed/,
    );
    receiver.answer = () => ({ status: 204 });
  });
});

describe('competing notifiers', () => {
  it('two notifiers on the shared queue deliver each terminal event once', async () => {
    const [a, b] = await Promise.all([startWebhooks(), startWebhooks()]);
    const tenant = await tenantWithWebhook('/shared');
    const jobs = await Promise.all(Array.from({ length: 6 }, () => h.createJob(tenant)));
    for (const job of jobs) await h.complete(job);
    await waitFor(() => receiver.for('/shared').length === 6, { what: 'six webhooks' });
    await sleep(300);
    expect(receiver.for('/shared')).toHaveLength(6);
    const ids = receiver.for('/shared').map((r) => JSON.parse(r.body).data.jobId);
    expect(new Set(ids)).toEqual(new Set(jobs.map((j) => j.id)));
    await Promise.all([stopWebhooks(a), stopWebhooks(b)]);
  });
});

describe('SSRF guard', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['fd00:ec2::254', 'uniqueLocal'],
    ['64:ff9b::a00:1', 'rfc6052'],
  ])('classifies %s as %s', (address, range) => {
    expect(forbiddenRange(address)).toBe(range);
  });

  it('lets ordinary public addresses through', () => {
    expect(forbiddenRange('93.184.215.14')).toBeUndefined();
    expect(forbiddenRange('2606:2800:21f:cb07:6820:80da:af6b:8b2c')).toBeUndefined();
  });

  it.each<[string, (port: number) => string]>([
    ['http://127.0.0.1:<port>/hook', (port: number) => `http://127.0.0.1:${port}/hook`],
    ['http://[::1]:<port>/hook', (port: number) => `http://[::1]:${port}/hook`],
    [
      'http://[::ffff:127.0.0.1]:<port>/hook',
      (port: number) => `http://[::ffff:127.0.0.1]:${port}/hook`,
    ],
    ['http://[::ffff:7f00:1]:<port>/hook', (port: number) => `http://[::ffff:7f00:1]:${port}/hook`],
    ['http://2130706433:<port>/hook', (port: number) => `http://2130706433:${port}/hook`],
    ['http://localhost:<port>/hook', (port: number) => `http://localhost:${port}/hook`],
    ['http://10.0.0.1/hook', () => 'http://10.0.0.1/hook'],
    ['http://169.254.169.254/latest/meta-data/', () => 'http://169.254.169.254/latest/meta-data/'],
  ])('refuses %s before connecting', async (_url, target) => {
    const before = receiver.requests.length;
    const result = await postWebhook(
      target(receiver.port),
      '{}',
      {},
      {
        timeoutMs: 2000,
        allowPrivate: false,
      },
    );
    expect(result).toMatchObject({ ok: false, statusCode: null, permanent: true });
    expect(result.error).toMatch(/^refused: .* is a \w+ address$/);
    expect(receiver.requests.length).toBe(before);
  });

  it('reaches the same local receiver when private targets are allowed', async () => {
    const result = await postWebhook(
      `http://localhost:${receiver.port}/allowed`,
      '{}',
      {},
      {
        timeoutMs: 2000,
        allowPrivate: true,
      },
    );
    expect(result).toMatchObject({ ok: true, statusCode: 204, error: null });
  });

  it('records a refused URL as failed after one attempt: a policy refusal is permanent', async () => {
    const guarded = await startWebhooks({ allowPrivate: false, backoffBaseMs: 20 }, 5);
    const tenant = await tenantWithWebhook('/guarded');
    const job = await h.createJob(tenant);
    await h.complete(job);
    const rows = await deliveriesWhen(tenant, job, (r) => r[0]?.status === 'failed');
    expect(rows[0]).toMatchObject({ status: 'failed', attempts: 1, attempts_left: 4 });
    expect(rows[0]!.attemptRows).toHaveLength(1);
    expect(rows[0]!.attemptRows[0]).toMatchObject({ attempt: 1, status_code: null });
    expect(rows[0]!.attemptRows[0]!.error).toMatch(/refused: 127\.0\.0\.1 is a loopback address/);
    expect(receiver.for('/guarded')).toHaveLength(0);
    await stopWebhooks(guarded);
  });
});

describe('permanent failures', () => {
  let webhooks: (typeof running)[number];
  beforeAll(async () => {
    webhooks = await startWebhooks({}, 5);
  });
  afterAll(async () => {
    await stopWebhooks(webhooks);
  });

  it('stops after one attempt when the receiver answers 410 Gone', async () => {
    receiver.answer = (req) => ({ status: req.path === '/gone' ? 410 : 204 });
    const tenant = await tenantWithWebhook('/gone');
    const job = await h.createJob(tenant);
    await h.complete(job);
    const rows = await deliveriesWhen(tenant, job, (r) => r[0]?.status === 'failed');
    expect(rows[0]).toMatchObject({ status: 'failed', attempts: 1, last_status_code: 410 });
    expect(rows[0]!.attemptRows).toMatchObject([{ attempt: 1, status_code: 410 }]);
    expect(rows[0]!.attemptRows[0]!.error).toMatch(/410/);
    await sleep(300);
    expect(receiver.for('/gone')).toHaveLength(1);
    receiver.answer = () => ({ status: 204 });
  });

  it('stops after one attempt on a URL that is not one (written around the API)', async () => {
    const tenant = await h.createTenant();
    const job = await h.createJob(tenant);
    await env.db
      .updateTable('jobs')
      .set({ webhook_url: 'gopher://hooks.example.test/x' })
      .where('id', '=', job.id)
      .execute();
    await h.complete(job);
    const rows = await deliveriesWhen(tenant, job, (r) => r[0]?.status === 'failed');
    expect(rows[0]).toMatchObject({ status: 'failed', attempts: 1 });
    expect(rows[0]!.attemptRows[0]!.error).toMatch(/unsupported scheme gopher:/);
  });

  it('still retries a 404 (a receiver mid-deploy answers that too)', async () => {
    receiver.answer = (req) => ({ status: req.path === '/missing' ? 404 : 204 });
    const tenant = await tenantWithWebhook('/missing');
    const job = await h.createJob(tenant);
    await h.complete(job);
    await waitFor(() => receiver.for('/missing').length >= 2, { what: 'a second attempt' });
    receiver.answer = () => ({ status: 204 });
  });
});

describe('backoff', () => {
  it('doubles from the base, stays within ¾–1× of it, and is capped', () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(1000);
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(750);
    expect(backoffMs(3, 1000, 60_000, () => 0)).toBe(4000);
    expect(backoffMs(20, 1000, 60_000, () => 0)).toBe(60_000);
    expect(backoffMs(20, 1000, 60_000, () => 1)).toBe(45_000);
  });
});
