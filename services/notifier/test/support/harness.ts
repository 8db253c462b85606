// In-process notifiers on real Postgres and RabbitMQ, and the producer side of events as the
// system has it: appendJobEvent in a transaction, published by a running outbox relay.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import {
  EventFrame,
  signEventsToken,
  TERMINAL_EVENT_TYPES,
  type JobEvent,
  type JobEventInput,
} from '@transcribe/contracts';
import { appendJobEvent, insertJob } from '@transcribe/db';
import { connectBroker, type Broker } from '@transcribe/queue';
import { createLogger, createRegistry } from '@transcribe/telemetry';
import {
  seedTenant,
  startTestRelay,
  type TestEnv,
  type TestRelay,
} from '../../../../packages/testkit/src/index.js';
import { DEFAULT_WAIT_TIMEOUT_MS } from '../../../../packages/testkit/src/wait-for.js';
import { createNotifier, type Notifier, type NotifierDeps } from '../../src/app.js';
import { followJobDeletions } from '../../src/deletion-feed.js';

export interface Job {
  id: string;
  tenantId: string;
}

export interface Tenant {
  id: string;
  apiKey: string;
}

export interface RunningNotifier {
  notifier: Notifier;
  broker?: Broker;
  /** http://127.0.0.1:<port> */
  httpUrl: string;
  /** The events WebSocket URL for a job. */
  eventsUrl(jobId: string, query?: { after?: number; token?: string }): string;
  /** The tenant-wide events WebSocket URL. */
  tenantUrl(query?: { after?: string; token?: string }): string;
  /** The SSE URL: one job with `jobId`, else the tenant stream. */
  sseUrl(query?: { jobId?: string; after?: string | number; token?: string }): string;
  stop(): Promise<void>;
}

// Shared with every other suite: one way to wait, bounded generously.
export { sleep, waitFor } from '../../../../packages/testkit/src/wait-for.js';

export const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Everything a test file needs: producers (relay), notifiers it starts, clients it opens. */
export class Harness {
  private readonly notifiers: RunningNotifier[] = [];
  private readonly sockets = new Set<WebSocket>();
  private outbox!: TestRelay;

  constructor(readonly env: TestEnv) {}

  get tokenSecret(): string {
    return this.env.env.TOKEN_SECRET!;
  }

  async start(): Promise<void> {
    this.outbox = await startTestRelay(this.env, { pollMs: 50 });
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    for (const running of this.notifiers) await running.stop();
    await this.outbox?.stop();
  }

