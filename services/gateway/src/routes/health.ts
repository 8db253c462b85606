import { Router } from 'express';
import { sql } from 'kysely';
import type { GatewayDeps } from '../deps.js';

async function check(fn: () => Promise<unknown>): Promise<'ok' | string> {
  try {
    await fn();
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.message || error.name : 'failed';
  }
}

export function healthRouter(deps: GatewayDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks = {
      postgres: await check(() => sql`select 1`.execute(deps.db)),
      rabbitmq: deps.broker.isConnected() ? 'ok' : 'disconnected',
      s3: await check(() => deps.storage.ping()),
    };
    const ok = Object.values(checks).every((c) => c === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'not_ready', checks });
  });
  router.get('/metrics', async (_req, res) => {
    res.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
  return router;
}
