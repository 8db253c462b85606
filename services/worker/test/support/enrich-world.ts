// One test file's world for enrichments: real Postgres and RabbitMQ (createTestEnv), the
// deterministic chat server, an outbox relay, and in-process enrichment workers built
// from their dependencies (each with its own broker connection, and its own database
// pool so one can be "killed"). Jobs are seeded through the lifecycle (queued, claimed,
// completed with segments): no audio.
import type { EnrichmentRequest, Segment } from '@transcribe/contracts';
import {
  createDb,
  ensureTenant,
  findEnrichmentById,
  listEnrichments,
  type Db,
  type EnrichmentRow,
} from '@transcribe/db';
import { claimAttempt, insertQueuedJob, markCompleted } from '@transcribe/jobs';
import { connectBroker, startOutboxRelay, type Broker, type OutboxRelay } from '@transcribe/queue';
import { createLogger, createRegistry } from '@transcribe/telemetry';
import { v7 as uuidv7 } from 'uuid';
import {
  createTestEnv,
  startChatServer,
  waitFor,
  type ChatServer,
  type TestEnv,
} from '../../../../packages/testkit/src/index.js';
import { createEnrichHandler } from '../../src/enrich/consumer.js';
import type { EnrichSettings } from '../../src/enrich/run-enrichment.js';
import { createChatEngine } from '../../src/engines/openai-chat.js';
import { createWorkerMetrics, type WorkerMetrics } from '../../src/metrics.js';

export interface EnrichWorker {
  name: string;
  /** Deliveries being handled now. */
  active: number;
  metrics: WorkerMetrics;
  /** Graceful: aborts running requests (pieces released, messages nacked), then disconnects. */
  shutdown(): Promise<void>;
  /** Like SIGKILL: the broker connection and the database pool go at once, nothing is released. */
  kill(): Promise<void>;
}

export interface WorkerOptions {
  settings?: Partial<EnrichSettings>;
  maxRetries?: number;
  requestTimeoutMs?: number;
  prefetch?: number;
}

export interface EnrichWorld {
  env: TestEnv;
  chat: ChatServer;
  tenantId: string;
  workers: EnrichWorker[];
  startWorker(name: string, options?: WorkerOptions): Promise<EnrichWorker>;
  /** A completed job with these segments and enrichments; their messages are on the lane. */
  seedJob(
    segments: Segment[],
    enrich: EnrichmentRequest[],
  ): Promise<{ jobId: string; enrichments: EnrichmentRow[] }>;
  reload(id: string): Promise<EnrichmentRow>;
  /** Waits until the enrichment is terminal and no worker handles anything. */
  settled(id: string, timeoutMs?: number): Promise<EnrichmentRow>;
  idle(): boolean;
  close(): Promise<void>;
}

export const DEFAULT_SETTINGS: EnrichSettings = {
  contextTokens: 8192,
  maxOutputTokens: 2048,
  fanout: 1,
  maxAttempts: 3,
  // Renewed every 200 ms, but on a loaded machine a renewal can wait seconds for
  // Postgres; a lease lost that way aborts the request in flight and asks again, which
  // the tests that count requests do not expect. Tests of take-over set their own.
  leaseMs: 8000,
  heartbeatMs: 200,
  timeoutMs: 120_000,
  retry: { baseMs: 200, maxMs: 400 },
  progressIntervalMs: 200,
};

