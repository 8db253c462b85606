import { once } from 'node:events';
import { loadConfigOrExit, notifierSchema, postgresOptions } from '@transcribe/config';
import { createDb, poolProbe } from '@transcribe/db';
import { connectBroker } from '@transcribe/queue';
import { createLogger, createRegistry, startLivenessMonitor } from '@transcribe/telemetry';
import { createNotifier } from './app.js';
import { followJobDeletions } from './deletion-feed.js';
import { startWebhookDispatcher } from './webhooks/dispatcher.js';
import { webhookIntake } from './webhooks/intake.js';
import { consumeWebhookQueue } from './webhooks/queue.js';

const config = loadConfigOrExit('notifier', notifierSchema);
const logger = createLogger('notifier', config.LOG_LEVEL);
const registry = createRegistry('notifier');
const db = createDb(config.DATABASE_URL, {
  ...postgresOptions(config),
  onError: (err) => logger.warn({ err }, 'postgres connection lost'),
});
const liveness = startLivenessMonitor({
  stallMs: config.LIVENESS_STALL_MS,
  pools: [poolProbe(db)].filter((p) => p !== undefined),
});
const broker = connectBroker({
  url: config.AMQP_URL,
  prefix: config.AMQP_PREFIX,
  onError: (err) => logger.warn({ err }, 'rabbitmq'),
});
const dispatcher = startWebhookDispatcher({
  db,
  logger: logger.child({ component: 'webhooks' }),
  registry,
  settings: {
    pollMs: config.WEBHOOK_POLL_MS,
    concurrency: config.WEBHOOK_CONCURRENCY,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    backoffBaseMs: config.WEBHOOK_BACKOFF_BASE_MS,
    backoffMaxMs: config.WEBHOOK_BACKOFF_MAX_MS,
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
    breakerThreshold: config.WEBHOOK_BREAKER_THRESHOLD,
    breakerCooldownMs: config.WEBHOOK_BREAKER_COOLDOWN_MS,
  },
});
if (config.WEBHOOK_ALLOW_PRIVATE)
  logger.warn('WEBHOOK_ALLOW_PRIVATE: webhooks may reach private addresses');
const webhookQueue = await consumeWebhookQueue({
  url: config.AMQP_URL,
  prefix: config.AMQP_PREFIX,
  prefetch: 32,
  handler: webhookIntake({
    db,
    logger,
    publicApiUrl: config.PUBLIC_API_URL,
    maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
    onQueued: () => dispatcher.kick(),
  }),
  onError: (err) => logger.warn({ err }, 'rabbitmq (webhooks)'),
});
const notifier = createNotifier({
  db,
  logger,
  registry,
  isBrokerConnected: () => broker.isConnected() && webhookQueue.isConnected(),
  liveness: () => liveness.check(),
  settings: {
    tokenSecret: config.TOKEN_SECRET,
    heartbeatMs: config.WS_HEARTBEAT_MS,
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    writeDelayMs: config.WS_WRITE_DELAY_MS,
    headKeepMs: config.WS_JOB_HEAD_KEEP_MS,
    maxConnectionsPerTenant: config.WS_MAX_CONNECTIONS_PER_TENANT,
    publicApiUrl: config.PUBLIC_API_URL,
    readyCheckTimeoutMs: config.READY_CHECK_TIMEOUT_MS,
  },
});
// A deleted job's subscribers are told at once, and its kept head is dropped.
const deletions = followJobDeletions(notifier, config.DATABASE_URL, {
  onError: (err) => logger.warn({ err }, 'job deletion feed'),
});
await broker.consumeAllEvents(notifier.onBrokerEvent, () => notifier.hub.resyncAll());
notifier.server.listen(config.NOTIFIER_PORT, config.HOST);
await once(notifier.server, 'listening');
logger.info({ port: config.NOTIFIER_PORT }, 'notifier listening');

async function shutdown(signal: string) {
  logger.info({ signal }, 'shutting down');
  // 1001 first: clients reconnect to another replica while this one finishes its work.
  notifier.hub.close();
  notifier.server.close();
  await webhookQueue.close();
  await dispatcher.stop();
  await broker.close();
  await deletions.stop();
  liveness.stop();
  await db.destroy();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
