import { createServer, type Server } from 'node:http';
import { JobEvent, type EventFrame } from '@transcribe/contracts';
import {
  currentTenantCursor,
  findJobEventHead,
  findTenantEventHorizon,
  listJobEvents,
  listTenantEvents,
  pingDatabase,
  type Db,
} from '@transcribe/db';
import type { MessageHandler } from '@transcribe/queue';
import {
  Counter,
  Gauge,
  runReadyChecks,
  type LivenessReport,
  type Logger,
  type Registry,
} from '@transcribe/telemetry';
import { admit, type EventsRequest } from './authenticate.js';
import { EtaEstimator } from './eta.js';
import { Hub } from './hub.js';
import { sharedHeadReads } from './job-heads.js';
import { jobLinks } from './links.js';
import { safeJson } from './json.js';
import { serveSse } from './sse.js';

export interface NotifierSettings {
  tokenSecret: string;
  heartbeatMs: number;
  maxBufferedBytes: number;
  writeDelayMs?: number;
  /** How long a job's head read at admission answers later admissions (see sharedHeadReads). */
  headKeepMs?: number;
  /** Default 1000. */
  maxConnectionsPerTenant?: number;
  /** Bound of each `/readyz` check; default 2000 ms. */
  readyCheckTimeoutMs?: number;
  /** The gateway's public base URL, for links in completed events. Default http://localhost:8080. */
  publicApiUrl?: string;
}

export interface NotifierDeps {
  db: Db;
  logger: Logger;
  registry: Registry;
  isBrokerConnected: () => boolean;
  settings: NotifierSettings;
  /** `/healthz`: undefined is always live (see startLivenessMonitor). */
  liveness?: () => LivenessReport;
}

export interface Notifier {
  server: Server;
  hub: Hub;
  /** Feed for the broker's job.events consumer. */
  onBrokerEvent: MessageHandler;
  /** Feed for JOB_DELETED_CHANNEL: `<tenantId>/<jobId>` of each deleted job. */
  onJobDeleted: (payload: string) => void;
  /** The deletion feed (re)started listening: what it missed meanwhile is unknown. */
  onDeletionFeedStarted: () => void;
}

export const EVENTS_PATH = '/v1/events';
export const SSE_PATH = '/v1/events/sse';

/** The notifier's HTTP server: health, metrics, the events WebSocket and its SSE sibling. */
export function createNotifier(deps: NotifierDeps): Notifier {
  const connections = new Gauge({
    name: 'notifier_connections',
    help: 'Open event streams (WebSocket and SSE)',
    registers: [deps.registry],
  });
  const sent = new Counter({
    name: 'notifier_events_sent_total',
    help: 'Events sent to clients',
    registers: [deps.registry],
  });
  const publicApiUrl = deps.settings.publicApiUrl ?? 'http://localhost:8080';
  const eta = new EtaEstimator();
  const heads = sharedHeadReads(
    (tenantId, jobId) => findJobEventHead(deps.db, tenantId, jobId),
    () => hub.mark(),
    { keepMs: deps.settings.headKeepMs ?? 0 },
  );
  const admitRequest = (request: EventsRequest) =>
    admit(request, deps.db, deps.settings.tokenSecret, heads.read);

  const server = createServer((req, res) => {
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === SSE_PATH) {
      void serveSse(req, res, { hub, admit: admitRequest, logger: deps.logger });
      return;
    }
    if (path === '/healthz') {
      // Liveness: 503 only when wedged (stalled loop, stuck pool), so the process is restarted.
      const live = deps.liveness?.() ?? { ok: true };
      return live.ok
        ? json(200, { status: 'ok' })
        : json(503, { status: 'wedged', reasons: live.reasons });
    }
    if (path === '/readyz') {
      // Each check bounded: a hanging Postgres shows as not ready within seconds.
      void runReadyChecks(
        {
          postgres: () => pingDatabase(deps.db),
          rabbitmq: () => deps.isBrokerConnected() || Promise.reject(new Error('disconnected')),
        },
        deps.settings.readyCheckTimeoutMs ?? 2000,
      ).then((report) =>
        json(report.ok ? 200 : 503, {
          status: report.ok ? 'ok' : 'not_ready',
          checks: report.checks,
        }),
      );
      return;
    }
    if (path === '/metrics') {
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
    path: EVENTS_PATH,
    admit: admitRequest,
    load: (jobId, after) => listJobEvents(deps.db, jobId, after),
    loadTenant: (tenantId, after) => listTenantEvents(deps.db, tenantId, after),
    currentCursor: () => currentTenantCursor(deps.db),
    eventHorizon: (tenantId) => findTenantEventHorizon(deps.db, tenantId),
    decorate: (event): Partial<EventFrame> => {
      const etaS = eta.observe(event);
      if (etaS !== undefined) return { etaS };
      if (event.type === 'completed') {
        const links = jobLinks(publicApiUrl, event.jobId);
        return { links: { job: links.job, transcript: links.transcript } };
      }
      return {};
    },
    logger: deps.logger,
    heartbeatMs: deps.settings.heartbeatMs,
    maxBufferedBytes: deps.settings.maxBufferedBytes,
    writeDelayMs: deps.settings.writeDelayMs,
    maxConnectionsPerTenant: deps.settings.maxConnectionsPerTenant ?? 1000,
    onConnectionsChange: (n) => connections.set(n),
    onEventsSent: (count) => sent.inc(count),
  });

  const onBrokerEvent: MessageHandler = async (body, ctx) => {
    // Events are hints here: Postgres has them all, so a bad one is logged and dropped.
    const parsed = JobEvent.safeParse(safeJson(body));
    if (parsed.success) hub.dispatch(parsed.data);
    else deps.logger.warn({ routingKey: ctx.routingKey }, 'invalid event message dropped');
    ctx.ack();
  };

  const onJobDeleted = (payload: string) => {
    const [tenantId, jobId] = payload.split('/');
    if (!tenantId || !jobId) return;
    heads.forget(tenantId, jobId);
    hub.jobDeleted(jobId);
  };

  return { server, hub, onBrokerEvent, onJobDeleted, onDeletionFeedStarted: heads.clear };
}
