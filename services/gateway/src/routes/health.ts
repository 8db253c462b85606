import { Router } from 'express';
import { pingDatabase } from '@transcribe/db';
import { runReadyChecks } from '@transcribe/telemetry';
import type { GatewayDeps } from '../deps.js';

const DEFAULT_READY_TIMEOUT_MS = 2000;

/**
 * `/healthz` is liveness: 503 only when the process is wedged (stalled event loop, a pool
 * stuck with waiters), so the orchestrator restarts it. `/readyz` is readiness: each
 * dependency answers within its own short bound, so a hanging one shows within seconds.
 */
export function healthRouter(deps: GatewayDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    const live = deps.liveness?.() ?? { ok: true };
    if (live.ok) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'wedged', reasons: live.reasons });
  });
  router.get('/readyz', async (_req, res) => {
    const report = await runReadyChecks(
      {
        postgres: () => pingDatabase(deps.db),
        rabbitmq: () => deps.broker.isConnected() || Promise.reject(new Error('disconnected')),
        s3: () => deps.storage.ping(),
      },
      deps.settings.readyCheckTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    );
    res
      .status(report.ok ? 200 : 503)
      .json({ status: report.ok ? 'ok' : 'not_ready', checks: report.checks });
  });
  router.get('/metrics', async (_req, res) => {
    res.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
  return router;
}
