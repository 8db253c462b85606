import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import { Histogram } from '@transcribe/telemetry';
import { requireApiKey } from './auth.js';
import type { GatewayDeps } from './deps.js';
import { errorHandler, notFoundHandler } from './error-handler.js';
import { healthRouter } from './routes/health.js';
import { jobsRouter } from './routes/jobs.js';
import { uploadsRouter } from './routes/uploads.js';

export function createGatewayApp(deps: GatewayDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);

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
  app.use((_req, res, next) => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('referrer-policy', 'no-referrer');
    next();
  });

  app.use(healthRouter(deps));
  app.use('/v1', express.json({ limit: '64kb' }), requireApiKey(deps.db));
  app.use(uploadsRouter(deps));
  app.use(jobsRouter(deps));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
