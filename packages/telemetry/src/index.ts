export { createLogger, type Logger } from './logger.js';
export { createRegistry, serveMetrics, Counter, Gauge, Histogram, Registry } from './metrics.js';
