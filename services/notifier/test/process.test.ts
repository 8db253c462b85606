// The notifier as production runs it: its built main.js in its own process, configured from
// the environment only. A job's webhook and live events go through it; SIGTERM closes the
// clients with 1001 (reconnect elsewhere) and the process exits 0.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import amqplib from 'amqplib';
import { WEBHOOK_SIGNATURE_HEADER, verifyWebhookSignature } from '@transcribe/contracts';
import { ensureTenantWebhookSecret } from '@transcribe/db';
import {
  createTestEnv,
  freePort,
  startService,
  type ServiceProcess,
  type TestEnv,
} from '../../../packages/testkit/src/index.js';
import { webhookQueueName } from '../src/webhooks/queue.js';
import { Harness, waitFor } from './support/harness.js';

let env: TestEnv;
let h: Harness;
let notifier: ServiceProcess | undefined;
let port: number;
let receiver: Server;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  h = new Harness(env);
  await h.start();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(200).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await new Promise((resolve) => receiver.once('listening', resolve));
  port = await freePort();
  notifier = await startService(
    'notifier',
    {
      ...env.env,
      NOTIFIER_PORT: String(port),
      PUBLIC_API_URL: 'https://api.example.test',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_POLL_MS: '100',
    },
    `http://127.0.0.1:${port}/readyz`,
  );
}, 60_000);

afterAll(async () => {
  await notifier?.kill();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
  await h?.stop();
  if (env) {
    const connection = await amqplib.connect(env.env.AMQP_URL!);
    const channel = await connection.createChannel();
    await channel.deleteQueue(webhookQueueName(env.prefix));
    await connection.close();
  }
  await env?.close();
});

it('sends a signed webhook, streams events, and on SIGTERM closes clients with 1001 and exits 0', async () => {
  const tenant = await h.createTenant();
  const job = await h.createJob(tenant);
  const { port: receiverPort } = receiver.address() as AddressInfo;
  await env.db
    .updateTable('jobs')
    .set({ webhook_url: `http://127.0.0.1:${receiverPort}/done` })
    .where('id', '=', job.id)
    .execute();

  const events = `ws://127.0.0.1:${port}/v1/events`;
  const done = h.follow(`${events}?jobId=${job.id}&token=${h.tokenFor(job)}`);
  await h.progress(job, 50);
  await h.complete(job);
  expect((await done.finished).seqs).toEqual([1, 2]);
  await waitFor(() => received.length === 1, { what: 'webhook' });
  const secret = await ensureTenantWebhookSecret(env.db, tenant.id);
  const [hook] = received;
  expect(
    verifyWebhookSignature(String(hook!.headers[WEBHOOK_SIGNATURE_HEADER]), hook!.body, secret),
  ).toBe(true);
  expect(JSON.parse(hook!.body)).toMatchObject({ type: 'job.completed', data: { jobId: job.id } });

  // Two open streams, one per transport kind of client, when the signal comes.
  const other = await h.createJob(tenant);
  const jobStream = h.follow(`${events}?jobId=${other.id}`, {
    headers: { authorization: `Bearer ${tenant.apiKey}` },
  });
  const tenantStream = h.socket(`${events}?token=${h.tenantToken(tenant)}`);
  const tenantClosed = new Promise<number>((resolve) => tenantStream.once('close', resolve));
  await jobStream.opened;
  await new Promise((resolve) => tenantStream.once('message', resolve)); // ready frame
  await h.progress(other, 10);
  await waitFor(() => jobStream.events.length === 1, { what: 'live event' });

  expect(await notifier!.stop()).toBe(0);
  expect((await jobStream.finished).closeCode).toBe(1001);
  expect(await tenantClosed).toBe(1001);
}, 60_000);
