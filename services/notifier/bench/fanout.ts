// Fan-out benchmark (not a test): one notifier process holding BENCH_SUBSCRIBERS (10,000)
// WebSocket subscribers of one job, fed by the real producer path (job_events row + outbox
// relay + RabbitMQ), next to a bare `ws` broadcast server measured in the same run with the
// same clients and the same frame. Clients live in separate processes. Loopback only,
// bounded in time. Run: `pnpm bench:notifier` (needs the local Postgres and RabbitMQ).
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signEventsToken, type JobEvent } from '@transcribe/contracts';
import { appendJobEvent, ensureTenant, insertJob } from '@transcribe/db';
import { connectBroker, startOutboxRelay, topologyNames } from '@transcribe/queue';
import amqplib from 'amqplib';
import { createTestEnv, freePort, startService } from '@transcribe/testkit';
import {
  nowMs,
  stamp,
  type BaselineCommand,
  type BaselineMessage,
  type ClientCommand,
  type ClientMessage,
} from './protocol.js';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 10_000);
const CLIENT_PROCESSES = Number(process.env.BENCH_CLIENT_PROCESSES ?? 2);
const PACED_EVENTS = 20;
// Slow enough that neither target is saturated (a send is a writev syscall, ~10–30 µs here):
// the paced phase measures latency, the burst measures throughput.
const PACE_MS = Math.max(100, SUBSCRIBERS / 10);
const BURST_EVENTS = 40;
const here = dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Everything is bounded: a stuck run ends itself.
const watchdog = setTimeout(() => {
  console.error('benchmark took over 9 minutes; giving up');
  process.exit(1);
}, 9 * 60_000);
watchdog.unref();

interface Result {
  name: string;
  connectS: number;
  paced: number[];
  burst: number[];
  burstDeliveriesPerS: number;
  serverRssMb?: number;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

class Clients {
  private readonly procs: ChildProcess[] = [];

  async open(url: string): Promise<void> {
    const per = Math.ceil(SUBSCRIBERS / CLIENT_PROCESSES);
    const opened: Promise<void>[] = [];
    for (let i = 0; i < CLIENT_PROCESSES; i++) {
      const count = Math.min(per, SUBSCRIBERS - i * per);
      const child = fork(join(here, 'clients.js'), [url, String(count)], { stdio: 'inherit' });
      this.procs.push(child);
      opened.push(
        this.next(child, 'opened', 240_000).then((m) => {
          if (m.kind === 'opened' && m.failed > 0) throw new Error(`${m.failed} sockets failed`);
        }),
      );
    }
    await Promise.all(opened);
  }

