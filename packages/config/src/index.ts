export { ConfigError, parseEnv, loadConfigOrExit, bool, port, positiveInt, url } from './env.js';
export {
  common,
  DEFAULT_DATABASE_URL,
  s3,
  webhookPolicy,
  engineLanguages,
  gatewaySchema,
  workerSchema,
  notifierSchema,
  storageOptions,
  postgresOptions,
  type GatewayConfig,
  type WorkerConfig,
  type NotifierConfig,
} from './schemas.js';
export {
  engineLanguageSupport,
  isEnglishOnlyWhisperModel,
  type EngineLanguageConfig,
} from './engine-languages.js';
export { ModelAliases, EngineModelSpec, type EngineModel } from './model-aliases.js';