  /**
   * A notifier as main.ts wires it, on port 0. With `broker: false` it gets no broker (and
   * `isBrokerConnected` must be given): enough for the HTTP endpoints.
   */
  async startNotifier(
    settings: Partial<NotifierDeps['settings']> = {},
    options: {
      broker?: boolean;
      isBrokerConnected?: () => boolean;
      /** Instead of the test env's (e.g. one behind a fault proxy). */
      db?: NotifierDeps['db'];
      liveness?: NotifierDeps['liveness'];
    } = {},
  ): Promise<RunningNotifier> {
    const broker =
      options.broker === false
        ? undefined
        : connectBroker({ url: this.env.env.AMQP_URL!, prefix: this.env.prefix });
    const notifier = createNotifier({
      db: options.db ?? this.env.db,
      liveness: options.liveness,
      logger: createLogger('notifier', 'silent'),
      registry: createRegistry('notifier'),
      isBrokerConnected: options.isBrokerConnected ?? (() => broker?.isConnected() ?? false),
      settings: {
        tokenSecret: this.tokenSecret,
        heartbeatMs: 30_000,
        maxBufferedBytes: 1 << 20,
        ...settings,
      },
    });
    notifier.server.listen(0, '127.0.0.1');
    await once(notifier.server, 'listening');
    if (broker)
      await broker.consumeAllEvents(notifier.onBrokerEvent, () => notifier.hub.resyncAll());
    // As main.ts wires it; resolved once it listens, so a test's deletion is heard.
    let listening!: () => void;
    const heard = new Promise<void>((resolve) => (listening = resolve));
    const deletions = followJobDeletions(notifier, this.env.env.DATABASE_URL!, {
      onListening: () => listening(),
    });
    await heard;
    const { port } = notifier.server.address() as AddressInfo;
    let stopped = false;
    const running: RunningNotifier = {
      notifier,
      broker,
      httpUrl: `http://127.0.0.1:${port}`,
      eventsUrl(jobId, query = {}) {
        const params = new URLSearchParams({ jobId, after: String(query.after ?? 0) });
        if (query.token !== undefined) params.set('token', query.token);
        return `ws://127.0.0.1:${port}/v1/events?${params}`;
      },
      tenantUrl(query = {}) {
        const params = new URLSearchParams(
          Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined),
        );
        return `ws://127.0.0.1:${port}/v1/events?${params}`;
      },
      sseUrl(query = {}) {
        const params = new URLSearchParams(
          Object.entries(query)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]): [string, string] => [k, String(v)]),
        );
        return `http://127.0.0.1:${port}/v1/events/sse?${params}`;
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        notifier.hub.close();
        const closed = new Promise((resolve) => notifier.server.close(resolve));
        notifier.server.closeAllConnections();
        await closed;
        await broker?.close();
        await deletions.stop();
      },
    };
    this.notifiers.push(running);
    return running;
  }

  createTenant(): Promise<Tenant> {
    return seedTenant(this.env.db, `tenant-${randomUUID()}`);
  }

  async createJob(tenant: Tenant): Promise<Job> {
    const id = randomUUID();
    await insertJob(this.env.db, {
      id,
      tenant_id: tenant.id,
      status: 'queued',
      priority: 'default',
      object_key: `${tenant.id}/${id}/talk.wav`,
      filename: 'talk.wav',
      content_type: 'audio/wav',
      size_bytes: 4096,
      language: 'en',
      engine: 'sphinx',
    });
    return { id, tenantId: tenant.id };
  }

  /** A tenant-wide events token (no job). */
  tenantToken(tenant: Tenant, ttlS = 60): string {
    return signEventsToken(
      { sub: tenant.id, exp: Math.floor(Date.now() / 1000) + ttlS },
      this.tokenSecret,
    );
  }

  tokenFor(job: Job, ttlS = 60): string {
    return signEventsToken(
      { sub: job.tenantId, jobId: job.id, exp: Math.floor(Date.now() / 1000) + ttlS },
      this.tokenSecret,
    );
  }

  /** Appends events in one transaction (as a worker does) and wakes the relay. */
  async append(job: Job, ...inputs: JobEventInput[]): Promise<JobEvent[]> {
    const events = await this.env.db.transaction().execute(async (trx) => {
      const out: JobEvent[] = [];
      for (const input of inputs) out.push(await appendJobEvent(trx, job, input));
      return out;
    });
    this.outbox.relay.kick();
    return events;
  }

  progress(job: Job, progress: number, stage = 'transcribing'): Promise<JobEvent[]> {
    return this.append(job, { type: 'progress', progress, stage });
  }

  complete(job: Job): Promise<JobEvent[]> {
    return this.append(job, { type: 'completed', durationS: 11, processingMs: 1234 });
  }

  /** Wakes the outbox relay (after events committed outside `append`). */
  relayKick(): void {
    this.outbox.relay.kick();
  }

  /** A client socket that the harness terminates at the end if the test did not. */
  socket(url: string, options: WebSocket.ClientOptions = {}, protocols: string[] = []): WebSocket {
    const socket = new WebSocket(url, protocols, options);
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    return socket;
  }

  /**
   * Follows a job until a terminal event (or `until`), until `stopAfter` events (then drops the
   * connection and records nothing more, like a client that went away), or until the
   * server closes. Every frame is validated against the contract.
   */
  follow(
    url: string,
    options: {
      headers?: Record<string, string>;
      stopAfter?: number;
      timeoutMs?: number;
      /** The last event to wait for; default: the job's terminal event. */
      until?: (event: JobEvent) => boolean;
    } = {},
  ): Follower {
    const last = options.until ?? ((event: JobEvent) => TERMINAL_EVENT_TYPES.includes(event.type));
    const socket = this.socket(url, { headers: options.headers });
    const events: JobEvent[] = [];
    let done = false;
    const opened = new Promise<void>((resolve) => socket.once('open', () => resolve()));
    const finished = new Promise<FollowResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`follow timed out; got seqs ${events.map((e) => e.seq).join(',')}`));
      }, options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS);
      const finish = (result: FollowResult) => {
        done = true;
        clearTimeout(timer);
        resolve(result);
      };
      socket.on('message', (data) => {
        if (done) return;
        const frame = EventFrame.parse(JSON.parse(String(data)));
        events.push(frame.event);
        if (last(frame.event)) {
          socket.close(1000);
          finish({ events, seqs: events.map((e) => e.seq) });
        } else if (options.stopAfter !== undefined && events.length >= options.stopAfter) {
          socket.terminate();
          finish({ events, seqs: events.map((e) => e.seq) });
        }
      });
      socket.on('close', (code, reason) => {
        if (done) return;
        finish({
          events,
          seqs: events.map((e) => e.seq),
          closeCode: code,
          closeReason: String(reason),
        });
      });
      socket.on('error', (error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        reject(error);
      });
    });
    return { socket, events, opened, finished };
  }
}

export interface FollowResult {
  events: JobEvent[];
  seqs: number[];
  /** Set when the server closed the connection (not after a terminal event or stopAfter). */
  closeCode?: number;
  closeReason?: string;
}

export interface Follower {
  socket: WebSocket;
  /** Events received so far (grows until the follow finishes). */
  events: JobEvent[];
  opened: Promise<void>;
  finished: Promise<FollowResult>;
}
