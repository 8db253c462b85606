// docker-compose.yml and .env.example, checked without a Docker engine: the Compose
// specification's schema, then every app service's environment through its own config
// schema, ports, dependencies and what `--scale worker=N` needs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from '@transcribe/config';
import {
  composeSchemaValidator,
  durationSeconds,
  interpolate,
  parseDockerfile,
  parseEnvFile,
  readComposeFile,
  requiredKeys,
  schemaKeys,
  type ComposeService,
} from '../src/index.js';
import { root, services, workerGraceSeconds } from './support.js';

const composeText = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
const envExample = parseEnvFile(readFileSync(join(root, '.env.example'), 'utf8'));
// What `cp .env.example .env && docker compose up` sees.
const compose = interpolate(readComposeFile(join(root, 'docker-compose.yml')), envExample.values);
const service = (name: string): ComposeService => {
  const s = compose.services[name];
  if (!s) throw new Error(`no service ${name} in docker-compose.yml`);
  return s;
};

function serviceEnv(s: ComposeService): Record<string, string> {
  const files = s.env_file === undefined ? [] : [s.env_file].flat();
  // Every env_file is .env, which the operator makes from .env.example.
  expect(files.every((f) => f === '.env')).toBe(true);
  const env: Record<string, string> = files.length ? { ...envExample.values } : {};
  const environment = s.environment ?? {};
  const pairs: [string, string][] = Array.isArray(environment)
    ? environment.map((e) => [e.split('=')[0] ?? e, e.slice(e.indexOf('=') + 1)])
    : Object.entries(environment).map(([k, v]) => [k, v === null ? '' : String(v)]);
  for (const [k, v] of pairs) env[k] = v;
  return env;
}

function containerPorts(s: ComposeService): number[] {
  return (s.ports ?? []).map((p) =>
    typeof p === 'object' ? p.target : Number(String(p).split(':').at(-1)?.split('/')[0]),
  );
}

