// k8s/ checked without a cluster: each overlay rendered by the real kustomize (kubectl's),
// every object validated against the Kubernetes and KEDA schemas, then what a schema
// cannot say: probes, resources, security context, selectors that select, ports and env
// that the services' config schemas accept, a drain that fits in the grace period.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import type {
  IScaledObject,
  ITriggerAuthentication,
} from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { parseEnv } from '@transcribe/config';
import { topologyNames } from '@transcribe/queue';
import {
  findRenderer,
  render,
  validateObject,
  type K8sObject,
  type Rendered,
} from '../src/index.js';
import { root, services, workerGraceSeconds } from './support.js';

const k8s = join(root, 'k8s');
const NAMESPACE = 'transcribe';
const secretTemplate = parse(readFileSync(join(k8s, 'secret.template.yaml'), 'utf8')) as ISecret &
  K8sObject;

const renderer = findRenderer();
const variants: Record<string, Rendered> = {};
let scratch: string;

beforeAll(async () => {
  if (!renderer) {
    throw new Error('kustomize is needed: kubectl ≥ 1.27 or kustomize 5 (scripts/setup.sh)');
  }
  // The HPA alternative, as an operator would use it: base plus components/worker-hpa.
  scratch = mkdtempSync(join(tmpdir(), 'worker-hpa-'));
  const rel = relative(scratch, k8s);
  writeFileSync(
    join(scratch, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      `namespace: ${NAMESPACE}`,
      `resources: [${rel}/base]`,
      `components: [${rel}/components/worker-hpa]`,
    ].join('\n'),
  );
  const [dev, prod, hpa] = await Promise.all([
    render(renderer, join(k8s, 'overlays/dev')),
    render(renderer, join(k8s, 'overlays/prod')),
    render(renderer, scratch),
  ]);
  Object.assign(variants, { dev, prod, 'base + worker-hpa': hpa });
}, 60_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function all<T>(name: string, kind: string): (T & K8sObject)[] {
  return (variants[name]?.objects ?? []).filter((o) => o.kind === kind) as (T & K8sObject)[];
}
function one<T>(name: string, kind: string, objectName: string): T & K8sObject {
  const found = all<T>(name, kind).filter((o) => o.metadata.name === objectName);
  if (found.length !== 1) throw new Error(`${name}: ${found.length} ${kind}/${objectName}`);
  return found[0] as T & K8sObject;
}
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The environment a container starts with: envFrom ConfigMaps and Secrets, then env. */
function containerEnv(name: string, container: IContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      Object.assign(env, one<IConfigMap>(name, 'ConfigMap', from.configMapRef.name ?? '').data);
    } else if (from.secretRef) {
      const secretName = from.secretRef.name ?? '';
      const rendered = all<ISecret>(name, 'Secret').find((s) => s.metadata.name === secretName);
      if (rendered) {
        for (const [k, v] of Object.entries(rendered.data ?? {})) {
          env[k] = Buffer.from(v, 'base64').toString('utf8');
        }
      } else {
        // Not in the overlay: the operator creates it from the template.
        expect(secretName).toBe(secretTemplate.metadata.name);
        Object.assign(env, secretTemplate.stringData);
      }
    }
  }
  for (const e of container.env ?? []) env[e.name] = e.value ?? '';
  return env;
}

function podOf(workload: IDeployment | IJob): IPodSpec {
  const spec = workload.spec?.template.spec;
  if (!spec) throw new Error('no pod spec');
  return spec;
}

