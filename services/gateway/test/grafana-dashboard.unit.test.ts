// The Grafana dashboard shipped with the manifests (k8s/grafana): valid JSON in the shape
// Grafana loads, and every metric its queries name is one the gateway or the worker really
// registers (a renamed metric would otherwise leave an empty panel that nobody notices).
// Its ConfigMap is checked with the manifests (packages/deploy-check/test/kubernetes.test.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDb } from '@transcribe/db';
import { topologyNames } from '@transcribe/queue';
import { createLogger, createRegistry, Histogram, type Registry } from '@transcribe/telemetry';
import { repoRoot } from '../../../packages/testkit/src/repo.js';
import { createWorkerMetrics } from '../../worker/src/metrics.js';
import { createGatewayApp } from '../src/app.js';
import type { GatewayDeps } from '../src/deps.js';

interface Panel {
  type: string;
  title: string;
  id: number;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string; legendFormat?: string }[];
  gridPos: { x: number; y: number; w: number; h: number };
}

const file = join(repoRoot(), 'k8s/grafana/transcribe-dashboard.json');
const dashboard = JSON.parse(readFileSync(file, 'utf8')) as {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string }[] };
};
const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p, ...t })));

// Words of PromQL that are not metric names.
const PROMQL = new Set(
  (
    'sum min max avg count stddev stdvar topk bottomk quantile count_values group by without on ' +
    'ignoring group_left group_right bool and or unless offset rate irate increase delta idelta ' +
    'deriv histogram_quantile abs ceil floor round clamp clamp_min clamp_max label_replace ' +
    'label_join time vector scalar absent absent_over_time sum_over_time avg_over_time ' +
    'max_over_time min_over_time count_over_time last_over_time sort sort_desc inf nan'
  ).split(' '),
);

/** The metric names a PromQL expression selects: label matchers, groupings, ranges and strings left out. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/[a-zA-Z_:][\w:]*/g)]
    .map((m) => m[0])
    .filter((word) => !PROMQL.has(word.toLowerCase()) && !/^\$/.test(word));
}

/** Every sample name a registry exposes: counters and gauges as named, histograms' three series. */
function sampleNames(registry: Registry): Set<string> {
  const names = new Set<string>();
  for (const metric of registry.getMetricsAsArray()) {
    const { name } = metric as unknown as { name: string };
    if (metric instanceof Histogram) {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    } else names.add(name);
  }
  return names;
}

/** What the gateway and the worker register (the app is built, never started or queried). */
function registeredNames(): Set<string> {
  const gateway = createRegistry('gateway');
  const db = createDb('postgres://nobody@127.0.0.1:1/none');
  createGatewayApp({
    db,
    registry: gateway,
    logger: createLogger('dashboard-test', 'silent'),
    storage: {} as GatewayDeps['storage'],
    broker: {
      isConnected: () => false,
      names: topologyNames(''),
      messageCount: () => Promise.reject(new Error('not connected')),
    },
    relay: { kick: () => undefined },
    links: { api: 'http://localhost', events: 'http://localhost:8081' } as GatewayDeps['links'],
    settings: {
      tokenSecret: 'x'.repeat(32),
      engines: ['sphinx'],
    } as unknown as GatewayDeps['settings'],
  });
  void db.destroy();
  const worker = createRegistry('worker');
  createWorkerMetrics(worker);
  return new Set([...sampleNames(gateway), ...sampleNames(worker)]);
}

it('is a dashboard Grafana loads: uid, title, a Prometheus datasource variable, unique panel ids', () => {
  expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
  expect(dashboard.title).toBeTruthy();
  expect(dashboard.templating.list).toContainEqual(
    expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
  );
  const ids = dashboard.panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
    expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    expect(panel.targets?.length).toBeGreaterThan(0);
    expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
    const refIds = panel.targets!.map((t) => t.refId);
    expect(new Set(refIds).size).toBe(refIds.length);
  }
});

it('shows what operators asked for: lanes, outcomes, queue wait, processing time, HTTP', () => {
  const all = queries.map((q) => q.expr).join('\n');
  for (const name of [
    'transcribe_queue_depth',
    'transcribe_queue_oldest_age_seconds',
    'worker_jobs_total',
    'worker_job_queue_wait_seconds_bucket',
    'worker_tenant_queue_wait_seconds_bucket',
    'worker_job_processing_seconds_bucket',
    'transcribe_jobs',
    'transcribe_jobs_stalled',
    'worker_jobs_in_flight',
    'http_request_duration_seconds_bucket',
    'http_request_duration_seconds_count',
  ]) {
    expect(all).toMatch(new RegExp(`\\b${name}\\b`));
  }
});

it('names only metrics the services register', () => {
  const registered = registeredNames();
  const unknown = queries.flatMap((q) =>
    metricNames(q.expr)
      .filter((name) => !registered.has(name))
      .map((name) => `${q.panel.title} (${q.refId}): ${name}`),
  );
  expect(unknown).toEqual([]);
});

it('reads metric names out of PromQL', () => {
  expect(
    metricNames(
      'histogram_quantile(0.95, sum by (le, tenant) (rate(a_bucket{x="y",le!="1"}[$__rate_interval]))) / max(b) * 60',
    ),
  ).toEqual(['a_bucket', 'b']);
});
