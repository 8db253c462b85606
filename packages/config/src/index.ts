export { ConfigError, parseEnv, loadConfigOrExit, bool, port, positiveInt, url } from './env.js';
export {
  common,
  DEFAULT_DATABASE_URL,
  s3,
  webhookPolicy,
  gatewaySchema,
  workerSchema,
  notifierSchema,
  storageOptions,
  postgresOptions,
  type GatewayConfig,
  type WorkerConfig,
  type NotifierConfig,
} from './schemas.js';