describe('docker-compose.yml', () => {
  it('validates against the Compose specification schema', () => {
    const validate = composeSchemaValidator(root);
    expect(validate(compose)).toEqual([]);
    // The validator does reject what compose would.
    expect(validate({ services: { x: { image: 'a', restart_policy: 'always' } } })).not.toEqual([]);
  });

  it('pins every third-party image to a version and keeps consoles on this host', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (!s.image || s.image.startsWith('transcribe/')) continue;
      // A bare name or `latest` changes under the operator on the next pull.
      expect([name, s.image]).toEqual([name, expect.stringMatching(/:(?!latest$)[\w.-]+$/)]);
    }
    const published = (s: ComposeService) => (s.ports ?? []).map((p) => String(p));
    expect(published(service('rabbitmq'))).toEqual(['127.0.0.1:15672:15672']);
    expect(published(service('minio'))).toContain('127.0.0.1:9001:9001');
    expect(published(service('ollama'))).toEqual(['127.0.0.1:11434:11434']);
  });

  it('has the dependencies, one-shot jobs and the three services', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'createbucket',
        'gateway',
        'migrate',
        'minio',
        'notifier',
        'ollama',
        'postgres',
        'rabbitmq',
        'worker',
      ].sort(),
    );
    expect(service('rabbitmq').image).toMatch(/^rabbitmq:.*management/);
    expect(service('createbucket').image).toMatch(/^minio\/mc/);
    expect(String(service('createbucket').command)).toContain('mc mb --ignore-existing');
    expect(String(service('createbucket').command)).toContain('$S3_BUCKET');
    expect(service('migrate').command).toEqual([
      'node',
      'node_modules/@transcribe/db/dist/migrate-cli.js',
    ]);
  });

  it('waits on health checks and finished one-shots, never on a bare start', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      const deps = s.depends_on ?? {};
      expect({ name, listForm: Array.isArray(deps) }).toEqual({ name, listForm: false });
      for (const [dep, { condition }] of Object.entries(
        deps as Record<string, { condition: string }>,
      )) {
        const target = service(dep);
        if (condition === 'service_healthy') {
          expect({ dep, healthcheck: Boolean(target.healthcheck?.test) }).toEqual({
            dep,
            healthcheck: true,
          });
        } else {
          expect({ dep, condition }).toEqual({ dep, condition: 'service_completed_successfully' });
          expect({ dep, restart: target.restart }).toEqual({ dep, restart: 'no' });
        }
      }
    }
    for (const app of ['gateway', 'worker', 'notifier']) {
      const deps = service(app).depends_on as Record<string, { condition: string }>;
      expect(deps.migrate?.condition).toBe('service_completed_successfully');
      expect(deps.rabbitmq?.condition).toBe('service_healthy');
    }
    for (const s of ['postgres', 'rabbitmq', 'minio'])
      expect(service(s).healthcheck?.test).toBeDefined();
  });

  it('keeps data in named volumes', () => {
    for (const [name, mount] of [
      ['postgres', '/var/lib/postgresql/data'],
      ['rabbitmq', '/var/lib/rabbitmq'],
      ['minio', '/data'],
    ] as const) {
      const volume = (service(name).volumes ?? []).map(String).find((v) => v.endsWith(`:${mount}`));
      const named = volume?.split(':')[0] ?? '';
      expect(Object.keys(compose.volumes ?? {})).toContain(named);
    }
  });

  it.each(services)(
    '$name: its environment passes its config schema; ports and image match',
    (svc) => {
      const s = service(svc.name);
      const config = parseEnv(svc.schema, serviceEnv(s)) as Record<string, unknown>;
      const port = config[svc.portVar];
      if (svc.name === 'worker') {
        // Published ports or a fixed name would stop `docker compose up --scale worker=N`.
        expect(s.ports ?? []).toEqual([]);
        expect(s.container_name).toBeUndefined();
      } else {
        expect(containerPorts(s)).toEqual([port]);
      }
      const build = s.build as { context: string; target: string };
      expect(build.context).toBe('.');
      const targets = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8')).stages.map(
        (st) => st.name,
      );
      expect(targets).toContain(build.target);
      expect(build.target).toBe(svc.name);
      // Read-only root filesystem, with somewhere to write temporary files.
      expect(s.read_only).toBe(true);
      const writable = [
        ...[s.tmpfs ?? []].flat(),
        ...(s.volumes ?? []).map((v) =>
          typeof v === 'string' ? (v.split(':')[1] ?? v) : v.target,
        ),
      ];
      expect(writable).toContain('/tmp');
      if (typeof config.TMP_DIR === 'string') {
        expect(
          writable.some((w) => config.TMP_DIR === w || String(config.TMP_DIR).startsWith(`${w}/`)),
        ).toBe(true);
      }
    },
  );

  it('lets a stopping worker finish its job before compose kills it', () => {
    const s = service('worker');
    const config = parseEnv(services[1].schema, serviceEnv(s)) as Record<string, unknown>;
    expect(durationSeconds(s.stop_grace_period ?? '10s')).toBeGreaterThan(
      workerGraceSeconds(config),
    );
  });

  it('hands out links to the gateway and notifier the host reaches', () => {
    const [gateway, , notifier] = services.map(
      (svc) => parseEnv(svc.schema, serviceEnv(service(svc.name))) as Record<string, unknown>,
    );
    const api = new URL(String(gateway?.PUBLIC_URL));
    expect(api.hostname).toBe('localhost');
    expect(containerPorts(service('gateway')).map(String)).toContain(api.port);
    // The notifier links back to the gateway (completed events, webhooks), where it has such a setting.
    if (notifier && 'PUBLIC_API_URL' in notifier)
      expect(notifier.PUBLIC_API_URL).toBe(gateway?.PUBLIC_URL);
  });

  it('gives the gateway only the chat server URL, and the worker every enrichment setting', () => {
    const enrichKeys = (s: ComposeService) =>
      Object.keys(s.environment ?? {}).filter((k) => k.startsWith('ENRICH_'));
    expect(enrichKeys(service('gateway'))).toEqual(['ENRICH_BASE_URL']);
    expect(enrichKeys(service('worker'))).toEqual(
      expect.arrayContaining(['ENRICH_BASE_URL', 'ENRICH_API_KEY', 'ENRICH_MODEL']),
    );
    expect(enrichKeys(service('notifier'))).toEqual([]);
    // Off by default: empty is unset, so the gateway refuses enrichments.
    const [gateway, worker] = services.map(
      (svc) => parseEnv(svc.schema, serviceEnv(service(svc.name))) as Record<string, unknown>,
    );
    expect(gateway?.ENRICH_BASE_URL).toBeUndefined();
    expect(worker?.ENRICH_BASE_URL).toBeUndefined();
    expect(worker?.WORKER_LANES).toEqual(['transcribe', 'enrich']);
  });

  it('runs Ollama only under its profile, with its models in a volume, and the services reach it', () => {
    const ollama = readComposeFile(join(root, 'docker-compose.yml')).services.ollama;
    expect(ollama?.profiles).toEqual(['ollama']);
    // Nothing that starts by default waits on it.
    for (const [name, s] of Object.entries(compose.services)) {
      expect({ name, dependsOnOllama: Object.keys(s.depends_on ?? {}).includes('ollama') }).toEqual(
        { name, dependsOnOllama: false },
      );
    }
    const models = (service('ollama').volumes ?? [])
      .map(String)
      .find((v) => v.endsWith(':/root/.ollama'));
    expect(Object.keys(compose.volumes ?? {})).toContain(models?.split(':')[0]);
    expect(service('ollama').healthcheck?.test).toBeDefined();

    // What `ENRICH_BASE_URL=http://ollama:11434/v1 docker compose --profile ollama up` sees.
    const url = 'http://ollama:11434/v1';
    const withOllama = interpolate(readComposeFile(join(root, 'docker-compose.yml')), {
      ...envExample.values,
      ENRICH_BASE_URL: url,
    });
    const [gatewaySvc, workerSvc] = services;
    const gateway = parseEnv(gatewaySvc.schema, serviceEnv(withOllama.services.gateway!));
    const worker = parseEnv(workerSvc.schema, serviceEnv(withOllama.services.worker!));
    expect(gateway.ENRICH_BASE_URL).toBe(url);
    expect(worker.ENRICH_BASE_URL).toBe(url);
    expect(worker.ENRICH_MODEL).toBe('llama3.1:8b');
    const target = new URL(url);
    expect(Object.keys(withOllama.services)).toContain(target.hostname);
    expect(containerPorts(service('ollama'))).toContain(Number(target.port));
  });

  it('runs the migration with the same image and database as the services', () => {
    expect(service('migrate').image).toBe(service('gateway').image);
    expect(serviceEnv(service('migrate')).DATABASE_URL).toBe(
      serviceEnv(service('gateway')).DATABASE_URL,
    );
  });
});

