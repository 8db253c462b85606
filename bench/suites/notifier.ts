// The notifier suite (issue 18): subscriber admission, event fan-out and idle density of
// the notifier (its built main.js as a process) next to a bare `ws` server, with the same
// raw clients (separate processes) sending the same bytes to both. Events reach the
// notifier through the real producer path (job_events row + outbox relay + RabbitMQ);
// the bare server gets the same frames over IPC and broadcasts them the best-known way.
import { randomUUID } from 'node:crypto';
import { signEventsToken, type JobEvent } from '../../packages/contracts/dist/index.js';
import { appendJobEvent, ensureTenant, insertJob } from '../../packages/db/dist/index.js';
import { connectBroker, startOutboxRelay } from '../../packages/queue/dist/index.js';
import { createTestEnv, jobFields } from '../../packages/testkit/dist/index.js';
import { ClientGroup, split } from '../notifier/client-group.js';
import { nowMs, stamp } from '../notifier/protocol.js';
import {
  fdHardLimit,
  rssKb,
  sleep,
  startBare,
  startNotifier,
  until,
  type BareServer,
  type Server,
} from '../notifier/servers.js';
import { quantile, type Figure, type Sample, type Suite } from '../lib/harness.js';

const label = (n: number) => (n >= 1000 ? `${n / 1000}k` : String(n));

/** Publishes `count` progress events of one job, stamped with the time of the call. */
type Publish = (count: number) => Promise<void>;

interface Rig {
  server: Server;
  clients: ClientGroup;
  publish: Publish;
}

