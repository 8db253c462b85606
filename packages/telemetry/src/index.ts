export { createLogger, type Logger } from './logger.js';
export {
  createRegistry,
  serveMetrics,
  type ProbeHandlers,
  Counter,
  Gauge,
  Histogram,
  Registry,
} from './metrics.js';
export {
  startLivenessMonitor,
  type LivenessMonitor,
  type LivenessOptions,
  type LivenessReport,
  type ProgressProbe,
} from './liveness.js';
export { runReadyChecks, type ReadinessReport, type ReadyCheck } from './readiness.js';
