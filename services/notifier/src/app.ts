import { createServer, type Server } from 'node:http';
import { sql } from 'kysely';
import { JobEvent } from '@transcribe/contracts';
import { listJobEvents, type Db } from '@transcribe/db';
import type { MessageHandler } from '@transcribe/queue';
import { Counter, Gauge, type Logger, type Registry } from '@transcribe/telemetry';
import { admit } from './authenticate.js';
import { Hub } from './hub.js';

export interface NotifierDeps {
  db: Db;
  logger: Logger;
  registry: Registry;
  isBrokerConnected: () => boolean;
  settings: { tokenSecret: string; heartbeatMs: number; maxBufferedBytes: number };
}

export interface Notifier {
  server: Server;
  hub: Hub;
  /** Feed for the broker's job.events consumer. */
  onBrokerEvent: MessageHandler;
}

/** The notifier's HTTP server (health, metrics) with the events WebSocket on `/v1/events`. */
export function createNotifier(deps: NotifierDeps): Notifier {
  const connections = new Gauge({
    name: 'notifier_connections',
    help: 'Open WebSocket connections',
    registers: [deps.registry],
  });
  const sent = new Counter({
    name: 'notifier_events_sent_total',
    help: 'Events sent to clients',
    registers: [deps.registry],
  });

  const server = createServer((req, res) => {
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/healthz') return json(200, { status: 'ok' });
    if (req.url === '/readyz') {
      void sql`select 1`
        .execute(deps.db)
        .then(() => deps.isBrokerConnected())
        .catch(() => false)
        .then((ok) => json(ok ? 200 : 503, { status: ok ? 'ok' : 'not_ready' }));
      return;
    }
    if (req.url === '/metrics') {
      void deps.registry
        .metrics()
        .then((body) =>
          res.writeHead(200, { 'content-type': deps.registry.contentType }).end(body),
        );
      return;
    }
    json(404, { error: { code: 'not_found', message: 'not found' } });
  });

  const hub = new Hub({
    server,
    path: '/v1/events',
    admit: (req) => admit(req, deps.db, deps.settings.tokenSecret),
    load: (jobId, after) => listJobEvents(deps.db, jobId, after),
    logger: deps.logger,
    heartbeatMs: deps.settings.heartbeatMs,
    maxBufferedBytes: deps.settings.maxBufferedBytes,
    onConnectionsChange: (n) => connections.set(n),
    onEventSent: () => sent.inc(),
  });

  const onBrokerEvent: MessageHandler = async (body, ctx) => {
    // Events are hints here: Postgres has them all, so a bad one is logged and dropped.
    const parsed = JobEvent.safeParse(safeJson(body));
    if (parsed.success) hub.dispatch(parsed.data);
    else deps.logger.warn({ routingKey: ctx.routingKey }, 'invalid event message dropped');
    ctx.ack();
  };

  return { server, hub, onBrokerEvent };
}

function safeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString());
  } catch {
    return undefined;
  }
}
