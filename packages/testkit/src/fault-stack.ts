// Several gateways, workers and notifiers as separate processes from their built code,
// every one reaching Postgres, RabbitMQ and S3 through a fault proxy, under a supervisor
// that restarts what dies (a planned kill or a crash) and records each unplanned exit
// with the service's own last output lines as evidence.
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { freePort } from './ports.js';
import { type ServiceName } from './service-process.js';
import { createSupervisor, type SupervisedSpec } from './supervisor.js';

export interface FaultStackOptions {
  /** The test environment's variables (direct DATABASE_URL, AMQP_URL, S3_ENDPOINT…). */
  env: Record<string, string>;
  gateways?: number;
  workers?: number;
  notifiers?: number;
  /** Extra variables for workers (chunking, leases, retries). */
  workerEnv?: Record<string, string>;
  /** Put first in the workers' PATH (the chunk-run probe's wrapper). */
  workerPathPrefix?: string;
  /** How long one start may take to become ready (default 60 s). */
  startTimeoutMs?: number;
  /** How long the supervisor keeps trying to bring a dead service back (default 180 s). */
  restartDeadlineMs?: number;
  /** Every service's whole output goes to `<logDir>/<id>.log` (default: a temp folder). */
  logDir?: string;
}

/** A service that exited without the harness asking it to. */
export interface Incident {
  id: string;
  at: number;
  code: number | null;
  signal: string | null;
  /** The service's last output lines before it died. */
  tail: string;
}

/** One JSON log line of a service (pino), with the id of the process that wrote it. */
export interface ServiceLogLine {
  id: string;
  at: number;
  msg?: string;
  level?: number;
  [key: string]: unknown;
}

export interface FaultStack {
  proxies: { postgres: FaultProxy; rabbitmq: FaultProxy; s3: FaultProxy };
  gatewayUrls: string[];
  /** ws://… base URLs of the notifiers. */
  notifierUrls: string[];
  logDir: string;
  ids(kind?: ServiceName): string[];
  /** The id of the service whose process (or process group leader) has this pid. */
  idOfPid(pid: number): string | undefined;
  /** SIGKILLs a service's process group; the supervisor starts it again. */
  kill(id: string): Promise<void>;
  /** Waits until every service is up (restarts done), or throws after `timeoutMs`. */
  waitAllUp(timeoutMs: number): Promise<void>;
  /** Services down right now. */
  down(): string[];
  incidents(): Incident[];
  /** Planned kills, restarts after them, and restarts after crashes (unplanned exits). */
  counts(): { kills: number; restarts: number; crashRestarts: number };
  /** Log lines of every service so far (JSON lines only; bounded to the last 20 000). */
  logs(): ServiceLogLine[];
  stop(): Promise<void>;
}

function viaProxy(url: string, proxy: FaultProxy): string {
  const u = new URL(url);
  u.hostname = proxy.host;
  u.port = String(proxy.port);
  return u.toString().replace(/\/$/, '');
}

function targetOf(url: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: u.port ? Number(u.port) : defaultPort };
}