export async function createEnrichWorld(): Promise<EnrichWorld> {
  const env = await createTestEnv();
  const chat = await startChatServer();
  const tenantId = await ensureTenant(env.db, `tenant-enrich-${uuidv7()}`);
  const logger = createLogger('enrich-test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const publisher = connectBroker({ url: env.env.AMQP_URL!, prefix: env.prefix });
  await publisher.ready();
  const relay: OutboxRelay = startOutboxRelay({ db: env.db, broker: publisher, pollMs: 100 });
  const workers: EnrichWorker[] = [];
  const closers: (() => Promise<void>)[] = [];

  async function startWorker(name: string, options: WorkerOptions = {}): Promise<EnrichWorker> {
    const db: Db = createDb(env.databaseUrl, { max: 4 });
    const broker: Broker = connectBroker({ url: env.env.AMQP_URL!, prefix: env.prefix });
    const shutdown = new AbortController();
    const metrics = createWorkerMetrics(createRegistry(`enrich-${name}`));
    const handler = createEnrichHandler({
      db,
      relay,
      logger: logger.child({ worker: name }),
      metrics,
      chat: createChatEngine({
        baseURL: chat.url,
        model: 'test-chat',
        maxRetries: options.maxRetries ?? 0,
        timeoutMs: options.requestTimeoutMs ?? 30_000,
      }),
      settings: { ...DEFAULT_SETTINGS, ...options.settings },
      shutdown: shutdown.signal,
    });
    let gone = false;
    const worker: EnrichWorker = {
      name,
      active: 0,
      metrics,
      async shutdown() {
        if (gone) return;
        shutdown.abort();
        await waitFor(() => worker.active === 0, { what: `${name} idle` });
        gone = true;
        await broker.close();
        await db.destroy();
      },
      async kill() {
        if (gone) return;
        gone = true;
        await broker.close();
        await db.destroy().catch(() => undefined);
      },
    };
    await broker.consume(
      broker.names.enrichQueue,
      async (body, ctx) => {
        worker.active++;
        try {
          await handler(body, ctx);
        } finally {
          worker.active--;
        }
      },
      { prefetch: options.prefetch ?? 1 },
    );
    workers.push(worker);
    closers.push(() => worker.shutdown());
    return worker;
  }

  const seedJob = async (segments: Segment[], enrich: EnrichmentRequest[]) => {
    const seeded = await seedCompletedJob(env.db, tenantId, segments, enrich);
    relay.kick();
    return seeded;
  };

  const reload = async (id: string) => (await findEnrichmentById(env.db, id))!;
  const idle = () => workers.every((w) => w.active === 0);

  return {
    env,
    chat,
    tenantId,
    workers,
    startWorker,
    seedJob,
    reload,
    idle,
    async settled(id, timeoutMs = 120_000) {
      const row = await waitFor(
        async () => {
          const current = await reload(id);
          return ['completed', 'failed', 'canceled'].includes(current.status) && current;
        },
        { timeoutMs, what: `enrichment ${id} to settle` },
      );
      await waitFor(idle, { timeoutMs, what: 'workers idle' });
      return reload(id).then((r) => r ?? row);
    },
    async close() {
      for (const close of closers) await close().catch(() => undefined);
      await relay.stop();
      await publisher.close();
      await chat.close();
      await env.close();
    },
  };
}

/**
 * A completed job with these segments and enrichments, through the lifecycle (queued,
 * claimed, completed): the enrichments' messages are in the outbox.
 */
export async function seedCompletedJob(
  db: Db,
  tenantId: string,
  segments: Segment[],
  enrich: EnrichmentRequest[],
): Promise<{ jobId: string; enrichments: EnrichmentRow[] }> {
  const id = uuidv7();
  // One transaction: a transcription worker of a running stack takes the job's message
  // only once it is committed, and then finds the job completed already.
  await db.transaction().execute(async (trx) => {
    await insertQueuedJob(
      trx,
      {
        id,
        tenant_id: tenantId,
        priority: 'default',
        object_key: `${tenantId}/${id}/speech.wav`,
        filename: 'speech.wav',
        content_type: 'audio/wav',
        size_bytes: 1,
        language: 'en',
        engine: 'sphinx',
      },
      enrich,
    );
    const claimed = await claimAttempt(trx, id, { leaseMs: 60_000 });
    await markCompleted(trx, claimed!, {
      text: segments.map((s) => s.text).join(' '),
      segments,
      durationS: segments.at(-1)?.end ?? 0,
      processingMs: 1,
      model: 'test',
    });
  });
  return { jobId: id, enrichments: await listEnrichments(db, id) };
}

/** A transcript of `n` segments, 2 s each, with fillers and lower-case starts. */
export function transcript(
  n: number,
  say = (i: number) => `um this is sentence number ${i} of the lecture`,
): Segment[] {
  return Array.from({ length: n }, (_, i) => ({
    start: i * 2,
    end: i * 2 + 1.8,
    text: say(i),
    ...(i % 2 === 0 ? { speaker: 'A' } : { speaker: 'B' }),
  }));
}

/** The segment ids a recorded request carried as data (`[n] ` lines of the user message). */
export function requestedIds(messages: { role: string; content: string }[]): number[] {
  const user = messages.find((m) => m.role === 'user')?.content ?? '';
  return [...user.matchAll(/^\[(\d+)\]/gm)].map((m) => Number(m[1]));
}

/**
 * Between tests: wait until no worker is busy, shut them down and undo a test's slow
 * chat server, so the next test starts from an idle world.
 */
export async function resetEnrichWorld(world: EnrichWorld): Promise<void> {
  await waitFor(() => world.idle(), { timeoutMs: 120_000, what: 'workers idle' });
  for (const worker of world.workers) await worker.shutdown();
  world.workers.length = 0;
  world.chat.setDelay(0);
}
