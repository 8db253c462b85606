import { createServer, type Server, type ServerResponse } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';

import type { LivenessReport } from './liveness.js';
import type { ReadinessReport } from './readiness.js';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A registry per service instance (not the global one), so in-process tests don't collide. */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface ProbeHandlers {
  /** `/readyz`; default always ready. */
  ready?: () => Promise<ReadinessReport> | boolean;
  /** `/healthz`; default always live. */
  live?: () => LivenessReport;
}

/**
 * A tiny HTTP server for services without one of their own (the worker): `/metrics` for
 * Prometheus, `/healthz` for liveness (503 when wedged), `/readyz` from the caller's checks.
 */
export function serveMetrics(
  registry: Registry,
  port: number,
  probes: ProbeHandlers = {},
  host?: string,
): Promise<Server> {
  const json = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    } else if (req.url === '/healthz') {
      const live = probes.live?.() ?? { ok: true };
      if (live.ok) json(res, 200, { status: 'ok' });
      else json(res, 503, { status: 'wedged', reasons: live.reasons });
    } else if (req.url === '/readyz') {
      void Promise.resolve(probes.ready?.() ?? true).then(
        (ready) => {
          const report = typeof ready === 'boolean' ? { ok: ready } : ready;
          json(res, report.ok ? 200 : 503, {
            status: report.ok ? 'ok' : 'not_ready',
            ...('checks' in report ? { checks: report.checks } : {}),
          });
        },
        () => json(res, 503, { status: 'not_ready' }),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
