import { pingDatabase, poolProbe, type Db } from '@transcribe/db';
import {
  runReadyChecks,
  startLivenessMonitor,
  type LivenessMonitor,
  type ProbeHandlers,
} from '@transcribe/telemetry';

export interface WorkerHealthOptions {
  /** Each readiness check answers within this. */
  readyTimeoutMs: number;
  /** Event-loop stall or stuck database pool longer than this: `/healthz` 503. */
  stallMs: number;
}

/**
 * The worker's probes: ready when RabbitMQ and Postgres answer, live unless wedged. A worker
 * whose Postgres hangs stops being ready within `readyTimeoutMs`; one whose pool is stuck for
 * good is restarted.
 */
export function workerProbes(
  deps: { db: Db; isBrokerConnected: () => boolean },
  options: WorkerHealthOptions,
): ProbeHandlers & { monitor: LivenessMonitor } {
  const probe = poolProbe(deps.db);
  const monitor = startLivenessMonitor({
    stallMs: options.stallMs,
    pools: probe ? [probe] : [],
  });
  return {
    monitor,
    live: () => monitor.check(),
    ready: () =>
      runReadyChecks(
        {
          rabbitmq: deps.isBrokerConnected,
          postgres: () => pingDatabase(deps.db),
        },
        options.readyTimeoutMs,
      ),
  };
}
