import { z } from 'zod';
import { EngineName } from '@transcribe/contracts';
import { bool, nonNegativeInt, port, positiveInt, url } from './env.js';

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
  /** Largest accepted upload; over 5 GiB needs a multipart upload. */
  MAX_UPLOAD_BYTES: positiveInt.default(10 * 1024 ** 3),
  /** Largest upload through the gateway itself (`POST /v1/jobs/upload`). */
  MAX_FORM_UPLOAD_BYTES: positiveInt.default(1024 ** 3),
  UPLOAD_URL_TTL_S: positiveInt.max(7 * 24 * 3600).default(900),
  /** How long a multipart upload may take to finish before the sweeper aborts it. */
  MULTIPART_TTL_S: positiveInt.max(7 * 24 * 3600).default(24 * 3600),
  EVENTS_TOKEN_TTL_S: positiveInt.default(3600),
  OUTBOX_POLL_MS: positiveInt.default(1000),
  /** Engines jobs may ask for (comma-separated); the first is the default. */
  ENGINES: z
    .string()
    .default('sphinx')
    .transform((s) =>
      s
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean),
    )
    .pipe(z.array(EngineName).min(1, 'name at least one engine')),
  /** Per tenant, per minute; 0 turns the limit off. */
  RATE_LIMIT_JOBS_PER_MIN: nonNegativeInt.default(120),
  RATE_LIMIT_UPLOADS_PER_MIN: nonNegativeInt.default(120),
  /** Finished jobs, their objects and transcripts are deleted after this many days; 0 keeps them. */
  RETENTION_DAYS: nonNegativeInt.default(30),
  SWEEP_INTERVAL_S: positiveInt.default(300),
  /** Origins allowed by CORS (comma-separated, or *); unset: no CORS headers. */
  /** Seconds of decoded audio one tenant may start per UTC day (per-tenant override in the database); 0 no limit. */
  TENANT_MAX_AUDIO_S_PER_DAY: nonNegativeInt.default(0),
  CORS_ORIGINS: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .optional(),
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
  /** Attempts lost to vanished workers or hand-overs (not charged to MAX_ATTEMPTS) before a job fails `worker_lost`. */
  MAX_LOST_ATTEMPTS: positiveInt.max(100).default(10),
  /** Seconds of decoded audio one tenant may start per UTC day (per-tenant override in the database); 0 no limit. */
  TENANT_MAX_AUDIO_S_PER_DAY: nonNegativeInt.default(0),
  /** Audio is transcribed in chunks of about this length, cut at a silence near the boundary. */
  CHUNK_SECONDS: positiveInt.min(5).default(300),
  /** How far from the target boundary a silence may be to cut there instead. */
  CHUNK_WINDOW_S: nonNegativeInt.default(20),
  /** A job with at least this many chunks fans them out to the whole worker pool; 0 never. */
  FANOUT_MIN_CHUNKS: nonNegativeInt.default(3),
  /** Limit per attempt; past it the job fails with `timeout`. */
  JOB_TIMEOUT_S: positiveInt.default(4 * 3600),
  /** A processing job whose worker stops renewing this lease is requeued by a reaper. */
  LEASE_S: positiveInt.min(3).default(60),
  /** Retry backoff: base * 2^(attempt-1), capped, with jitter. */
  RETRY_BASE_MS: positiveInt.default(5000),
  RETRY_MAX_MS: positiveInt.default(5 * 60_000),
  REAPER_INTERVAL_S: positiveInt.default(30),
  /** A queued job untouched this long with no message waiting is republished. */
  STALE_QUEUED_S: positiveInt.default(15 * 60),
  /** On SIGTERM, how long the current job may run on before it is requeued. */
  WORKER_GRACE_S: nonNegativeInt.default(60),
  /** Jobs of one tenant processing at once (per-tenant override in tenants.max_concurrent_jobs). */
  TENANT_MAX_CONCURRENT_JOBS: positiveInt.default(10),
  SPHINX_HMM: z.string().optional(),
  SPHINX_LM: z.string().optional(),
  SPHINX_DICT: z.string().optional(),
  /** Engine for jobs that name none. */
  DEFAULT_ENGINE: EngineName.default('sphinx'),
  /** OpenAI-compatible server (OpenAI itself when unset); either this or the key enables `openai`. */
  OPENAI_BASE_URL: url.optional(),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_MODEL: z.string().min(1).default('whisper-1'),
  /** Retries of one request after 429, 5xx or a dropped connection, honouring Retry-After. */
  OPENAI_MAX_RETRIES: nonNegativeInt.max(20).default(4),
  /** GGML model file; setting it enables `whisper-cpp`. Jobs may name other files in its folder. */
  WHISPER_MODEL_PATH: z.string().optional(),
  /** Threads per whisper.cpp transcription; default: the CPUs this process may use. */
  WHISPER_THREADS: positiveInt.max(256).optional(),
  OUTBOX_POLL_MS: positiveInt.default(1000),
});
export type WorkerConfig = z.infer<typeof workerSchema>;

export const notifierSchema = z.object({
  ...common,
  NOTIFIER_PORT: port.default(8081),
  WS_HEARTBEAT_MS: positiveInt.default(30000),
  /** A client whose unsent bytes exceed this is disconnected (close code 4408). */
  WS_MAX_BUFFERED_BYTES: positiveInt.default(1024 * 1024),
  /** Open event streams (WebSocket + SSE) one tenant may hold on one notifier (close code 4429). */
  WS_MAX_CONNECTIONS_PER_TENANT: positiveInt.default(1000),
  /** Base URL of the gateway as clients reach it: links in completed events and webhooks. */
  PUBLIC_API_URL: url.default('http://localhost:8080'),
  /** Let webhooks reach loopback/private/link-local addresses: local development only. */
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  WEBHOOK_MAX_ATTEMPTS: positiveInt.max(50).default(8),
  /** Delay before the 2nd attempt; doubled each time (with jitter), up to WEBHOOK_BACKOFF_MAX_MS. */
  WEBHOOK_BACKOFF_BASE_MS: positiveInt.default(10_000),
  WEBHOOK_BACKOFF_MAX_MS: positiveInt.default(3_600_000),
  WEBHOOK_TIMEOUT_MS: positiveInt.default(10_000),
  /** How often each notifier looks for due webhook deliveries. */
  WEBHOOK_POLL_MS: positiveInt.default(1000),
  WEBHOOK_CONCURRENCY: positiveInt.max(256).default(16),
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
