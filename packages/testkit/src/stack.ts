import { freePort } from './ports.js';
import { startService, type ServiceName, type ServiceProcess } from './service-process.js';

export interface Stack {
  gatewayUrl: string;
  notifierUrl: string;
  /** Environment shared by every service (database, broker, bucket, secrets). */
  env: Record<string, string>;
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
  const start = async (
    id: string,
    name: ServiceName,
    readyUrl: string,
    extra: Record<string, string> = {},
  ) => {
    services.set(id, await startService(name, { ...env, ...extra }, readyUrl, options));
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
    await Promise.all([...services.values()].map((s) => s.kill()));
    throw error;
  }

  return {
    gatewayUrl,
    notifierUrl,
    env,
    services,
    addWorker,
    async stop() {
      await Promise.all([...services.values()].map((s) => s.stop()));
    },
  };
}