function probePort(probe: IProbe | undefined, container: IContainer): number | undefined {
  const port = probe?.httpGet?.port;
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

const overlayNames = ['dev', 'prod', 'base + worker-hpa'];

describe.each(overlayNames)('k8s %s', (name) => {
  it('renders with kustomize, without warnings', () => {
    expect(variants[name]?.objects.length).toBeGreaterThan(10);
    expect(variants[name]?.warnings).toBe('');
  });

  it('validates every object against the Kubernetes and KEDA schemas', () => {
    for (const object of variants[name]?.objects ?? []) {
      expect(() => validateObject(object)).not.toThrow();
    }
  });

  it('puts everything in one namespace, names unique per kind', () => {
    const seen = new Set<string>();
    for (const o of variants[name]?.objects ?? []) {
      if (o.kind === 'Namespace') expect(o.metadata.name).toBe(NAMESPACE);
      else
        expect({ o: `${o.kind}/${o.metadata.name}`, ns: o.metadata.namespace }).toEqual({
          o: `${o.kind}/${o.metadata.name}`,
          ns: NAMESPACE,
        });
      const key = `${o.kind}/${o.metadata.name}`;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
    }
  });

  it('has selectors that select: Deployments, Services, PDBs, autoscalers', () => {
    const deployments = all<IDeployment>(name, 'Deployment');
    for (const d of deployments) {
      expect(matches(d.spec?.selector.matchLabels ?? {}, d.spec?.template.metadata?.labels)).toBe(
        true,
      );
    }
    const selected = (selector: Record<string, string>) =>
      deployments.filter((d) => matches(selector, d.spec?.template.metadata?.labels));
    for (const svc of all<IService>(name, 'Service')) {
      const targets = selected(svc.spec?.selector ?? {});
      expect({ svc: svc.metadata.name, targets: targets.length }).toEqual({
        svc: svc.metadata.name,
        targets: 1,
      });
      const ports = podOf(targets[0] as IDeployment).containers.flatMap((c) => c.ports ?? []);
      for (const p of svc.spec?.ports ?? []) {
        const target = p.targetPort ?? p.port;
        expect(ports.some((cp) => cp.name === target || cp.containerPort === target)).toBe(true);
      }
    }
    for (const pdb of all<IPodDisruptionBudget>(name, 'PodDisruptionBudget')) {
      expect(selected(pdb.spec?.selector?.matchLabels ?? {})).toHaveLength(1);
    }
    const scaled = [
      ...all<IHorizontalPodAutoscaler>(name, 'HorizontalPodAutoscaler').map(
        (h) => h.spec?.scaleTargetRef.name,
      ),
      ...all<IScaledObject>(name, 'ScaledObject').map((s) => s.spec.scaleTargetRef.name),
    ];
    // One autoscaler per Deployment, each aimed at one that exists.
    expect(new Set(scaled).size).toBe(scaled.length);
    for (const target of scaled) expect(deployments.map((d) => d.metadata.name)).toContain(target);
    // An autoscaled Deployment leaves its replica count to the autoscaler.
    for (const d of deployments.filter((d) => scaled.includes(d.metadata.name))) {
      expect({ d: d.metadata.name, replicas: d.spec?.replicas }).toEqual({
        d: d.metadata.name,
        replicas: undefined,
      });
    }
  });

  it('refers only to ConfigMaps and Secrets that exist or are documented', () => {
    const configMaps = all<IConfigMap>(name, 'ConfigMap').map((c) => c.metadata.name);
    const secrets = [
      ...all<ISecret>(name, 'Secret').map((s) => s.metadata.name),
      secretTemplate.metadata.name,
    ];
    for (const w of [...all<IDeployment>(name, 'Deployment'), ...all<IJob>(name, 'Job')]) {
      for (const c of podOf(w).containers) {
        for (const from of c.envFrom ?? []) {
          if (from.configMapRef) expect(configMaps).toContain(from.configMapRef.name);
          if (from.secretRef) expect(secrets).toContain(from.secretRef.name);
        }
      }
    }
  });

  it.each(services)('$name: env accepted by its config schema, ports and probes agree', (svc) => {
    const deployment = one<IDeployment>(name, 'Deployment', svc.name);
    const pod = podOf(deployment);
    expect(pod.containers).toHaveLength(1);
    const container = pod.containers[0] as IContainer;
    const config = parseEnv(svc.schema, containerEnv(name, container)) as Record<string, unknown>;

    expect(container.ports?.map((p) => p.containerPort)).toEqual([config[svc.portVar]]);
    const probes = {
      startup: container.startupProbe,
      readiness: container.readinessProbe,
      liveness: container.livenessProbe,
    };
    expect(probes.startup?.httpGet?.path).toBe('/healthz');
    expect(probes.readiness?.httpGet?.path).toBe('/readyz');
    expect(probes.liveness?.httpGet?.path).toBe('/healthz');
    for (const probe of Object.values(probes)) {
      expect(probePort(probe, container)).toBe(config[svc.portVar]);
    }
    // Prometheus scrapes the same port.
    expect(deployment.spec?.template.metadata?.annotations?.['prometheus.io/port']).toBe(
      String(config[svc.portVar]),
    );
  });

  it.each(services)('$name: resources, restricted security context, writable scratch', (svc) => {
    const pod = podOf(one<IDeployment>(name, 'Deployment', svc.name));
    const container = pod.containers[0] as IContainer;
    for (const kind of ['requests', 'limits'] as const) {
      expect(container.resources?.[kind]?.memory).toBeDefined();
    }
    expect(container.resources?.requests?.cpu).toBeDefined();
    expectRestricted(pod, container);

    const config = parseEnv(svc.schema, containerEnv(name, container)) as Record<string, unknown>;
    const emptyDirs = new Set((pod.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name));
    const writable = (container.volumeMounts ?? [])
      .filter((m) => emptyDirs.has(m.name))
      .map((m) => m.mountPath);
    expect(writable).toContain('/tmp');
    if (svc.name === 'worker') {
      const tmp = String(config.TMP_DIR);
      expect(writable.some((m) => tmp === m || tmp.startsWith(`${m}/`))).toBe(true);
      // The drain must end before the kubelet's SIGKILL.
      expect(pod.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(workerGraceSeconds(config));
    }
  });

  it('runs migrations in a Job from the gateway image, with the database URL', () => {
    const job = one<IJob>(name, 'Job', 'migrate');
    const pod = podOf(job);
    const container = pod.containers[0] as IContainer;
    const gateway = podOf(one<IDeployment>(name, 'Deployment', 'gateway')).containers[0];
    expect(container.image).toBe(gateway?.image);
    expect(container.command).toEqual(['node', 'node_modules/@transcribe/db/dist/migrate-cli.js']);
    expect(() => new URL(containerEnv(name, container).DATABASE_URL ?? '')).not.toThrow();
    expect(job.spec?.backoffLimit).toBeGreaterThan(0);
    expectRestricted(pod, container);
  });

  it('routes /v1/events to the notifier with WebSocket timeouts, the rest to the gateway', () => {
    const ingresses = all<IIngress>(name, 'Ingress');
    const routes = ingresses.flatMap((ing) =>
      (ing.spec?.rules ?? []).flatMap((rule) =>
        (rule.http?.paths ?? []).map((p) => ({
          ing,
          host: rule.host,
          path: p.path,
          backend: p.backend,
        })),
      ),
    );
    const route = (path: string) => routes.find((r) => r.path === path);
    expect(route('/')?.backend.service?.name).toBe('gateway');
    expect(route('/v1/events')?.backend.service?.name).toBe('notifier');
    expect(new Set(routes.map((r) => r.host)).size).toBe(1);
    for (const r of routes) {
      const svc = one<IService>(name, 'Service', r.backend.service?.name ?? '');
      expect(svc.spec?.ports?.map((p) => p.name)).toContain(r.backend.service?.port?.name);
    }
    const notifier = podOf(one<IDeployment>(name, 'Deployment', 'notifier')).containers[0];
    const heartbeatS =
      Number(
        parseEnv(services[2].schema, containerEnv(name, notifier as IContainer)).WS_HEARTBEAT_MS,
      ) / 1000;
    const annotations = route('/v1/events')?.ing.metadata?.annotations ?? {};
    for (const key of ['proxy-read-timeout', 'proxy-send-timeout']) {
      expect(Number(annotations[`nginx.ingress.kubernetes.io/${key}`])).toBeGreaterThan(
        heartbeatS * 2,
      );
    }
    // The API keeps the default timeouts: long ones there would only hold dead connections.
    expect(route('/')?.ing).not.toBe(route('/v1/events')?.ing);
  });
});

function expectRestricted(pod: IPodSpec, container: IContainer): void {
  expect(pod.securityContext?.runAsNonRoot).toBe(true);
  expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
  expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
  expect(pod.automountServiceAccountToken).toBe(false);
  expect(container.securityContext?.allowPrivilegeEscalation).toBe(false);
  expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
  expect(container.securityContext?.capabilities?.drop).toEqual(['ALL']);
  expect(container.securityContext?.privileged).toBeFalsy();
}

describe('worker scaling', () => {
  it('dev: a fixed replica count, for `kubectl scale deployment/worker`', () => {
    expect(one<IDeployment>('dev', 'Deployment', 'worker').spec?.replicas).toBeGreaterThanOrEqual(
      1,
    );
    expect(all('dev', 'ScaledObject')).toHaveLength(0);
  });

  it('prod: KEDA on the jobs queue, counting running and waiting jobs', () => {
    const scaled = one<IScaledObject>('prod', 'ScaledObject', 'worker');
    expect(scaled.spec.scaleTargetRef.name).toBe('worker');
    expect(scaled.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(scaled.spec.maxReplicaCount).toBeGreaterThan(scaled.spec.minReplicaCount ?? 0);
    const [trigger, ...others] = scaled.spec.triggers;
    expect(others).toHaveLength(0);
    expect(trigger?.type).toBe('rabbitmq');
    // The queue the workers consume, under the configured prefix.
    const worker = podOf(one<IDeployment>('prod', 'Deployment', 'worker')).containers[0];
    const config = parseEnv(services[1].schema, containerEnv('prod', worker as IContainer));
    expect(trigger?.metadata.queueName).toBe(topologyNames(config.AMQP_PREFIX).jobsQueue);
    // Over HTTP (the management API) unacknowledged messages count too.
    expect(trigger?.metadata.protocol).toBe('http');
    expect(trigger?.metadata.mode).toBe('QueueLength');
    expect(Number(trigger?.metadata.value)).toBeGreaterThanOrEqual(config.WORKER_CONCURRENCY);

    const auth = one<ITriggerAuthentication>(
      'prod',
      'TriggerAuthentication',
      trigger?.authenticationRef?.name ?? '',
    );
    const ref = auth.spec?.secretTargetRef?.[0];
    expect(ref?.parameter).toBe('host');
    expect(ref?.name).toBe(secretTemplate.metadata.name);
    const managementUrl = new URL(secretTemplate.stringData?.[ref?.key ?? ''] ?? '');
    expect(managementUrl.protocol).toMatch(/^https?:$/);

    // Scale down slower than up: a stopped worker hands its job back.
    const behavior = scaled.spec.advanced?.horizontalPodAutoscalerConfig?.behavior;
    expect(behavior?.scaleDown?.stabilizationWindowSeconds).toBeGreaterThanOrEqual(60);
  });

  it('prod: KEDA scales the enricher on the enrichment lane, apart from the worker', () => {
    const scaled = one<IScaledObject>('prod', 'ScaledObject', 'enricher');
    expect(scaled.spec.scaleTargetRef.name).toBe('enricher');
    expect(scaled.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    const [trigger, ...others] = scaled.spec.triggers;
    expect(others).toHaveLength(0);
    const enricher = podOf(one<IDeployment>('prod', 'Deployment', 'enricher')).containers[0];
    const config = parseEnv(services[1].schema, containerEnv('prod', enricher as IContainer));
    expect(trigger?.type).toBe('rabbitmq');
    expect(trigger?.metadata.queueName).toBe(topologyNames(config.AMQP_PREFIX).enrichQueue);
    expect(trigger?.metadata.protocol).toBe('http');
    expect(trigger?.metadata.mode).toBe('QueueLength');
    expect(Number(trigger?.metadata.value)).toBeGreaterThanOrEqual(config.ENRICH_CONCURRENCY);
    // The same credentials as the worker's trigger.
    const worker = one<IScaledObject>('prod', 'ScaledObject', 'worker');
    expect(trigger?.authenticationRef?.name).toBe(worker.spec.triggers[0]?.authenticationRef?.name);
    expect(one<IDeployment>('prod', 'Deployment', 'enricher').spec?.replicas).toBeUndefined();
    expect(one<IDeployment>('dev', 'Deployment', 'enricher').spec?.replicas).toBeGreaterThanOrEqual(
      1,
    );
  });

  it('the HPA alternative scales the worker on the same queue through an external metric', () => {
    expect(all('base + worker-hpa', 'ScaledObject')).toHaveLength(0);
    const hpa = one<IHorizontalPodAutoscaler>(
      'base + worker-hpa',
      'HorizontalPodAutoscaler',
      'worker',
    );
    const metric = hpa.spec?.metrics?.[0];
    expect(metric?.type).toBe('External');
    expect(metric?.external?.metric.selector?.matchLabels?.queue).toBe(topologyNames('').jobsQueue);

    const enricher = one<IHorizontalPodAutoscaler>(
      'base + worker-hpa',
      'HorizontalPodAutoscaler',
      'enricher',
    );
    const enrichMetric = enricher.spec?.metrics?.[0];
    expect(enrichMetric?.type).toBe('External');
    expect(enrichMetric?.external?.metric.selector?.matchLabels?.queue).toBe(
      topologyNames('').enrichQueue,
    );
    // prometheus-adapter serves both metrics, each from its own queue's series.
    const rules = parse(
      readFileSync(join(k8s, 'components/worker-hpa/adapter-rule.yaml'), 'utf8'),
    ) as { seriesQuery: string; name: { as: string } }[];
    for (const h of [hpa, enricher]) {
      const m = h.spec?.metrics?.[0]?.external?.metric;
      const rule = rules.find((r) => r.name.as === m?.name);
      expect(rule?.seriesQuery).toContain(`queue="${m?.selector?.matchLabels?.queue}"`);
    }
  });
});

describe.each(overlayNames)('k8s %s: the lanes', (name) => {
  const configOf = (deployment: string, svc: (typeof services)[number] = services[1]) =>
    parseEnv(
      svc.schema,
      containerEnv(
        name,
        podOf(one<IDeployment>(name, 'Deployment', deployment)).containers[0] as IContainer,
      ),
    ) as Record<string, unknown>;

  it('runs transcription on the worker and enrichments on the enricher, from one image', () => {
    expect(configOf('worker').WORKER_LANES).toEqual(['transcribe']);
    expect(configOf('enricher').WORKER_LANES).toEqual(['enrich']);
    const image = (d: string) =>
      podOf(one<IDeployment>(name, 'Deployment', d)).containers[0]?.image;
    expect(image('enricher')).toBe(image('worker'));
  });

  it('enricher: probes on its metrics port, small CPU, restricted, scratch, a drain that fits', () => {
    const deployment = one<IDeployment>(name, 'Deployment', 'enricher');
    const pod = podOf(deployment);
    expect(pod.containers).toHaveLength(1);
    const container = pod.containers[0] as IContainer;
    const config = configOf('enricher');
    expect(container.ports?.map((p) => p.containerPort)).toEqual([config.METRICS_PORT]);
    expect(container.startupProbe?.httpGet?.path).toBe('/healthz');
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe])
      expect(probePort(probe, container)).toBe(config.METRICS_PORT);
    expect(deployment.spec?.template.metadata?.annotations?.['prometheus.io/port']).toBe(
      String(config.METRICS_PORT),
    );
    // I/O-bound on the chat server: a fraction of the worker's CPU.
    const millicores = (cpu: unknown) =>
      String(cpu).endsWith('m') ? Number(String(cpu).slice(0, -1)) : Number(cpu) * 1000;
    const worker = podOf(one<IDeployment>(name, 'Deployment', 'worker')).containers[0];
    expect(millicores(container.resources?.requests?.cpu)).toBeLessThanOrEqual(250);
    expect(millicores(container.resources?.requests?.cpu)).toBeLessThan(
      millicores(worker?.resources?.requests?.cpu),
    );
    expect(container.resources?.limits?.memory).toBeDefined();
    expectRestricted(pod, container);
    const emptyDirs = new Set((pod.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name));
    const writable = (container.volumeMounts ?? [])
      .filter((m) => emptyDirs.has(m.name))
      .map((m) => m.mountPath);
    expect(writable).toContain('/tmp');
    const tmp = String(config.TMP_DIR);
    expect(writable.some((m) => tmp === m || tmp.startsWith(`${m}/`))).toBe(true);
    expect(pod.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(workerGraceSeconds(config));
    expect(
      all<IPodDisruptionBudget>(name, 'PodDisruptionBudget').some(
        (pdb) => pdb.spec?.selector?.matchLabels?.['app.kubernetes.io/name'] === 'enricher',
      ),
    ).toBe(true);
  });

  it('enrichments are off by default, and everyone reads the same chat server setting', () => {
    const gateway = configOf('gateway', services[0]);
    expect(gateway.ENRICH_BASE_URL).toBeUndefined();
    for (const d of ['worker', 'enricher']) expect(configOf(d).ENRICH_BASE_URL).toBeUndefined();
    // Its key is a secret, not a setting.
    const enricher = podOf(one<IDeployment>(name, 'Deployment', 'enricher'))
      .containers[0] as IContainer;
    const configMapName = enricher.envFrom?.find((f) => f.configMapRef)?.configMapRef?.name;
    const configMap = one<IConfigMap>(name, 'ConfigMap', configMapName ?? '');
    expect(Object.keys(configMap.data ?? {})).toContain('ENRICH_BASE_URL');
    expect(Object.keys(configMap.data ?? {})).not.toContain('ENRICH_API_KEY');
    expect(Object.keys(secretTemplate.stringData ?? {})).toContain('ENRICH_API_KEY');
    // Set, the enricher parses it (and the gateway reads the same ConfigMap).
    const withUrl = parseEnv(services[1].schema, {
      ...containerEnv(name, enricher),
      ENRICH_BASE_URL: 'http://ollama:11434/v1',
    });
    expect(withUrl.ENRICH_BASE_URL).toBe('http://ollama:11434/v1');
    expect(withUrl.ENRICH_CONCURRENCY).toBeGreaterThanOrEqual(1);
  });
});

describe('public addresses', () => {
  it('prod: the links the services hand out point at the Ingress host, over TLS', () => {
    const ingress = one<IIngress>('prod', 'Ingress', 'gateway');
    const host = ingress.spec?.rules?.[0]?.host;
    expect(ingress.spec?.tls?.[0]?.hosts).toContain(host);
    const config = (name: string, svc: (typeof services)[number]) =>
      parseEnv(
        svc.schema,
        containerEnv(
          'prod',
          podOf(one<IDeployment>('prod', 'Deployment', name)).containers[0] as IContainer,
        ),
      ) as Record<string, unknown>;
    const gateway = config('gateway', services[0]);
    const notifier = config('notifier', services[2]);
    const api = new URL(String(gateway.PUBLIC_URL));
    const events = new URL(String(gateway.EVENTS_PUBLIC_URL));
    expect([api.protocol, api.hostname]).toEqual(['https:', host]);
    expect([events.protocol, events.hostname]).toEqual(['wss:', host]);
    if ('PUBLIC_API_URL' in notifier) expect(notifier.PUBLIC_API_URL).toBe(gateway.PUBLIC_URL);
  });
});

describe('images and secrets', () => {
  it('prod pins registry images by tag; dev uses local dev builds', () => {
    for (const [variant, pattern] of [
      ['prod', /^[a-z0-9.-]+\.[a-z]+(:\d+)?\/[\w/.-]+:\d+\.\d+\.\d+$/],
      ['dev', /^transcribe\/(gateway|worker|notifier):dev$/],
    ] as const) {
      for (const svc of services) {
        const image = podOf(one<IDeployment>(variant, 'Deployment', svc.name)).containers[0]?.image;
        expect(image).toMatch(pattern);
        expect(image).toContain(svc.name);
      }
    }
  });

  it('the Secret template is a valid Secret with every key the dev Secret has', () => {
    expect(() => validateObject(secretTemplate)).not.toThrow();
    const devSecret = all<ISecret>('dev', 'Secret')[0];
    const devKeys = Object.keys(devSecret?.data ?? {}).filter((k) => k !== 'DEV_API_KEY');
    expect(Object.keys(secretTemplate.stringData ?? {}).sort()).toEqual(devKeys.sort());
  });

  it('the schema validators reject what the API server would', () => {
    const deployment: K8sObject = one<IDeployment>('prod', 'Deployment', 'gateway');
    const broken = { ...deployment, spec: { ...(deployment.spec as object), replicas: 'two' } };
    expect(() => validateObject(broken)).not.toThrow(/no schema/);
    expect(() => validateObject(broken)).toThrow(/replicas/);
    expect(() => validateObject({ apiVersion: 'example.com/v1', kind: 'Unknown' })).toThrow(
      /no schema/,
    );
  });
});

describe.each(['dev', 'prod'])('k8s %s: the Grafana dashboard', (name) => {
  it('ships k8s/grafana/transcribe-dashboard.json as a ConfigMap the Grafana sidecar loads', () => {
    const map = one<IConfigMap>(name, 'ConfigMap', 'transcribe-grafana-dashboard');
    expect(map.metadata.labels?.grafana_dashboard).toBe('1');
    // The JSON itself, byte for byte: the file in the repo is the one source.
    expect(map.data?.['transcribe-dashboard.json']).toBe(
      readFileSync(join(k8s, 'grafana/transcribe-dashboard.json'), 'utf8'),
    );
  });
});
