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
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeParentDeathWrappers } from './child-lifetime.js';
import { createConfiguredEngines, EngineStartupError } from './engines/configured.js';
import { workerProbes } from './health.js';
import { startConsumer, type Consumer } from './consumer.js';
import { startEnrichConsumer, type EnrichConsumer } from './enrich/consumer.js';
import { createChatEngine } from './engines/openai-chat.js';
import { useMediaBinaries } from './media.js';
import { createWorkerMetrics } from './metrics.js';
import { startReaper } from './reaper.js';
import { prepareScratch } from './scratch.js';

const config = loadConfigOrExit('worker', workerSchema);
const logger = createLogger('worker', config.LOG_LEVEL);
const transcribeLane = config.WORKER_LANES.includes('transcribe');
const enrichLane = config.WORKER_LANES.includes('enrich') && Boolean(config.ENRICH_BASE_URL);
if (config.WORKER_LANES.includes('enrich') && !config.ENRICH_BASE_URL) {
  // Said once; a warning only when the lane was asked for by name, not by the default.
  const asked = /\benrich\b/.test(process.env.WORKER_LANES ?? '');
  logger[asked ? 'warn' : 'info'](
    'ENRICH_BASE_URL is unset: this worker does not consume the enrichment lane',
  );
}
// Temporary files live under a folder of this process; dead workers' folders on this
// host (SIGKILL leaves them behind) are removed first.
const scratch = await prepareScratch(config.TMP_DIR);
if (scratch.removed.length > 0) {
  logger.warn({ removed: scratch.removed }, "removed dead workers' scratch folders");
}
const wrappers = await writeParentDeathWrappers(join(scratch.dir, 'bin'), {
  ffmpeg: 'ffmpeg',
  ffprobe: 'ffprobe',
});
if (wrappers) useMediaBinaries(wrappers);
else logger.warn('setpriv unavailable: ffmpeg children may outlive a killed worker');
// Models load before anything connects: a bad model or engine setting stops the worker
// at once with exit code 2 (like a bad variable), instead of failing every job.
// Engines that write temporary files (openai compresses audio) write them under it too.
const engines = !transcribeLane
  ? undefined
  : await createConfiguredEngines(
      { ...config, TMP_DIR: scratch.dir },
      {
        onRetry: (info) => logger.warn(info, 'transcription server answered an error; retrying'),
        onNativeLog: (level, text) =>
          logger[level === 'error' || level === 'warn' ? 'warn' : 'debug'](
            { engine: 'whisper-cpp' },
            text.trim(),
          ),
        // PocketSphinx keeps its model loaded between chunks, in decoders beside this file.
        ...(config.SPHINX_RESIDENT && {
          sphinxDecoder: {
            script: fileURLToPath(new URL('./engines/sphinx-decoder.js', import.meta.url)),
            concurrency: config.WORKER_CONCURRENCY,
          },
        }),
      },
    ).catch((error: unknown) => {
      if (!(error instanceof EngineStartupError)) throw error;
      console.error(`worker: ${error.message}`);
      process.exit(2);
    });
