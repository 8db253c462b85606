import { loadConfigOrExit, workerSchema, storageOptions } from '@transcribe/config';
import { createDb } from '@transcribe/db';
import { connectBroker, startOutboxRelay } from '@transcribe/queue';
import { createStorage } from '@transcribe/storage';
import { createLogger, createRegistry, serveMetrics } from '@transcribe/telemetry';
import { createEngineSelector } from './engines/selector.js';
import { createSphinxEngine } from './engines/sphinx.js';
import { createJobHandler } from './job-handler.js';
import { createWorkerMetrics } from './metrics.js';

const config = loadConfigOrExit('worker', workerSchema);
const logger = createLogger('worker', config.LOG_LEVEL);
const registry = createRegistry('worker');
const metrics = createWorkerMetrics(registry);
const db = createDb(config.DATABASE_URL, { max: config.WORKER_CONCURRENCY + 2 });
const broker = connectBroker({
  url: config.AMQP_URL,
  prefix: config.AMQP_PREFIX,
  onError: (err) => logger.warn({ err }, 'rabbitmq'),
});
const storage = createStorage(storageOptions(config));
const relay = startOutboxRelay({
  db,
  broker,
  pollMs: config.OUTBOX_POLL_MS,
  onError: (err) => logger.warn({ err }, 'outbox relay'),
});
const engines = createEngineSelector([
  createSphinxEngine({ hmm: config.SPHINX_HMM, lm: config.SPHINX_LM, dict: config.SPHINX_DICT }),
]);

const handler = createJobHandler({
  db,
  relay,
  logger,
  metrics,
  pipeline: { storage, engines, tmpDir: config.TMP_DIR, maxDurationS: config.MAX_DURATION_S },
  maxAttempts: config.MAX_ATTEMPTS,
  leaseMs: 5 * 60_000,
  progressIntervalMs: 500,
});

let inFlight = 0;
let idle: (() => void) | undefined;
await broker.consume(
  broker.names.jobsQueue,
  async (body, ctx) => {
    inFlight++;
    try {
      await handler(body, ctx);
    } finally {
      if (--inFlight === 0) idle?.();
    }
  },
  { prefetch: config.WORKER_CONCURRENCY },
);
const metricsServer = await serveMetrics(registry, config.METRICS_PORT, () => broker.isConnected());
logger.info(
  { concurrency: config.WORKER_CONCURRENCY, queue: broker.names.jobsQueue },
  'worker consuming',
);

const GRACE_MS = 60_000;
async function shutdown(signal: string) {
  logger.info({ signal, inFlight }, 'draining');
  await broker.stopConsuming();
  // Jobs still running after the grace period are abandoned unacked: the broker redelivers
  // them and the next worker takes them over.
  if (inFlight > 0) {
    await Promise.race([
      new Promise<void>((resolve) => (idle = resolve)),
      new Promise((resolve) => setTimeout(resolve, GRACE_MS)),
    ]);
  }
  await relay.stop();
  await broker.close();
  metricsServer.close();
  await db.destroy();
  storage.destroy();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
