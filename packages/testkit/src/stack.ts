import { freePort } from './ports.js';
import { type ServiceName, type ServiceProcess } from './service-process.js';
import { createSupervisor, type SupervisorEvent } from './supervisor.js';

export interface Stack {
  gatewayUrl: string;
  notifierUrl: string;
  /** Environment shared by every service (database, broker, bucket, secrets). */
  env: Record<string, string>;
  /** The running process of each service, by id (`gateway`, `notifier`, `worker-1`…). */
  services: Map<string, ServiceProcess>;
  /** Starts one more worker process; returns its id in `services`. */
  addWorker(extraEnv?: Record<string, string>): Promise<string>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** DATABASE_URL, AMQP_URL, S3_*, TOKEN_SECRET… for every service. */
  env: Record<string, string>;
  gatewayPort?: number;
  notifierPort?: number;
  workers?: number;
  inheritOutput?: boolean;
  /** How long each service may take to become ready (default: SERVICE_START_TIMEOUT_S or 180 s). */
  startTimeoutMs?: number;
  /**
   * Start a service again when it dies, with backoff, as compose or Kubernetes would
   * (`pnpm stack`). Off for tests, which want a death to show, not to be healed.
   */
  restart?: boolean;
  /** Exits, failed restarts and recoveries, as they happen. */
  onEvent?: (event: SupervisorEvent) => void;
}

/** Starts gateway, notifier and workers as separate processes from their built code. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const gatewayPort = options.gatewayPort ?? (await freePort());
  const notifierPort = options.notifierPort ?? (await freePort());
  const gatewayUrl = `http://localhost:${gatewayPort}`;
  const notifierUrl = `http://localhost:${notifierPort}`;
  const env = {
    ...options.env,
    GATEWAY_PORT: String(gatewayPort),
    NOTIFIER_PORT: String(notifierPort),
    PUBLIC_URL: options.env.PUBLIC_URL ?? gatewayUrl,
    EVENTS_PUBLIC_URL: options.env.EVENTS_PUBLIC_URL ?? `ws://localhost:${notifierPort}`,
    // A development stack listens on this machine only.
    HOST: options.env.HOST ?? '127.0.0.1',
    // Links in completed events and webhooks point at this stack's gateway, not :8080.
    PUBLIC_API_URL: options.env.PUBLIC_API_URL ?? gatewayUrl,
  };
  const services = new Map<string, ServiceProcess>();
  const supervisor = createSupervisor({
    startTimeoutMs: options.startTimeoutMs,
    restart: options.restart ?? false,
    inheritOutput: options.inheritOutput,
    onEvent(event) {
      if (event.type === 'restarted') services.set(event.id, event.process);
      options.onEvent?.(event);
    },
  });
  const start = async (
    id: string,
    name: ServiceName,
    readyUrl: string,
    extra: Record<string, string> = {},
  ) => {
    services.set(id, await supervisor.start({ id, name, readyUrl, env: { ...env, ...extra } }));
  };
  let workerCount = 0;
  const addWorker = async (extraEnv: Record<string, string> = {}) => {
    const port = await freePort();
    const id = `worker-${++workerCount}`;
    await start(id, 'worker', `http://127.0.0.1:${port}/readyz`, {
      METRICS_PORT: String(port),
      ...extraEnv,
    });
    return id;
  };

  try {
    await Promise.all([
      start('gateway', 'gateway', `${gatewayUrl}/readyz`),
      start('notifier', 'notifier', `${notifierUrl}/readyz`),
      ...Array.from({ length: options.workers ?? 1 }, () => addWorker()),
    ]);
  } catch (error) {
    // Nothing from a failed start is left running (no orphaned worker on the queue).
    await supervisor.stop(0);
    throw error;
  }

  return {
    gatewayUrl,
    notifierUrl,
    env,
    services,
    addWorker,
    stop: () => supervisor.stop(),
  };
}
