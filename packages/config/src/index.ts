export { ConfigError, parseEnv, bool, port, positiveInt, url } from './env.js';
export {
  common,
  s3,
  gatewaySchema,
  workerSchema,
  notifierSchema,
  type GatewayConfig,
  type WorkerConfig,
  type NotifierConfig,
} from './schemas.js';
