import { once } from 'node:events';
import { loadConfigOrExit, gatewaySchema, storageOptions } from '@transcribe/config';
import { createDb } from '@transcribe/db';
import { connectBroker, startOutboxRelay } from '@transcribe/queue';
import { createStorage } from '@transcribe/storage';
import { createLogger, createRegistry } from '@transcribe/telemetry';
import { createGatewayApp } from './app.js';
import { ensureDevApiKey } from './dev-key.js';

const config = loadConfigOrExit('gateway', gatewaySchema);
const logger = createLogger('gateway', config.LOG_LEVEL);
const db = createDb(config.DATABASE_URL);
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
if (config.DEV_API_KEY) await ensureDevApiKey(db, config.DEV_API_KEY);

const app = createGatewayApp({
  db,
  storage,
  broker,
  relay,
  logger,
  registry: createRegistry('gateway'),
  links: {
    api: config.PUBLIC_URL ?? `http://localhost:${config.GATEWAY_PORT}`,
    events: config.EVENTS_PUBLIC_URL,
  },
  settings: {
    tokenSecret: config.TOKEN_SECRET,
    maxUploadBytes: config.MAX_UPLOAD_BYTES,
    uploadUrlTtlS: config.UPLOAD_URL_TTL_S,
    eventsTokenTtlS: config.EVENTS_TOKEN_TTL_S,
    defaultEngine: 'sphinx',
  },
});
const server = app.listen(config.GATEWAY_PORT);
await once(server, 'listening');
logger.info({ port: config.GATEWAY_PORT }, 'gateway listening');

async function shutdown(signal: string) {
  logger.info({ signal }, 'shutting down');
  server.close();
  server.closeIdleConnections();
  await relay.stop();
  await broker.close();
  await db.destroy();
  storage.destroy();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
