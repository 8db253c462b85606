// Several gateways, workers and notifiers as separate processes from their built code,
// every one reaching Postgres, RabbitMQ and S3 through a fault proxy, under a supervisor
// that restarts what dies (a planned kill or a crash) and records each unplanned exit
// with the service's own last output lines as evidence.
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { freePort } from './ports.js';
import { startService, type ServiceName, type ServiceProcess } from './service-process.js';

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

interface Slot {
  id: string;
  name: ServiceName;
  env: Record<string, string>;
  readyUrl: string;
  process?: ServiceProcess;
  /** Set while the harness itself is killing or stopping it. */
  planned: boolean;
  restarting?: Promise<void>;
  pids: number[];
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
  const slots = new Map<string, Slot>();
  const incidents: Incident[] = [];
  const counts = { kills: 0, restarts: 0, crashRestarts: 0 };
  const logLines: ServiceLogLine[] = [];
  let stopping = false;

  const add = (id: string, name: ServiceName, readyUrl: string, extra: Record<string, string>) =>
    slots.set(id, { id, name, readyUrl, env: { ...shared, ...extra }, planned: false, pids: [] });
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

  const onLine = (id: string) => (line: string) => {
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

  const launch = async (slot: Slot) => {
    const service = await startService(slot.name, slot.env, slot.readyUrl, {
      timeoutMs: startTimeoutMs,
      onLine: onLine(slot.id),
    });
    slot.process = service;
    slot.planned = false;
    if (service.child.pid !== undefined) slot.pids.push(service.child.pid);
    void service.exited.then((exit) => {
      if (stopping || slot.process !== service) return;
      slot.process = undefined;
      if (!slot.planned) {
        incidents.push({
          id: slot.id,
          at: Date.now(),
          code: exit.code,
          signal: exit.signal,
          tail: service.output().split('\n').slice(-30).join('\n'),
        });
        counts.crashRestarts++;
      } else {
        counts.restarts++;
      }
      restart(slot);
    });
  };

  /** Starts the slot again, retrying (a gateway cannot start while Postgres is cut). */
  const restart = (slot: Slot) => {
    slot.restarting ??= (async () => {
      const deadline = Date.now() + restartDeadlineMs;
      let lastError: unknown;
      while (!stopping && Date.now() < deadline) {
        try {
          await launch(slot);
          return;
        } catch (error) {
          lastError = error;
          appendFileSync(
            join(logDir, `${slot.id}.log`),
            `[harness] start failed: ${String(error)}\n`,
          );
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      if (!stopping) {
        incidents.push({
          id: slot.id,
          at: Date.now(),
          code: null,
          signal: null,
          tail: `not restarted within ${restartDeadlineMs} ms: ${String(lastError)}`,
        });
      }
    })().finally(() => {
      slot.restarting = undefined;
    });
  };

  const down = () => [...slots.values()].filter((s) => !s.process).map((s) => s.id);

  const stopAll = async () => {
    stopping = true;
    await Promise.all(
      [...slots.values()].map(async (slot) => {
        await slot.restarting?.catch(() => undefined);
        await slot.process?.stop(5000);
      }),
    );
    await Promise.all(Object.values(proxies).map((p) => p.close()));
  };

  try {
    await Promise.all([...slots.values()].map((slot) => launch(slot)));
  } catch (error) {
    await stopAll();
    throw error;
  }

  return {
    proxies,
    gatewayUrls,
    notifierUrls,
    logDir,
    ids: (kind) => [...slots.values()].filter((s) => !kind || s.name === kind).map((s) => s.id),
    idOfPid: (pid) => [...slots.values()].find((s) => s.pids.includes(pid))?.id,
    async kill(id) {
      const slot = slots.get(id);
      if (!slot?.process) throw new Error(`fault stack: ${id} is not running`);
      slot.planned = true;
      counts.kills++;
      await slot.process.kill();
    },
    async waitAllUp(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if ([...slots.values()].every((s) => s.process && !s.restarting)) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`services still down after ${timeoutMs} ms: ${down().join(', ')}`);
    },
    down,
    incidents: () => [...incidents],
    counts: () => ({ ...counts }),
    logs: () => logLines,
    stop: stopAll,
  };
}