export async function startFaultStack(options: FaultStackOptions): Promise<FaultStack> {
  const { env } = options;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const restartDeadlineMs = options.restartDeadlineMs ?? 180_000;
  const logDir = options.logDir ?? mkdtempSync(join(tmpdir(), 'fault-stack-'));
  const required = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`fault stack: ${name} missing from env`);
    return value;
  };
  const proxies = {
    postgres: await startFaultProxy(targetOf(required('DATABASE_URL'), 5432)),
    rabbitmq: await startFaultProxy(targetOf(required('AMQP_URL'), 5672)),
    s3: await startFaultProxy(targetOf(required('S3_ENDPOINT'), 80)),
  };
  const shared = {
    ...env,
    DATABASE_URL: viaProxy(required('DATABASE_URL'), proxies.postgres),
    AMQP_URL: viaProxy(required('AMQP_URL'), proxies.rabbitmq),
    S3_ENDPOINT: viaProxy(required('S3_ENDPOINT'), proxies.s3),
  };

  const gatewayPorts = await Promise.all(
    Array.from({ length: options.gateways ?? 2 }, () => freePort()),
  );
  const notifierPorts = await Promise.all(
    Array.from({ length: options.notifiers ?? 2 }, () => freePort()),
  );
  const gatewayUrls = gatewayPorts.map((p) => `http://127.0.0.1:${p}`);
  const notifierUrls = notifierPorts.map((p) => `ws://127.0.0.1:${p}`);
  const incidents: Incident[] = [];
  const counts = { kills: 0, restarts: 0, crashRestarts: 0 };
  const logLines: ServiceLogLine[] = [];
  const specs: SupervisedSpec[] = [];
  const pids = new Map<number, string>();

  const add = (id: string, name: ServiceName, readyUrl: string, extra: Record<string, string>) =>
    specs.push({ id, name, readyUrl, env: { ...shared, ...extra } });
  gatewayPorts.forEach((port, i) =>
    add(`gateway-${i + 1}`, 'gateway', `${gatewayUrls[i]}/readyz`, {
      GATEWAY_PORT: String(port),
      PUBLIC_URL: gatewayUrls[i]!,
      EVENTS_PUBLIC_URL: notifierUrls[0]!,
      // The suite measures faults, not the tenant's rate limit.
      RATE_LIMIT_JOBS_PER_MIN: '0',
      RATE_LIMIT_UPLOADS_PER_MIN: '0',
      OUTBOX_POLL_MS: '200',
    }),
  );
  notifierPorts.forEach((port, i) =>
    add(`notifier-${i + 1}`, 'notifier', `http://127.0.0.1:${port}/readyz`, {
      NOTIFIER_PORT: String(port),
      PUBLIC_API_URL: gatewayUrls[0]!,
      WS_HEARTBEAT_MS: '5000',
    }),
  );
  for (let i = 0; i < (options.workers ?? 3); i++) {
    const port = await freePort();
    add(`worker-${i + 1}`, 'worker', `http://127.0.0.1:${port}/readyz`, {
      METRICS_PORT: String(port),
      OUTBOX_POLL_MS: '200',
      ...(options.workerPathPrefix
        ? { PATH: `${options.workerPathPrefix}:${process.env.PATH ?? ''}` }
        : {}),
      ...options.workerEnv,
    });
  }

  const onLine = (id: string, line: string) => {
    appendFileSync(join(logDir, `${id}.log`), `${line}\n`);
    if (!line.startsWith('{')) return;
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      logLines.push({
        ...parsed,
        id,
        at: typeof parsed.time === 'number' ? parsed.time : Date.now(),
      });
      if (logLines.length > 20_000) logLines.splice(0, logLines.length - 20_000);
    } catch {
      // not JSON after all
    }
  };

  const supervisor = createSupervisor({
    startTimeoutMs,
    // A gateway cannot start while Postgres is cut: keep retrying, briskly.
    initialBackoffMs: 1000,
    maxBackoffMs: 2000,
    giveUpAfterMs: restartDeadlineMs,
    onLine,
    onEvent(event) {
      if (event.type === 'exited') {
        if (event.planned) counts.restarts++;
        else {
          counts.crashRestarts++;
          const { id, code, signal, tail } = event;
          incidents.push({ id, at: Date.now(), code, signal, tail });
        }
      } else if (event.type === 'restarted') {
        if (event.process.child.pid !== undefined) pids.set(event.process.child.pid, event.id);
      } else if (event.type === 'start-failed') {
        appendFileSync(join(logDir, `${event.id}.log`), `[harness] start failed: ${event.error}\n`);
      } else {
        incidents.push({
          id: event.id,
          at: Date.now(),
          code: null,
          signal: null,
          tail: `not restarted within ${restartDeadlineMs} ms: ${event.error}`,
        });
      }
    },
  });

  const stopAll = async () => {
    await supervisor.stop(5000);
    await Promise.all(Object.values(proxies).map((p) => p.close()));
  };

  try {
    await Promise.all(
      specs.map(async (spec) => {
        const service = await supervisor.start(spec);
        if (service.child.pid !== undefined) pids.set(service.child.pid, spec.id);
      }),
    );
  } catch (error) {
    await stopAll();
    throw error;
  }

  return {
    proxies,
    gatewayUrls,
    notifierUrls,
    logDir,
    ids: (kind) => specs.filter((s) => !kind || s.name === kind).map((s) => s.id),
    idOfPid: (pid) => pids.get(pid),
    async kill(id) {
      counts.kills++;
      await supervisor.kill(id);
    },
    waitAllUp: (timeoutMs) => supervisor.waitAllUp(timeoutMs),
    down: () => supervisor.down(),
    incidents: () => [...incidents],
    counts: () => ({ ...counts }),
    logs: () => logLines,
    stop: stopAll,
  };
}
