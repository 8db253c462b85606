// The webhook path (shared queue → intake → delivery row → dispatcher → receiver) across
// broker and database faults, on real RabbitMQ and Postgres: the notifier's connections go
// through fault proxies this file cuts and restores, as a network blip or a restart would.
// Nothing may end the process, and every terminal event must still become one webhook.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import amqplib from 'amqplib';
import { WebhookPayload } from '@transcribe/contracts';
import { createDb, setTenantWebhookUrl, type Db } from '@transcribe/db';
import { createLogger, createRegistry } from '@transcribe/telemetry';
import {
  createTestEnv,
  startFaultProxy,
  type FaultProxy,
  type TestEnv,
} from '../../../packages/testkit/src/index.js';
import { startWebhookDispatcher, type WebhookDispatcher } from '../src/webhooks/dispatcher.js';
import { webhookIntake } from '../src/webhooks/intake.js';
import { consumeWebhookQueue, webhookQueueName, type WebhookQueue } from '../src/webhooks/queue.js';
import { Harness, waitFor, type Tenant } from './support/harness.js';

/** The webhook receiver: every POST body, parsed. */
class Receiver {
  readonly payloads: WebhookPayload[] = [];
  private server!: HttpServer;
  url!: string;

  async start(): Promise<void> {
    this.server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.payloads.push(WebhookPayload.parse(JSON.parse(Buffer.concat(chunks).toString())));
        res.writeHead(204).end();
      });
    });
    this.server.listen(0, '127.0.0.1');
    await new Promise((resolve) => this.server.once('listening', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  countFor(jobId: string): number {
    return this.payloads.filter((p) => p.data.jobId === jobId).length;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

let env: TestEnv;
let h: Harness;
let receiver: Receiver;
let amqpRelay: FaultProxy;
let pgRelay: FaultProxy;
/** The notifier's pool, through pgRelay. */
let db: Db;
let queue: WebhookQueue;
let dispatcher: WebhookDispatcher;
let tenant: Tenant;
const reported: Error[] = [];
/** The notifier's log lines (warn and up), as `msg`s. */
const logged: string[] = [];
const crashes: unknown[] = [];
const onCrash = (error: unknown) => crashes.push(error);

/** Messages waiting in the shared webhooks queue, and its consumers (undefined: no queue). */
async function queueState(): Promise<{ messages: number; consumers: number } | undefined> {
  const connection = await amqplib.connect(env.env.AMQP_URL!);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    const q = await channel.checkQueue(webhookQueueName(env.prefix));
    return { messages: q.messageCount, consumers: q.consumerCount };
  } catch {
    return undefined;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** A job of the tenant, finished: its terminal event goes out through the outbox relay. */
async function completedJob(): Promise<string> {
  const job = await h.createJob(tenant);
  await h.complete(job);
  return job.id;
}

beforeAll(async () => {
  process.on('unhandledRejection', onCrash);
  process.on('uncaughtException', onCrash);
  env = await createTestEnv();
  h = new Harness(env);
  await h.start(); // the producer side (outbox relay) talks to RabbitMQ directly
  receiver = new Receiver();
  await receiver.start();
  const target = (url: string, port: number) => ({
    host: new URL(url).hostname,
    port: Number(new URL(url).port || port),
  });
  amqpRelay = await startFaultProxy(target(env.env.AMQP_URL!, 5672));
  pgRelay = await startFaultProxy(target(env.env.DATABASE_URL!, 5432));
  tenant = await h.createTenant();
  await setTenantWebhookUrl(env.db, tenant.id, receiver.url);

  db = createDb(pgRelay.rewrite(env.env.DATABASE_URL!), { max: 4 });
  const logger = createLogger('notifier', 'warn', {
    write: (line: string) => void logged.push((JSON.parse(line) as { msg: string }).msg),
  });
  dispatcher = startWebhookDispatcher({
    db,
    logger,
    registry: createRegistry('notifier'),
    settings: {
      pollMs: 100,
      concurrency: 4,
      timeoutMs: 5000,
      backoffBaseMs: 200,
      backoffMaxMs: 1000,
      allowPrivate: true,
      breakerThreshold: 0,
      breakerCooldownMs: 1000,
    },
  });
  queue = await consumeWebhookQueue({
    url: amqpRelay.rewrite(env.env.AMQP_URL!),
    prefix: env.prefix,
    prefetch: 8,
    handler: webhookIntake({
      db,
      logger,
      publicApiUrl: 'https://api.example.test',
      maxAttempts: 5,
      onQueued: () => dispatcher.kick(),
      requeueDelayMs: 200,
    }),
    onError: (error) => reported.push(error),
  });
});

afterAll(async () => {
  await queue?.close();
  await dispatcher?.stop();
  await db?.destroy();
  await amqpRelay?.close();
  await pgRelay?.close();
  await receiver?.stop();
  await h?.stop();
  if (env) {
    const connection = await amqplib.connect(env.env.AMQP_URL!);
    const channel = await connection.createChannel();
    await channel.deleteQueue(webhookQueueName(env.prefix));
    await connection.close();
  }
  await env?.close();
  process.off('unhandledRejection', onCrash);
  process.off('uncaughtException', onCrash);
});

describe('webhooks across faults', () => {
  it('delivers a terminal event as one webhook (baseline, through both relays)', async () => {
    const jobId = await completedJob();
    await waitFor(() => receiver.countFor(jobId) === 1, { what: 'the webhook' });
  });

  it('rides out a RabbitMQ connection cut: events published meanwhile are delivered after it', async () => {
    amqpRelay.refuse();
    await waitFor(() => !queue.isConnected(), { what: 'the consumer to notice the cut' });
    const during = [await completedJob(), await completedJob()];
    // Both wait in the durable queue, nobody consuming, while the relay refuses connections.
    await waitFor(async () => (await queueState())?.messages === 2, {
      what: 'two messages in the webhooks queue',
    });
    expect(queue.isConnected()).toBe(false);

    amqpRelay.restore();
    await waitFor(() => during.every((jobId) => receiver.countFor(jobId) === 1), {
      timeoutMs: 60_000,
      what: 'the webhooks of events published during the cut',
    });
    expect(queue.isConnected()).toBe(true);
    expect(reported.length).toBeGreaterThan(0); // the cut was seen and reported, not thrown
    const after = await completedJob();
    await waitFor(() => receiver.countFor(after) === 1, { what: 'a webhook after the cut' });
  });

  it('consumes again when the broker cancels its consumer (the queue was deleted)', async () => {
    const connection = await amqplib.connect(env.env.AMQP_URL!);
    const channel = await connection.createChannel();
    await channel.deleteQueue(webhookQueueName(env.prefix));
    await connection.close();
    // Re-declared, bound and consumed again by the notifier, with no connection lost.
    await waitFor(async () => ((await queueState())?.consumers ?? 0) >= 1, {
      what: 'the queue to be consumed again',
    });
    const jobId = await completedJob();
    await waitFor(() => receiver.countFor(jobId) === 1, { what: 'a webhook after the cancel' });
  });

  it('rides out a Postgres cut: the intake requeues and the delivery happens once it is back', async () => {
    pgRelay.refuse();
    const jobId = await completedJob(); // written directly, not through the cut relay
    // The event reaches the intake, which cannot write its row: requeued, not lost, and
    // again, for as long as Postgres stays away.
    const before = logged.filter((m) => m === 'webhook intake failed; requeued').length;
    await waitFor(
      () => logged.filter((m) => m === 'webhook intake failed; requeued').length >= before + 2,
      { timeoutMs: 60_000, what: 'the intake to fail and requeue twice' },
    );
    expect(receiver.countFor(jobId)).toBe(0);
    pgRelay.restore();
    await waitFor(() => receiver.countFor(jobId) === 1, {
      timeoutMs: 60_000,
      what: 'the webhook after the cut',
    });
    const rows = () =>
      env.db
        .selectFrom('webhook_deliveries')
        .select(['status', 'attempts'])
        .where('job_id', '=', jobId)
        .execute();
    // The attempt is recorded just after the receiver answered.
    await waitFor(async () => (await rows())[0]?.status !== 'pending', { what: 'the record' });
    expect(await rows()).toEqual([{ status: 'succeeded', attempts: 1 }]);
  });

  it('never let an error escape as an unhandled rejection or exception', () => {
    expect(crashes).toEqual([]);
  });
});