describe('.env.example', () => {
  const allKeys = new Set(services.flatMap((s) => schemaKeys(s.schema)));
  // Variables the compose file itself reads: ${VAR} interpolation and $$VAR in commands.
  const composeVars = new Set(
    [...composeText.matchAll(/\$\$?\{?([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]),
  );

  it('sets every variable a service requires', () => {
    for (const svc of services) {
      for (const key of requiredKeys(svc.schema)) {
        expect({ key, set: Boolean(envExample.values[key]) }).toEqual({ key, set: true });
      }
    }
  });

  it('names only variables that a service or the compose file reads', () => {
    for (const key of [...Object.keys(envExample.values), ...envExample.documented]) {
      expect({ key, known: allKeys.has(key) || composeVars.has(key) }).toEqual({
        key,
        known: true,
      });
    }
  });

  it('points the services at the compose dependencies with their credentials', () => {
    const v = envExample.values;
    const db = new URL(v.DATABASE_URL ?? '');
    expect([db.hostname, db.username, db.password, db.pathname]).toEqual([
      'postgres',
      v.POSTGRES_USER,
      v.POSTGRES_PASSWORD,
      `/${v.POSTGRES_DB}`,
    ]);
    const amqp = new URL(v.AMQP_URL ?? '');
    expect([amqp.hostname, amqp.username, amqp.password]).toEqual([
      'rabbitmq',
      v.RABBITMQ_DEFAULT_USER,
      v.RABBITMQ_DEFAULT_PASS,
    ]);
    expect(new URL(v.S3_ENDPOINT ?? '').hostname).toBe('minio');
    expect([v.S3_ACCESS_KEY_ID, v.S3_SECRET_ACCESS_KEY]).toEqual([
      v.MINIO_ROOT_USER,
      v.MINIO_ROOT_PASSWORD,
    ]);
  });

  it('signs upload URLs for an address the host reaches, which MinIO publishes', () => {
    const pub = new URL(envExample.values.S3_PUBLIC_ENDPOINT ?? '');
    expect(pub.hostname).toBe('localhost');
    const minioPort = new URL(envExample.values.S3_ENDPOINT ?? '').port;
    expect((service('minio').ports ?? []).map(String)).toContain(`${pub.port}:${minioPort}`);
    const events = new URL(envExample.values.EVENTS_PUBLIC_URL ?? '');
    expect((service('notifier').ports ?? []).map(String)).toContain(
      `${events.port}:${envExample.values.NOTIFIER_PORT}`,
    );
  });
});
