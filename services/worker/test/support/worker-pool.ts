// A pool of in-process workers, each with its own broker connection and job handler, on
// a test environment's real Postgres, RabbitMQ and S3: what fanout.test.ts and
// progress-fanout.test.ts run their fanned-out jobs on. Each worker's engine is the
// test's own (deterministic, failing or hanging on cue).
import { readFile } from 'node:fs/promises';
import { v7 as uuidv7 } from 'uuid';
import { findJobById, type JobRow } from '@transcribe/db';
import { insertQueuedJob } from '@transcribe/jobs';
import { connectBroker, startOutboxRelay, type Broker, type OutboxRelay } from '@transcribe/queue';
import { createRegistry, type Logger } from '@transcribe/telemetry';
import type { TestEnv } from '../../../../packages/testkit/src/index.js';
import { waitFor } from '../../../../packages/testkit/src/wait-for.js';
import type { Engine } from '../../src/engines/engine.js';
import { createEngineSelector } from '../../src/engines/selector.js';
import { createJobHandler } from '../../src/consumer.js';
import { createWorkerMetrics } from '../../src/metrics.js';

export interface PoolSettings {
  chunkS: number;
  chunkWindowS: number;
  leaseMs: number;
  progressIntervalMs: number;
}

export interface WorkerPool {
  relay: OutboxRelay;
  /** Deliveries each worker has in hand now. */
  active: number[];
  idle(): boolean;
  /** Uploads the file and queues a sphinx job for it, as the gateway would. */
  submit(file: string): Promise<JobRow>;
  reload(id: string): Promise<JobRow>;
  /** Waits for the job to end and for every worker to let go of its messages. */
  settled(id: string): Promise<JobRow>;
  close(): Promise<void>;
}

export async function startWorkerPool(options: {
  env: TestEnv;
  tenantId: string;
  scratch: string;
  logger: Logger;
  /** One engine per worker. */
  engines: Engine[];
  settings: PoolSettings;
}): Promise<WorkerPool> {
  const { env, tenantId, settings } = options;
  const brokers: Broker[] = [];
  const publisher = connectBroker({ url: env.env.AMQP_URL!, prefix: env.prefix });
  brokers.push(publisher);
  await publisher.ready();
  const relay = startOutboxRelay({ db: env.db, broker: publisher, pollMs: 200 });
  const active = options.engines.map(() => 0);
  for (const [i, engine] of options.engines.entries()) {
    const broker = connectBroker({ url: env.env.AMQP_URL!, prefix: env.prefix });
    brokers.push(broker);
    const handler = createJobHandler({
      db: env.db,
      relay,
      logger: options.logger.child({ worker: i }),
      metrics: createWorkerMetrics(createRegistry(`pool-${i}`)),
      pipeline: {
        storage: env.storage,
        engines: createEngineSelector([engine]),
        tmpDir: options.scratch,
        maxDurationS: 3600,
        chunkS: settings.chunkS,
        chunkWindowS: settings.chunkWindowS,
      },
      maxAttempts: 3,
      leaseMs: settings.leaseMs,
      progressIntervalMs: settings.progressIntervalMs,
      jobTimeoutMs: 120_000,
      retry: { baseMs: 300, maxMs: 600 },
      fanOut: { minChunks: 2, leaseMs: 60_000, storage: env.storage },
      // The broker's order by default; TEST_SCHEDULER=fair runs the same suites as tokens.
      scheduler: process.env.TEST_SCHEDULER === 'fair' ? 'fair' : 'fifo',
    });
    await broker.consume(
      broker.names.jobsQueue,
      async (body, ctx) => {
        active[i]!++;
        try {
          await handler(body, ctx);
        } finally {
          active[i]!--;
        }
      },
      { prefetch: 1 },
    );
  }

  const idle = () => active.every((n) => n === 0);
  const reload = async (id: string) => (await findJobById(env.db, id))!;
  return {
    relay,
    active,
    idle,
    reload,
    async submit(file) {
      const id = uuidv7();
      const key = `${tenantId}/${id}/speech.wav`;
      await env.storage.upload(key, await readFile(file), 'audio/wav');
      const job = await insertQueuedJob(env.db, {
        id,
        tenant_id: tenantId,
        priority: 'default',
        object_key: key,
        filename: 'speech.wav',
        content_type: 'audio/wav',
        size_bytes: 1,
        language: 'en',
        engine: 'sphinx',
      });
      relay.kick();
      return job;
    },
    async settled(id) {
      await waitFor(async () =>
        ['completed', 'failed', 'canceled'].includes((await reload(id)).status),
      );
      // Messages still in hand (drops of stale chunks) finish before the checks.
      await waitFor(async () => idle(), { timeoutMs: 300_000 });
      return reload(id);
    },
    async close() {
      await waitFor(async () => idle(), { timeoutMs: 120_000 }).catch(() => undefined);
      await relay.stop();
      for (const broker of brokers) await broker.close();
    },
  };
}
