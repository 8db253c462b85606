import { randomUUID } from 'node:crypto';
import cors from 'cors';
import express, { type Express } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import { Histogram } from '@transcribe/telemetry';
import { createApiKeyCache } from './api-key-cache.js';
import { requireApiKey } from './auth.js';
import type { GatewayDeps } from './deps.js';
import { errorHandler, notFoundHandler } from './error-handler.js';
import { createJobMetrics } from './metrics.js';
import { docsRouter } from './routes/docs.js';
import { enrichmentsRouter } from './routes/enrichments.js';
import { formUploadRouter } from './routes/form-upload.js';
import { healthRouter } from './routes/health.js';
import { jobsRouter } from './routes/jobs.js';
import { mediaRouter } from './routes/media.js';
import { JOB_ID_HEADER, openAIAudioRouter } from './routes/openai-audio.js';
import { uiRouter } from './routes/ui.js';
import { uploadsRouter } from './routes/uploads.js';
import { usageRouter } from './routes/usage.js';
import { webhooksRouter } from './routes/webhooks.js';

export function createGatewayApp(given: GatewayDeps): Express {
  const deps = { ...given, apiKeys: given.apiKeys ?? createApiKeyCache(given.db, { ttlMs: 0 }) };
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.settings.trustProxy ?? 'loopback, linklocal, uniquelocal');

  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [deps.registry],
  });

  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id =
          typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/metrics' },
      // A request's line says which request and how it ended, not every header it carried:
      // serialising all headers was 5 % of a job creation's CPU (issue 18), and credentials
      // then never come near a log line.
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use((req, res, next) => {
    const end = requestDuration.startTimer();
    res.on('finish', () => {
      // The route pattern, not the URL, keeps label cardinality bounded.
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  });
  // Defaults plus what the UI and the API reference need: their own scripts, inline styles,
  // and a WebSocket to the notifier.
  const eventsOrigin = new URL(deps.links.events).origin.replace(/^http/, 'ws');
  // Presigned uploads and the player's recording go straight to S3.
  const storage = deps.settings.storageOrigin ? [deps.settings.storageOrigin] : [];
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          'script-src': ["'self'"],
          'style-src': ["'self'", "'unsafe-inline'"],
          'img-src': ["'self'", 'data:', 'blob:'],
          'connect-src': ["'self'", eventsOrigin, ...storage],
          'media-src': ["'self'", 'blob:', ...storage],
        },
      },
      referrerPolicy: { policy: 'no-referrer' },
      frameguard: { action: 'deny' },
    }),
  );
  const origins = deps.settings.corsOrigins;
  if (origins?.length) {
    app.use(
      cors({
        origin: origins.includes('*') ? '*' : [...origins],
        allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id'],
        exposedHeaders: [
          'location',
          'x-request-id',
          'retry-after',
          'idempotent-replayed',
          'transcript-complete',
          JOB_ID_HEADER,
        ],
        maxAge: 600,
      }),
    );
  }
  // A scrape waits for Postgres no longer than a readiness check does.
  const jobMetrics = createJobMetrics(deps.registry, deps.db, deps.settings.stallAfterS, {
    readTimeoutMs: deps.settings.readyCheckTimeoutMs,
    broker: deps.broker,
  });

  app.use(healthRouter(deps));
  app.use(docsRouter());
  if (deps.settings.uiDir) {
    app.use(uiRouter(deps.settings.uiDir, { ...deps.settings, eventsUrl: deps.links.events }));
  }
  // OpenAI's audio API answers in OpenAI's shapes, errors included: before our own /v1 stack.
  app.use(openAIAudioRouter(deps, jobMetrics));
  app.use('/v1', express.json({ limit: '64kb' }), requireApiKey(deps.apiKeys, deps.authThrottle));
  app.use(uploadsRouter(deps));
  app.use(formUploadRouter(deps, jobMetrics));
  app.use(jobsRouter(deps, jobMetrics));
  app.use(mediaRouter(deps));
  app.use(enrichmentsRouter(deps));
  app.use(webhooksRouter(deps));
  app.use(usageRouter(deps));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
