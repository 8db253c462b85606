import {
  loadConfigOrExit,
  postgresOptions,
  workerSchema,
  storageOptions,
} from '@transcribe/config';
import { createDb } from '@transcribe/db';
import { connectBroker, startOutboxRelay } from '@transcribe/queue';
import { createStorage } from '@transcribe/storage';
import { createLogger, createRegistry, serveMetrics } from '@transcribe/telemetry';
import { createConfiguredEngines, EngineStartupError } from './engines/configured.js';
import { workerProbes } from './health.js';
import { createJobHandler } from './job-handler.js';
import { createWorkerMetrics } from './metrics.js';
import { startReaper } from './reaper.js';

const config = loadConfigOrExit('worker', workerSchema);
const logger = createLogger('worker', config.LOG_LEVEL);
// Models load before anything connects: a bad model or engine setting stops the worker
// at once with exit code 2 (like a bad variable), instead of failing every job.
const engines = await createConfiguredEngines(config, {
  onRetry: (info) => logger.warn(info, 'transcription server answered an error; retrying'),
  onNativeLog: (level, text) =>
    logger[level === 'error' || level === 'warn' ? 'warn' : 'debug'](
      { engine: 'whisper-cpp' },
      text.trim(),
    ),
}).catch((error: unknown) => {
  if (!(error instanceof EngineStartupError)) throw error;
  console.error(`worker: ${error.message}`);
  process.exit(2);
});
logger.info({ engines: engines.names, default: engines.defaultName }, 'engines ready');
const registry = createRegistry('worker');
const metrics = createWorkerMetrics(registry);
const db = createDb(config.DATABASE_URL, {
  ...postgresOptions(config),
  max: config.WORKER_CONCURRENCY + 2,
  onError: (err) => logger.warn({ err }, 'postgres connection lost'),
});
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

// Fired when the shutdown grace period is over: running jobs are handed back.
const handBack = new AbortController();
const handler = createJobHandler({
  db,
  relay,
  logger,
  metrics,
  pipeline: {
    storage,
    engines,
    tmpDir: config.TMP_DIR,
    maxDurationS: config.MAX_DURATION_S,
    chunkS: config.CHUNK_SECONDS,
    chunkWindowS: config.CHUNK_WINDOW_S,
  },
  maxAttempts: config.MAX_ATTEMPTS,
  leaseMs: config.LEASE_S * 1000,
  progressIntervalMs: 500,
  jobTimeoutMs: config.JOB_TIMEOUT_S * 1000,
  retry: { baseMs: config.RETRY_BASE_MS, maxMs: config.RETRY_MAX_MS },
  tenantMaxConcurrent: config.TENANT_MAX_CONCURRENT_JOBS,
  shutdown: handBack.signal,
  fanOut: {
    minChunks: config.FANOUT_MIN_CHUNKS,
    leaseMs: config.JOB_TIMEOUT_S * 1000,
    storage,
  },
});
const reaper = startReaper({
  db,
  maxAttempts: config.MAX_ATTEMPTS,
  staleQueuedMs: config.STALE_QUEUED_S * 1000,
  intervalMs: config.REAPER_INTERVAL_S * 1000,
  onReaped: (result) => {
    logger.warn(result, 'reaper found lost jobs');
    metrics.reaped.inc({ kind: 'requeued' }, result.requeued);
    metrics.reaped.inc({ kind: 'failed' }, result.failed);
    metrics.reaped.inc({ kind: 'republished' }, result.republished);
    relay.kick();
  },
  onError: (err) => logger.warn({ err }, 'reaper'),
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
const probes = workerProbes(
  { db, isBrokerConnected: () => broker.isConnected() },
  { readyTimeoutMs: config.READY_CHECK_TIMEOUT_MS, stallMs: config.LIVENESS_STALL_MS },
);
const metricsServer = await serveMetrics(registry, config.METRICS_PORT, probes);
logger.info(
  { concurrency: config.WORKER_CONCURRENCY, queue: broker.names.jobsQueue },
  'worker consuming',
);

/** Resolves when no job is in flight, or after `ms`. */
function idleWithin(ms: number): Promise<void> {
  if (inFlight === 0) return Promise.resolve();
  return Promise.race([
    new Promise<void>((resolve) => (idle = resolve)),
    new Promise<void>((resolve) => setTimeout(resolve, ms).unref()),
  ]);
}

async function shutdown(signal: string) {
  logger.info({ signal, inFlight }, 'draining');
  await broker.stopConsuming();
  await idleWithin(config.WORKER_GRACE_S * 1000);
  if (inFlight > 0) {
    // Still running after the grace period: each job is put back to `queued` and its
    // message nacked, so another worker picks it up (resuming from its stored chunks).
    logger.info({ inFlight }, 'grace period over; handing jobs back');
    handBack.abort();
    // If even that hangs, exiting leaves the messages unacked: the broker redelivers them.
    await idleWithin(10_000);
  }
  await reaper.stop();
  await relay.stop();
  await broker.close();
  metricsServer.close();
  probes.monitor.stop();
  await db.destroy();
  storage.destroy();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
