import { z } from 'zod';
import { bool, port, positiveInt, url } from './env.js';

/** Variables every service reads. */
export const common = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: url.default('postgres://postgres@127.0.0.1:5432/postgres'),
  AMQP_URL: url.default('amqp://guest:guest@127.0.0.1:5672'),
  /** Prefix for every exchange and queue name, so several stacks can share one broker. */
  AMQP_PREFIX: z
    .string()
    .regex(/^[a-z0-9._-]*$/, 'only lowercase letters, digits, ".", "_" and "-"')
    .default(''),
  /** HMAC secret for the short-lived WebSocket subscription tokens (gateway signs, notifier verifies). */
  TOKEN_SECRET: z.string().min(16, 'must be at least 16 characters'),
};

export const s3 = {
  S3_ENDPOINT: url.optional(),
  /** Endpoint put into presigned URLs, when clients reach S3 under another address than services do. */
  S3_PUBLIC_ENDPOINT: url.optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_BUCKET: z.string().min(3),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  S3_FORCE_PATH_STYLE: bool.default(true),
};

export const gatewaySchema = z.object({
  ...common,
  ...s3,
  GATEWAY_PORT: port.default(8080),
  /** Base URL clients use to reach the gateway (links in responses). */
  PUBLIC_URL: url.optional(),
  /** Base WebSocket URL of the notifier, e.g. ws://localhost:8081 (links.events). */
  EVENTS_PUBLIC_URL: url.default('ws://localhost:8081'),
  /** Ensured at start as an API key of the `dev` tenant, for local use. */
  DEV_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  MAX_UPLOAD_BYTES: positiveInt.default(2 * 1024 * 1024 * 1024),
  UPLOAD_URL_TTL_S: positiveInt.max(7 * 24 * 3600).default(900),
  EVENTS_TOKEN_TTL_S: positiveInt.default(3600),
  OUTBOX_POLL_MS: positiveInt.default(1000),
});
export type GatewayConfig = z.infer<typeof gatewaySchema>;

export const workerSchema = z.object({
  ...common,
  ...s3,
  WORKER_CONCURRENCY: positiveInt.max(64).default(1),
  METRICS_PORT: port.default(9091),
  TMP_DIR: z.string().optional(),
  MAX_DURATION_S: positiveInt.default(4 * 3600),
  MAX_ATTEMPTS: positiveInt.max(20).default(3),
  SPHINX_HMM: z.string().optional(),
  SPHINX_LM: z.string().optional(),
  SPHINX_DICT: z.string().optional(),
  OUTBOX_POLL_MS: positiveInt.default(1000),
});
export type WorkerConfig = z.infer<typeof workerSchema>;

export const notifierSchema = z.object({
  ...common,
  NOTIFIER_PORT: port.default(8081),
  WS_HEARTBEAT_MS: positiveInt.default(30000),
  /** A client whose unsent bytes exceed this is disconnected (close code 4408). */
  WS_MAX_BUFFERED_BYTES: positiveInt.default(1024 * 1024),
});
export type NotifierConfig = z.infer<typeof notifierSchema>;

/** The S3 part of a service's config, in the shape packages/storage takes. */
export function storageOptions(config: z.infer<z.ZodObject<typeof s3>>) {
  return {
    bucket: config.S3_BUCKET,
    region: config.S3_REGION,
    endpoint: config.S3_ENDPOINT,
    publicEndpoint: config.S3_PUBLIC_ENDPOINT,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
  };
}
