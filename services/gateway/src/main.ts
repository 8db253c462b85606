import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  loadConfigOrExit,
  gatewaySchema,
  postgresOptions,
  storageOptions,
} from '@transcribe/config';
import {
  API_KEY_REVOKED_CHANNEL,
  createDb,
  createPool,
  listenForNotifications,
  poolProbe,
} from '@transcribe/db';
import { connectBroker, startOutboxRelay } from '@transcribe/queue';
import { createStorage } from '@transcribe/storage';
import { createLogger, createRegistry, startLivenessMonitor } from '@transcribe/telemetry';
import { createGatewayApp } from './app.js';
import { createApiKeyCache } from './api-key-cache.js';
import { createAuthThrottle } from './auth-throttle.js';
import { handleClientErrors } from './client-error.js';
import { ensureDevApiKey } from './dev-key.js';
import { createJobEventFeed } from './job-event-feed.js';
import { createRateLimits } from './rate-limit.js';
import { startSweeper } from './sweeper.js';

const config = loadConfigOrExit('gateway', gatewaySchema);
const logger = createLogger('gateway', config.LOG_LEVEL);
const pgOptions = {
  ...postgresOptions(config),
  onError: (err: Error) => logger.warn({ err }, 'postgres connection lost'),
};
const db = createDb(config.DATABASE_URL, { ...pgOptions, max: config.PG_POOL_MAX });
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
// Completion of the jobs requests wait on (OpenAI-compatible route) is pushed, not polled.
const jobEvents = createJobEventFeed(logger);
broker
  .consumeAllEvents(jobEvents.onBrokerEvent, jobEvents.onSubscribed)
  .catch((err: unknown) => logger.error({ err }, 'job events subscription failed'));
if (config.DEV_API_KEY) await ensureDevApiKey(db, config.DEV_API_KEY);
// Rate-limit counters live in Postgres (shared by replicas) on a small pool of their own.
const rateLimitPool = createPool(config.DATABASE_URL, { ...pgOptions, max: 2 }, 'rate-limit');
const rateLimits = createRateLimits(
  rateLimitPool,
  { jobs: config.RATE_LIMIT_JOBS_PER_MIN, uploads: config.RATE_LIMIT_UPLOADS_PER_MIN },
  { syncMs: config.RATE_LIMIT_SYNC_MS, logger },
);
// Keys resolved from memory; a revocation (CLI) is heard through Postgres NOTIFY at once.
const apiKeys = createApiKeyCache(db, { ttlMs: config.API_KEY_CACHE_TTL_MS });
const revocations = listenForNotifications(config.DATABASE_URL, {
  channel: API_KEY_REVOKED_CHANNEL,
  onNotification: (keyHash) => apiKeys.revoked(keyHash),
  // Revocations announced while the connection was down were missed: start afresh.
  onListening: () => apiKeys.clear(),
  onError: (err) => logger.warn({ err }, 'api key revocation feed'),
});
const liveness = startLivenessMonitor({
  stallMs: config.LIVENESS_STALL_MS,
  pools: [poolProbe(db), poolProbe(rateLimitPool)].filter((p) => p !== undefined),
});
const sweeper = startSweeper({
  db,
  storage,
  logger,
  retentionDays: config.RETENTION_DAYS,
  intervalMs: config.SWEEP_INTERVAL_S * 1000,
});

const app = createGatewayApp({
  db,
  storage,
  broker,
  relay,
  logger,
  registry: createRegistry('gateway'),
  liveness: () => liveness.check(),
  jobEvents: jobEvents.feed,
  authThrottle:
    config.AUTH_FAILURES_PER_MIN > 0
      ? createAuthThrottle({ perMinute: config.AUTH_FAILURES_PER_MIN })
      : undefined,
  links: {
    api: config.PUBLIC_URL ?? `http://localhost:${config.GATEWAY_PORT}`,
    events: config.EVENTS_PUBLIC_URL,
  },
  rateLimits,
  apiKeys,
  settings: {
    tokenSecret: config.TOKEN_SECRET,
    stallAfterS: config.STALL_AFTER_S,
    maxUploadBytes: config.MAX_UPLOAD_BYTES,
    maxFormUploadBytes: config.MAX_FORM_UPLOAD_BYTES,
    uploadUrlTtlS: config.UPLOAD_URL_TTL_S,
    multipartTtlS: config.MULTIPART_TTL_S,
    eventsTokenTtlS: config.EVENTS_TOKEN_TTL_S,
    engines: config.ENGINES,
    engineLanguages: {
      SPHINX_LANGUAGE: config.SPHINX_LANGUAGE,
      WHISPER_MODEL_PATH: config.WHISPER_MODEL_PATH,
      OPENAI_LANGUAGES: config.OPENAI_LANGUAGES,
    },
    readyCheckTimeoutMs: config.READY_CHECK_TIMEOUT_MS,
    tenantMaxAudioSPerDay: config.TENANT_MAX_AUDIO_S_PER_DAY,
    tenantMaxQueuedJobs: config.TENANT_MAX_QUEUED_JOBS,
    tenantMaxConcurrentJobs: config.TENANT_MAX_CONCURRENT_JOBS,
    openaiModelAliases: config.OPENAI_MODEL_ALIASES,
    syncWaitS: config.SYNC_WAIT_S,
    enrichmentsAvailable: config.ENRICH_BASE_URL !== undefined,
    corsOrigins: config.CORS_ORIGINS,
    trustProxy: config.TRUST_PROXY,
    webhookAllowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
    webhookDnsTimeoutMs: config.WEBHOOK_DNS_TIMEOUT_MS,
    // dist/main.js → dist/ui, the web app built by Vite (`pnpm build`; shipped with dist).
    uiDir: fileURLToPath(new URL('./ui', import.meta.url)),
    storageOrigin: storageOrigin(storageOptions(config)),
  },
});
const server = app.listen(config.GATEWAY_PORT, config.HOST);
// Idle keep-alive longer than a load balancer's (60 s on most), which must close first.
server.keepAliveTimeout = 65_000;
handleClientErrors(server, logger);
await once(server, 'listening');
logger.info({ port: config.GATEWAY_PORT }, 'gateway listening');

async function shutdown(signal: string) {
  logger.info({ signal }, 'shutting down');
  server.close();
  server.closeIdleConnections();
  await sweeper.stop();
  await revocations.stop();
  await relay.stop();
  await broker.close();
  liveness.stop();
  // What was counted since the last sync is shared before the pool goes.
  await Promise.all(Object.values(rateLimits).map((limit) => limit.close()));
  await rateLimitPool.end();
  await db.destroy();
  storage.destroy();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

/** Where presigned URLs point: the public endpoint, the endpoint, or AWS S3 itself. */
function storageOrigin(options: { endpoint?: string; publicEndpoint?: string }): string {
  const endpoint = options.publicEndpoint ?? options.endpoint;
  return endpoint ? new URL(endpoint).origin : 'https://*.amazonaws.com';
}