export const notifierSuite: Suite = {
  name: 'notifier',
  watchdogMin: { setup: 10, perRound: 15 },
  async setup({ quick, log }) {
    const env = await createTestEnv();
    const tenantId = await ensureTenant(env.db, `bench-${randomUUID()}`);
    const secret = env.env.TOKEN_SECRET!;
    const broker = connectBroker({ url: env.env.AMQP_URL!, prefix: env.prefix });
    await broker.ready();
    const relay = startOutboxRelay({ db: env.db, broker, pollMs: 1000 });

    /** A job with `events` stored events; clients follow it from its head (current). */
    async function job(events: number) {
      const id = randomUUID();
      await insertJob(env.db, jobFields(tenantId, { id, status: 'processing' }));
      for (let i = 0; i < events; i++) {
        await env.db.transaction().execute(async (trx) => {
          await appendJobEvent(
            trx,
            { id, tenantId },
            { type: 'progress', progress: 0.01, stage: 'setup' },
          );
        });
      }
      const token = signEventsToken(
        { sub: tenantId, jobId: id, exp: Math.floor(Date.now() / 1000) + 6 * 3600 },
        secret,
      );
      let seq = events;
      return {
        id,
        /** The URL a client that has seen everything so far resumes with. */
        path: () => `/v1/events?jobId=${id}&after=${seq}&token=${token}`,
        /** The producer path: rows and outbox rows in one transaction, then the relay. */
        produce: (async (count) => {
          const sentAt = nowMs();
          await env.db.transaction().execute(async (trx) => {
            for (let i = 0; i < count; i++) {
              await appendJobEvent(
                trx,
                { id, tenantId },
                { type: 'progress', progress: 0.5, stage: stamp(sentAt) },
              );
            }
          });
          seq += count;
          relay.kick();
        }) satisfies Publish,
        /** The same frames for the bare server, sent over IPC. */
        bare:
          (server: BareServer): Publish =>
          async (count) => {
            const sentAt = nowMs();
            const frames: string[] = [];
            for (let i = 0; i < count; i++) {
              const event: JobEvent = {
                v: 1,
                jobId: id,
                tenantId,
                seq: ++seq,
                at: new Date().toISOString(),
                type: 'progress',
                progress: 0.5,
                stage: stamp(sentAt),
              };
              frames.push(JSON.stringify({ kind: 'event', event }));
            }
            server.broadcast(id, frames);
          },
      };
    }

    const sizes = quick
      ? { admitSmall: 300, admitLarge: 2000, fanSmall: 300, fanLarge: 2000, idle: 3000 }
      : { admitSmall: 1000, admitLarge: 10_000, fanSmall: 1000, fanLarge: 10_000, idle: 50_000 };
    // One process holds one fd per subscriber: where the hard limit is lower than 50k (and
    // an unprivileged container cannot raise it), the figure holds what the limit allows.
    const probeSubscribers = 100;
    const idleTarget = Math.min(sizes.idle, fdHardLimit() - probeSubscribers - 1000);

    // ---- admission: a fresh server, N clients resuming from the head, time to admit all.
    function admission(n: number): Figure {
      const measure = async (side: 'ours' | 'bare'): Promise<Sample> => {
        // Not timed: the job, the client processes and the server's start.
        const followed = await job(3);
        const processes = 2;
        const clients = await ClientGroup.start(processes);
        const server = side === 'ours' ? await startNotifier(env.env) : await startBare();
        const publish = side === 'ours' ? followed.produce : followed.bare(server as BareServer);
        try {
          await sleep(500);
          const t0 = performance.now();
          await clients.open(server.port, split(followed.path(), n, processes));
          // Admitted means served: one event, published once every handshake is done,
          // reaches all N (a subscriber admitted later replays it). Counting on the server
          // instead would mean scraping /metrics, which itself costs more than admission.
          await publish(1);
          await until(async () => (await clients.received()) >= n, 180_000, `${n} admitted`, 5);
          const seconds = (performance.now() - t0) / 1000;
          return { subscribers: n, seconds, perS: n / seconds };
        } finally {
          await clients.close();
          await server.stop();
        }
      };
      return {
        id: `admission-${label(n)}`,
        title: `${n} subscribers (job token, resuming from the head) admitted and served by a fresh server`,
        baselineTitle: 'bare ws server, same clients and handshake bytes, no auth',
        ours: () => measure('ours'),
        baseline: () => measure('bare'),
        checks: [
          {
            label: 'subscribers/s ÷ baseline',
            value: (o, b) => o.perS! / b!.perS!,
            atLeast: 0.5,
          },
          { label: 'subscribers/s (ours)', value: (o) => o.perS! },
        ],
      };
    }

    // ---- fan-out: N subscribers of one job; paced events (latency), then a burst (rate).
    // One rig per side, kept across rounds; switching figures closes the previous rigs.
    const rigs = new Map<string, Rig>();
    async function closeRigs(except?: string) {
      for (const [key, rig] of rigs) {
        if (key.startsWith(`${except}:`)) continue;
        rigs.delete(key);
        await rig.clients.close();
        await rig.server.stop();
      }
    }
    async function rig(figure: string, side: 'ours' | 'bare', n: number): Promise<Rig> {
      const key = `${figure}:${side}`;
      const existing = rigs.get(key);
      if (existing) return existing;
      await closeRigs(figure);
      const followed = await job(1);
      const server = side === 'ours' ? await startNotifier(env.env) : await startBare();
      const processes = 2;
      const clients = await ClientGroup.start(processes);
      await clients.open(server.port, split(followed.path(), n, processes));
      await until(async () => (await server.admitted()) >= n, 300_000, `${n} admitted`, 250);
      const publish = side === 'ours' ? followed.produce : followed.bare(server as BareServer);
      const made: Rig = { server, clients, publish };
      rigs.set(key, made);
      // Warm-up: one event to everyone, so the measured ones find JIT'd paths.
      await deliver(made, n, 1);
      await clients.collect();
      return made;
    }
    async function deliver(r: Rig, n: number, events: number) {
      const before = await r.clients.received();
      await r.publish(events);
      await until(
        async () => (await r.clients.received()) >= before + n * events,
        120_000,
        `${n * events} deliveries`,
        10,
      );
    }

    function fanout(n: number): Figure {
      const paced = 10;
      const paceMs = Math.max(100, n / 20);
      // At most one outbox relay batch (100 rows), so the burst measures the fan-out rather
      // than the relay's pace; 40 at 10k keeps the corked frames in memory modest.
      const burst = Math.min(100, Math.max(40, Math.round(200_000 / n)));
      // Several bursts a round, their deliveries over their summed spans: at 1k one burst
      // lasts ~60–90 ms, where a scheduling hiccup on either side swung single ratios 0.6–1.5.
      const bursts = 5;
      const id = `fanout-${label(n)}`;
      const measure = async (side: 'ours' | 'bare'): Promise<Sample> => {
        const r = await rig(id, side, n);
        for (let i = 0; i < paced; i++) {
          await deliver(r, n, 1);
          await sleep(paceMs);
        }
        const latency = (await r.clients.collect()).latencies;
        let spanS = 0;
        for (let i = 0; i < bursts; i++) {
          await deliver(r, n, burst);
          const b = await r.clients.collect();
          spanS += (b.lastRecvMs - b.firstRecvMs) / 1000;
        }
        return {
          subscribers: n,
          deliveriesPerS: (n * burst * bursts) / spanS,
          burstS: spanS / bursts,
          p50Ms: quantile(latency, 0.5),
          p99Ms: quantile(latency, 0.99),
        };
      };
      return {
        id,
        title: `${bursts} bursts of ${burst} events to ${n} subscribers of one job (deliveries/s over each burst's first to last arrival); latency of ${paced} paced events`,
        baselineTitle: 'bare ws broadcast: frame encoded once, sockets corked for the batch',
        ours: () => measure('ours'),
        baseline: () => measure('bare'),
        checks: [
          {
            label: 'deliveries/s ÷ baseline',
            value: (o, b) => o.deliveriesPerS! / b!.deliveriesPerS!,
            atLeast: 0.7,
          },
          {
            label: 'p50 ms commit→client (ours)',
            value: (o) => o.p50Ms!,
            note: 'includes the Postgres commit, the outbox relay and RabbitMQ',
          },
          { label: 'p99 ms commit→client (ours)', value: (o) => o.p99Ms! },
          { label: 'p50 ms (baseline, IPC→client)', value: (_o, b) => b!.p50Ms! },
        ],
      };
    }

    // ---- idle density: N idle subscribers on one server; RSS growth per subscriber, and
    // the delivery of another job's events to its subscribers meanwhile.
    function idle(): Figure {
      const n = idleTarget;
      const measure = async (side: 'ours' | 'bare'): Promise<Sample> => {
        await closeRigs();
        const quiet = await job(1);
        const probed = await job(1);
        const processes = Math.max(2, Math.ceil(n / 12_500));
        const clients = await ClientGroup.start(processes);
        const probes = await ClientGroup.start(1);
        const server = side === 'ours' ? await startNotifier(env.env) : await startBare();
        try {
          await sleep(1000);
          const emptyKb = rssKb(server.pid);
          await clients.open(server.port, split(quiet.path(), n, processes));
          await probes.open(server.port, split(probed.path(), probeSubscribers, 1), 100, processes);
          const total = n + probeSubscribers;
          await until(
            async () => (await server.admitted()) >= total,
            300_000,
            `${total} admitted`,
            500,
          );
          await sleep(2000);
          const heldKb = rssKb(server.pid);
          const publish = side === 'ours' ? probed.produce : probed.bare(server as BareServer);
          const r: Rig = { server, clients: probes, publish };
          await deliver(r, probeSubscribers, 1); // warm-up
          await probes.collect();
          for (let i = 0; i < 20; i++) {
            await deliver(r, probeSubscribers, 1);
            await sleep(100);
          }
          const latency = (await probes.collect()).latencies;
          return {
            subscribers: total,
            kbPerSubscriber: (heldKb - emptyKb) / total,
            emptyMb: emptyKb / 1024,
            heldMb: heldKb / 1024,
            p50Ms: quantile(latency, 0.5),
            p99Ms: quantile(latency, 0.99),
          };
        } finally {
          await probes.close();
          await clients.close();
          await server.stop();
        }
      };
      return {
        id: 'idle-50k',
        title: `one process holding ${n + probeSubscribers} idle subscribers${n < sizes.idle ? ` (${sizes.idle} asked; this machine's hard fd limit is ${fdHardLimit()})` : ''}: RSS growth per subscriber; p99 delivery of a job's events to its ${probeSubscribers} subscribers meanwhile`,
        baselineTitle: 'bare ws server holding the same clients',
        ours: () => measure('ours'),
        baseline: () => measure('bare'),
        checks: [
          { label: 'KB per subscriber (ours)', value: (o) => o.kbPerSubscriber!, atMost: 30 },
          { label: 'KB per subscriber (baseline)', value: (_o, b) => b!.kbPerSubscriber! },
          { label: 'p99 delivery ms (ours)', value: (o) => o.p99Ms!, atMost: 200 },
        ],
      };
    }

    const figures: Figure[] = [
      admission(sizes.admitSmall),
      admission(sizes.admitLarge),
      fanout(sizes.fanSmall),
      fanout(sizes.fanLarge),
      idle(),
    ];
    // BENCH_NOTIFIER_FIGURES=fanout (a regular expression on ids): some figures only.
    const only = new RegExp(process.env.BENCH_NOTIFIER_FIGURES ?? '');
    log(`  notifier: idle figure holds ${idleTarget + probeSubscribers} subscribers`);
    return {
      figures: figures.filter((f) => only.test(f.id)),
      async close() {
        await closeRigs();
        await relay.stop();
        await broker.close();
        // Also deletes the queues the notifiers declared under this run's prefix.
        await env.close();
      },
    };
  },
};
