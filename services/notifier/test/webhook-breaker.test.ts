// The per-origin circuit breaker end to end, on real Postgres with two real HTTP receivers on
// 127.0.0.1: one dead (it accepts connections and never answers, so every attempt costs the
// full timeout), one healthy. Deliveries are inserted as the intake inserts them.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { insertWebhookDelivery, listJobWebhookDeliveries } from '@transcribe/db';
import { createLogger, createRegistry } from '@transcribe/telemetry';
import { createTestEnv, type TestEnv } from '../../../packages/testkit/src/index.js';
import {
  startWebhookDispatcher,
  type WebhookDispatcher,
  type WebhookDispatcherSettings,
} from '../src/webhooks/dispatcher.js';
import { Harness, waitFor, type Tenant } from './support/harness.js';

/** A receiver that answers 204, or (`hang`) holds every request open without answering. */
class Receiver {
  mode: 'ok' | 'hang' = 'ok';
  /** Arrival time of every request, answered or not. */
  readonly arrivals: number[] = [];
  /** Arrival time by path. */
  readonly arrivedAt = new Map<string, number>();
  private readonly held: ServerResponse[] = [];
  private server!: Server;
  url!: string;

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        this.arrivals.push(Date.now());
        this.arrivedAt.set(req.url ?? '/', Date.now());
        if (this.mode === 'hang') this.held.push(res);
        else res.writeHead(204).end();
      });
    });
    this.server.listen(0, '127.0.0.1');
    await new Promise((resolve) => this.server.once('listening', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

let env: TestEnv;
let h: Harness;
let tenant: Tenant;
let dead: Receiver;
let healthy: Receiver;
const dispatchers: WebhookDispatcher[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  h = new Harness(env);
  tenant = await h.createTenant();
  dead = new Receiver();
  healthy = new Receiver();
  await Promise.all([dead.start(), healthy.start()]);
});

afterEach(async () => {
  for (const d of dispatchers.splice(0)) await d.stop();
  // Each test starts with no delivery left over to claim (this file's own database).
  await env.db.deleteFrom('webhook_deliveries').execute();
});

afterAll(async () => {
  await dead?.stop();
  await healthy?.stop();
  await env?.close();
});

/** One job and its pending delivery to `url`, due now; the job id. */
async function delivery(url: string, maxAttempts = 5): Promise<string> {
  const job = await h.createJob(tenant);
  const id = randomUUID();
  await insertWebhookDelivery(env.db, {
    id,
    jobId: job.id,
    tenantId: tenant.id,
    event: 'job.completed',
    url,
    payload: { v: 1, id, type: 'job.completed', data: { jobId: job.id } },
    maxAttempts,
  });
  return job.id;
}

const rowOf = async (jobId: string) => {
  const [row] = await listJobWebhookDeliveries(env.db, tenant.id, jobId);
  if (!row) throw new Error(`no delivery for ${jobId}`);
  return row;
};

function dispatcher(settings: Partial<WebhookDispatcherSettings>): WebhookDispatcher {
  const started = startWebhookDispatcher({
    db: env.db,
    logger: createLogger('notifier', 'silent'),
    registry: createRegistry('notifier'),
    settings: {
      pollMs: 50,
      concurrency: 2,
      timeoutMs: 8000,
      backoffBaseMs: 60_000,
      backoffMaxMs: 60_000,
      allowPrivate: true,
      breakerThreshold: 2,
      breakerCooldownMs: 120_000,
      ...settings,
    },
  });
  dispatchers.push(started);
  return started;
}

/**
 * Makes the dead receiver fail twice (with the breaker: its circuit opens), then sends a
 * mix of deliveries, two dead ones before each healthy one. How long each healthy delivery
 * took from its insertion to its arrival, and how many attempts reached the dead receiver
 * meanwhile.
 */
let runs = 0;

async function mixedRun(settings: Partial<WebhookDispatcherSettings>) {
  dead.mode = 'hang';
  const first = [await delivery(`${dead.url}/a`), await delivery(`${dead.url}/b`)];
  const started = dispatcher(settings);
  await waitFor(async () => (await Promise.all(first.map(rowOf))).every((r) => r.attempts === 1), {
    timeoutMs: 60_000,
    what: 'the first two attempts to time out',
  });
  if ((settings.breakerThreshold ?? 2) > 0) {
    await waitFor(() => started.circuit(dead.url) === 'open', { what: 'the circuit to open' });
  }
  const deadBefore = dead.arrivals.length;
  const deadJobs: string[] = [];
  const healthyJobs: string[] = [];
  const insertedAt = new Map<string, number>();
  const run = (runs += 1); // paths unique to this run
  for (let i = 0; i < 4; i++) {
    deadJobs.push(await delivery(`${dead.url}/x${run}-${i}`));
    deadJobs.push(await delivery(`${dead.url}/y${run}-${i}`));
    insertedAt.set(`/h${run}-${i}`, Date.now());
    healthyJobs.push(await delivery(`${healthy.url}/h${run}-${i}`));
  }
  await waitFor(() => [...insertedAt.keys()].every((path) => healthy.arrivedAt.has(path)), {
    timeoutMs: 120_000,
    what: 'healthy webhooks',
  });
  return {
    latencies: [...insertedAt].map(([path, at]) => healthy.arrivedAt.get(path)! - at),
    deadAttemptsMeanwhile: dead.arrivals.length - deadBefore,
    deadJobs,
    healthyJobs,
  };
}

describe('per-origin circuit breaker', () => {
  it("keeps a healthy receiver's deliveries at full speed while another receiver hangs", async () => {
    const timeoutMs = 8000;
    const run = await mixedRun({ timeoutMs });
    // Not one attempt reached the dead receiver once its circuit opened, so none of the
    // healthy deliveries waited behind an 8 s timeout (the control below shows they would).
    expect({
      deadAttemptsMeanwhile: run.deadAttemptsMeanwhile,
      slower: run.latencies.filter((ms) => ms >= timeoutMs),
    }).toEqual({ deadAttemptsMeanwhile: 0, slower: [] });
    for (const jobId of run.healthyJobs)
      expect(await rowOf(jobId)).toMatchObject({ status: 'succeeded', attempts: 1 });
    // The dead receiver's deliveries are deferred: still pending, no attempt counted, due
    // again about when the circuit lets a probe through, not dropped.
    for (const jobId of run.deadJobs) {
      const row = await rowOf(jobId);
      expect(row).toMatchObject({ status: 'pending', attempts: 0, attempts_left: 5 });
      expect(row.attemptRows).toHaveLength(0);
      expect(row.next_attempt_at!.getTime()).toBeGreaterThan(Date.now() + 60_000);
    }
  }, 180_000);

  it('control: without the breaker the same healthy deliveries wait behind the timeouts', async () => {
    const timeoutMs = 2500;
    const run = await mixedRun({ timeoutMs, breakerThreshold: 0 });
    expect(run.deadAttemptsMeanwhile).toBeGreaterThan(0);
    // Two dead deliveries go before each healthy one and take both slots for a timeout.
    expect(Math.max(...run.latencies)).toBeGreaterThanOrEqual(timeoutMs - 100);
  }, 180_000);

  it('lets one probe through after the cooldown and, when it succeeds, delivers what waited', async () => {
    dead.mode = 'hang';
    const first = [await delivery(`${dead.url}/p1`), await delivery(`${dead.url}/p2`)];
    dispatcher({ timeoutMs: 1500, breakerCooldownMs: 2000, backoffBaseMs: 500, backoffMaxMs: 500 });
    await waitFor(async () => (await Promise.all(first.map(rowOf))).every((r) => r.attempts >= 1), {
      timeoutMs: 60_000,
      what: 'the circuit to open',
    });
    const waiting = [await delivery(`${dead.url}/w1`), await delivery(`${dead.url}/w2`)];
    dead.mode = 'ok'; // the receiver comes back; only a probe can tell the breaker
    await waitFor(
      async () =>
        (await Promise.all([...first, ...waiting].map(rowOf))).every(
          (r) => r.status === 'succeeded',
        ),
      { timeoutMs: 60_000, what: 'every delivery to succeed' },
    );
    // Deferrals were not attempts: the deliveries that waited succeeded at their first.
    for (const jobId of waiting) {
      const row = await rowOf(jobId);
      expect(row.attempts).toBe(1);
      expect(row.attemptRows.map((a) => a.status_code)).toEqual([204]);
    }
  }, 120_000);
});