if (engines) {
  // One decoder loads its model now rather than when the first chunk arrives. A failure
  // here is not fatal: each transcription starts its own decoder and reports why it fails.
  await engines
    .warm()
    .catch((err: unknown) => logger.warn({ err }, 'pocketsphinx decoder did not start'));
  logger.info({ engines: engines.names, default: engines.defaultName }, 'engines ready');
}
const registry = createRegistry('worker');
const metrics = createWorkerMetrics(registry, { tenantLabels: config.METRICS_TENANT_LABELS });
const db = createDb(config.DATABASE_URL, {
  ...postgresOptions(config),
  max: config.WORKER_CONCURRENCY + (enrichLane ? config.ENRICH_CONCURRENCY : 0) + 2,
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

const reaper = startReaper({
  db,
  maxLostAttempts: config.MAX_LOST_ATTEMPTS,
  staleQueuedMs: config.STALE_QUEUED_S * 1000,
  intervalMs: config.REAPER_INTERVAL_S * 1000,
  onReaped: (result) => {
    logger.warn(result, 'reaper found lost jobs');
    metrics.reaped.inc({ kind: 'requeued' }, result.requeued);
    metrics.reaped.inc({ kind: 'failed' }, result.failed);
    // Failed by the reaper is a job end like any other: the success rate counts it.
    metrics.jobs.inc({ outcome: 'failed' }, result.failed);
    metrics.reaped.inc({ kind: 'republished' }, result.republished);
    relay.kick();
  },
  onError: (err) => logger.warn({ err }, 'reaper'),
  positionIntervalMs: config.POSITION_EVENTS_S * 1000,
  onAnnounced: () => relay.kick(),
});

const consumer: Consumer | undefined = !engines
  ? undefined
  : await startConsumer({
      broker,
      deps: {
        db,
        relay,
        logger,
        metrics,
        pipeline: {
          storage,
          engines,
          tmpDir: scratch.dir,
          maxDurationS: config.MAX_DURATION_S,
          chunkS: config.CHUNK_SECONDS,
          chunkWindowS: config.CHUNK_WINDOW_S,
        },
        maxAttempts: config.MAX_ATTEMPTS,
        maxLostAttempts: config.MAX_LOST_ATTEMPTS,
        leaseMs: config.LEASE_S * 1000,
        progressIntervalMs: 500,
        jobTimeoutMs: config.JOB_TIMEOUT_S * 1000,
        retry: { baseMs: config.RETRY_BASE_MS, maxMs: config.RETRY_MAX_MS },
        tenantMaxConcurrent: config.TENANT_MAX_CONCURRENT_JOBS,
        scheduler: config.SCHEDULER,
        tenantMaxAudioSPerDay: config.TENANT_MAX_AUDIO_S_PER_DAY,
        fanOut: {
          minChunks: config.FANOUT_MIN_CHUNKS,
          spreadChunks: config.FANOUT_SPREAD_CHUNKS,
          leaseMs: config.JOB_TIMEOUT_S * 1000,
          storage,
        },
      },
      concurrency: config.WORKER_CONCURRENCY,
      graceMs: config.WORKER_GRACE_S * 1000,
      logger,
    });
const enrichConsumer: EnrichConsumer | undefined = !enrichLane
  ? undefined
  : await startEnrichConsumer({
      broker,
      deps: {
        db,
        relay,
        logger,
        metrics,
        chat: createChatEngine({
          baseURL: config.ENRICH_BASE_URL!,
          apiKey: config.ENRICH_API_KEY,
          model: config.ENRICH_MODEL,
          maxRetries: config.ENRICH_MAX_RETRIES,
          timeoutMs: config.ENRICH_REQUEST_TIMEOUT_S * 1000,
        }),
        settings: {
          contextTokens: config.ENRICH_CONTEXT_TOKENS,
          maxOutputTokens: config.ENRICH_MAX_OUTPUT_TOKENS,
          pieceTokens: config.ENRICH_PIECE_TOKENS,
          fanout: config.ENRICH_FANOUT,
          maxAttempts: config.ENRICH_MAX_ATTEMPTS,
          leaseMs: config.ENRICH_LEASE_S * 1000,
          heartbeatMs: 1000,
          timeoutMs: config.ENRICH_TIMEOUT_S * 1000,
          retry: { baseMs: config.RETRY_BASE_MS, maxMs: config.RETRY_MAX_MS },
          progressIntervalMs: 500,
        },
      },
      concurrency: config.ENRICH_CONCURRENCY,
      graceMs: config.WORKER_GRACE_S * 1000,
      logger,
    });
const probes = workerProbes(
  { db, isBrokerConnected: () => broker.isConnected() },
  { readyTimeoutMs: config.READY_CHECK_TIMEOUT_MS, stallMs: config.LIVENESS_STALL_MS },
);
const metricsServer = await serveMetrics(registry, config.METRICS_PORT, probes, config.HOST);
logger.info(
  {
    lanes: { transcribe: transcribeLane, enrich: enrichLane },
    concurrency: config.WORKER_CONCURRENCY,
    enrichConcurrency: enrichLane ? config.ENRICH_CONCURRENCY : 0,
    queue: broker.names.jobsQueue,
    scratch: scratch.dir,
  },
  'worker consuming',
);

async function shutdown(signal: string) {
  logger.info(
    {
      signal,
      inFlight: consumer?.inFlight() ?? 0,
      enrichInFlight: enrichConsumer?.inFlight() ?? 0,
    },
    'draining',
  );
  await Promise.all([consumer?.drain(), enrichConsumer?.drain()]);
  await engines?.close();
  await reaper.stop();
  await relay.stop();
  await broker.close();
  metricsServer.close();
  probes.monitor.stop();
  await db.destroy();
  storage.destroy();
  await rm(scratch.dir, { recursive: true, force: true });
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