  private async next(child: ChildProcess, kind: ClientMessage['kind'], timeoutMs = 60_000) {
    const timer = setTimeout(() => child.emit('error', new Error(`no ${kind} in time`)), timeoutMs);
    try {
      for (;;) {
        const [message] = (await once(child, 'message')) as [ClientMessage];
        if (message.kind === kind) return message;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private async ask<K extends ClientMessage['kind']>(command: ClientCommand, kind: K) {
    return Promise.all(
      this.procs.map(async (child) => {
        const reply = this.next(child, kind);
        child.send(command);
        return (await reply) as Extract<ClientMessage, { kind: K }>;
      }),
    );
  }

  async received(): Promise<number> {
    return (await this.ask({ cmd: 'count' }, 'count')).reduce((n, r) => n + r.received, 0);
  }

  async waitFor(total: number, timeoutMs = 90_000) {
    await waitUntil(async () => (await this.received()) >= total, timeoutMs, `${total} deliveries`);
  }

  async collect() {
    const reports = await this.ask({ cmd: 'report' }, 'report');
    for (const child of this.procs) child.send({ cmd: 'reset' } satisfies ClientCommand);
    return {
      latencies: reports.flatMap((r) => r.latencies),
      lastRecvMs: Math.max(...reports.map((r) => r.lastRecvMs)),
    };
  }

  async close() {
    await Promise.all(
      this.procs.map((child) => {
        const exited = once(child, 'exit');
        child.send({ cmd: 'close' } satisfies ClientCommand);
        return exited;
      }),
    );
    this.procs.length = 0;
  }
}

/** One target: connect every subscriber, then a paced phase (latency) and a burst (throughput). */
async function scenario(
  name: string,
  url: string,
  connected: () => Promise<number>,
  publish: (count: number, progress: number) => Promise<void>,
  serverPid?: number,
): Promise<Result> {
  const clients = new Clients();
  const started = Date.now();
  await clients.open(url);
  await waitUntil(async () => (await connected()) >= SUBSCRIBERS, 240_000, 'server-side admission');
  const connectS = (Date.now() - started) / 1000;
  console.error(`${name}: ${SUBSCRIBERS} subscribers connected in ${connectS.toFixed(1)} s`);

  await publish(1, 1); // warm-up
  await clients.waitFor(SUBSCRIBERS);
  await clients.collect();

  for (let i = 0; i < PACED_EVENTS; i++) {
    await publish(1, 2 + i);
    await sleep(PACE_MS);
  }
  await clients.waitFor(PACED_EVENTS * SUBSCRIBERS);
  const paced = (await clients.collect()).latencies;

  const burstStart = nowMs();
  await publish(BURST_EVENTS, 50);
  await clients.waitFor(BURST_EVENTS * SUBSCRIBERS);
  const burst = await clients.collect();
  const burstDeliveriesPerS =
    (BURST_EVENTS * SUBSCRIBERS) / ((burst.lastRecvMs - burstStart) / 1000);

  const serverRssMb = serverPid ? rssMb(serverPid) : undefined;
  await clients.close();
  return { name, connectS, paced, burst: burst.latencies, burstDeliveriesPerS, serverRssMb };
}

function rssMb(pid: number): number | undefined {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return line ? Number(line[1]) / 1024 : undefined;
}

function percentile(values: number[], p: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main() {
  const env = await createTestEnv();
  const tenantId = await ensureTenant(env.db, `bench-${randomUUID()}`);
  const jobId = randomUUID();
  await insertJob(env.db, {
    id: jobId,
    tenant_id: tenantId,
    status: 'processing',
    priority: 'default',
    object_key: `${tenantId}/${jobId}/bench.wav`,
    filename: 'bench.wav',
    content_type: 'audio/wav',
    size_bytes: 1,
    language: 'en',
    engine: 'sphinx',
  });
  const token = signEventsToken(
    { sub: tenantId, jobId, exp: Math.floor(Date.now() / 1000) + 3600 },
    env.env.TOKEN_SECRET!,
  );
  const broker = connectBroker({ url: env.env.AMQP_URL!, prefix: env.prefix });
  await broker.ready();
  const relay = startOutboxRelay({ db: env.db, broker, pollMs: 1000 });
  const results: Result[] = [];

  try {
    // The notifier: its built main.js, as production runs it.
    const port = await freePort();
    const notifier = await startService(
      'notifier',
      { ...env.env, NOTIFIER_PORT: String(port), WS_MAX_CONNECTIONS_PER_TENANT: '1000000' },
      `http://127.0.0.1:${port}/readyz`,
    );
    try {
      const metric = async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return Number(/^notifier_connections(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
      };
      results.push(
        await scenario(
          'notifier',
          `ws://127.0.0.1:${port}/v1/events?jobId=${jobId}&token=${token}`,
          metric,
          async (count, progress) => {
            // The worker's path: events committed with their outbox rows, then relayed.
            const sentAt = nowMs();
            await env.db.transaction().execute(async (trx) => {
              for (let i = 0; i < count; i++) {
                await appendJobEvent(
                  trx,
                  { id: jobId, tenantId },
                  { type: 'progress', progress, stage: stamp(sentAt) },
                );
              }
            });
            relay.kick();
          },
          notifier.child.pid,
        ),
      );
    } finally {
      await notifier.stop();
    }

    // The baseline: bare ws broadcast of the same frame to the same number of clients.
    const server = fork(join(here, 'baseline-server.js'), [], { stdio: 'inherit' });
    try {
      const [listening] = (await once(server, 'message')) as [BaselineMessage];
      if (listening.kind !== 'listening') throw new Error('baseline server did not start');
      let seq = 0;
      const size = async () => {
        const reply = once(server, 'message') as Promise<[BaselineMessage]>;
        server.send({ cmd: 'size' } satisfies BaselineCommand);
        const [m] = await reply;
        return m.kind === 'size' ? m.size : 0;
      };
      results.push(
        await scenario(
          'bare ws broadcast',
          `ws://127.0.0.1:${listening.port}/`,
          size,
          async (count, progress) => {
            const sentAt = nowMs();
            for (let i = 0; i < count; i++) {
              const event: JobEvent = {
                v: 1,
                jobId,
                tenantId,
                seq: ++seq,
                at: new Date().toISOString(),
                type: 'progress',
                progress,
                stage: stamp(sentAt),
              };
              const data = JSON.stringify({ kind: 'event', event });
              server.send({ cmd: 'broadcast', data } satisfies BaselineCommand);
            }
          },
          server.pid,
        ),
      );
    } finally {
      server.kill();
    }
  } finally {
    await relay.stop();
    await broker.close();
    // The notifier declared its durable webhooks queue under this run's prefix.
    const connection = await amqplib.connect(env.env.AMQP_URL!);
    await (await connection.createChannel()).deleteQueue(topologyNames(env.prefix).webhooksQueue);
    await connection.close();
    await env.close();
  }

  const fmt = (n: number, digits = 1) => n.toFixed(digits).padStart(9);
  console.log(
    `\nfan-out to ${SUBSCRIBERS} WebSocket subscribers of one job, clients in ${CLIENT_PROCESSES} processes, 2-core machine`,
  );
  console.log(
    `${'target'.padEnd(20)}${'connect s'.padStart(10)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'burst p50'.padStart(10)}${'burst p99'.padStart(10)}${'deliv/s'.padStart(11)}${'RSS MB'.padStart(9)}`,
  );
  for (const r of results) {
    console.log(
      `${r.name.padEnd(20)}${fmt(r.connectS).padStart(10)}${fmt(percentile(r.paced, 50))}${fmt(percentile(r.paced, 99))}${fmt(percentile(r.burst, 50)).padStart(10)}${fmt(percentile(r.burst, 99)).padStart(10)}${fmt(r.burstDeliveriesPerS, 0).padStart(11)}${fmt(r.serverRssMb ?? NaN, 0)}`,
    );
  }
  const [n, b] = results;
  if (n && b) {
    console.log(
      `\nnotifier / baseline: p50 ${(percentile(n.paced, 50) / percentile(b.paced, 50)).toFixed(2)}×, p99 ${(percentile(n.paced, 99) / percentile(b.paced, 99)).toFixed(2)}×, burst throughput ${(n.burstDeliveriesPerS / b.burstDeliveriesPerS).toFixed(2)}×`,
    );
    console.log(
      `latency: paced = one event every ${PACE_MS} ms, burst = ${BURST_EVENTS} events at once; the notifier's include the Postgres commit, the outbox relay and RabbitMQ.`,
    );
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
