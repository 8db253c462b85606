import { once } from 'node:events';
import { loadConfigOrExit, notifierSchema } from '@transcribe/config';
import { createDb } from '@transcribe/db';
import { connectBroker } from '@transcribe/queue';
import { createLogger, createRegistry } from '@transcribe/telemetry';
import { createNotifier } from './app.js';

const config = loadConfigOrExit('notifier', notifierSchema);
const logger = createLogger('notifier', config.LOG_LEVEL);
const db = createDb(config.DATABASE_URL);
const broker = connectBroker({
  url: config.AMQP_URL,
  prefix: config.AMQP_PREFIX,
  onError: (err) => logger.warn({ err }, 'rabbitmq'),
});
const notifier = createNotifier({
  db,
  logger,
  registry: createRegistry('notifier'),
  isBrokerConnected: () => broker.isConnected(),
  settings: {
    tokenSecret: config.TOKEN_SECRET,
    heartbeatMs: config.WS_HEARTBEAT_MS,
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
  },
});
await broker.consumeAllEvents(notifier.onBrokerEvent, () => notifier.hub.resyncAll());
notifier.server.listen(config.NOTIFIER_PORT);
await once(notifier.server, 'listening');
logger.info({ port: config.NOTIFIER_PORT }, 'notifier listening');

async function shutdown(signal: string) {
  logger.info({ signal }, 'shutting down');
  notifier.hub.close();
  notifier.server.close();
  await broker.close();
  await db.destroy();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
