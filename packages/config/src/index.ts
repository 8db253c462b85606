export { ConfigError, parseEnv, loadConfigOrExit, bool, port, positiveInt, url } from './env.js';
export {
  common,
  s3,
  gatewaySchema,
  workerSchema,
  notifierSchema,
  storageOptions,
  postgresOptions,
  type GatewayConfig,
  type WorkerConfig,
  type NotifierConfig,
} from './schemas.js';
