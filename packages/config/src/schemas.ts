import { z } from 'zod';
import { EngineName } from '@transcribe/contracts';
import { bool, nonNegativeInt, port, positiveInt, url } from './env.js';
import { ModelAliases } from './model-aliases.js';

/**
 * The one default database for services, `pnpm stack`, `pnpm migrate` and the operator CLI,
 * so a key made with the CLI is one the stack's gateway knows.
 */
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/transcribe';

/** Variables every service reads. */
export const common = {
  /**
   * Address the service's HTTP server listens on (the worker's: /metrics and probes).
   * `0.0.0.0` (all interfaces) suits containers; `pnpm stack` uses `127.0.0.1` so a
   * development stack is not reachable from the network.
   */
  HOST: z.string().min(1).default('0.0.0.0'),
  /** pino log level; logs are JSON lines on stdout with request and job ids. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Postgres connection URL (add `?sslmode=require` for a managed server). */
  DATABASE_URL: url.default(DEFAULT_DATABASE_URL),
  /** RabbitMQ connection URL (`amqps://` for TLS). */
  AMQP_URL: url.default('amqp://guest:guest@127.0.0.1:5672'),
  /**
   * Prefix for every exchange and queue name, so several stacks can share one broker. Used
   * as-is, no separator added: `staging.` gives `staging.transcribe.jobs`, `nc` gives `nctranscribe.jobs`.
   */
  AMQP_PREFIX: z
    .string()
    .regex(/^[a-z0-9._-]*$/, 'only lowercase letters, digits, ".", "_" and "-"')
    .default(''),
  /** Opening a Postgres connection, or waiting for a free one in the pool, before a 503. */
  PG_CONNECT_TIMEOUT_MS: positiveInt.default(5000),
  /** Server-side `statement_timeout` of every connection; 0 turns it off. */
  PG_STATEMENT_TIMEOUT_MS: nonNegativeInt.default(15_000),
  /** Client-side limit per query when Postgres cannot even answer (network gone); keep it above the statement timeout; 0 off. */
  PG_QUERY_TIMEOUT_MS: nonNegativeInt.default(20_000),
  /** `idle_in_transaction_session_timeout`: frees the locks of a client that died mid-transaction; 0 off. */
  PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: nonNegativeInt.default(60_000),
  /** TCP keep-alive delay on Postgres sockets, so a silently dropped connection is noticed. */
  PG_KEEPALIVE_DELAY_MS: positiveInt.default(10_000),
  /** Each `/readyz` check (Postgres, RabbitMQ, S3) answers within this or counts as failed; the gateway's `/metrics` waits for its Postgres and broker figures no longer. */
  READY_CHECK_TIMEOUT_MS: positiveInt.default(2000),
  /**
   * `/healthz` answers 503 (so the orchestrator restarts the process) once the event loop has
   * stalled, or a database pool has had callers waiting with no progress, for this long. Keep it
   * above PG_QUERY_TIMEOUT_MS: a pool that is only slow always progresses within that.
   */
  LIVENESS_STALL_MS: positiveInt.default(60_000),
};

/** Read by the gateway (signs events tokens) and the notifier (verifies them); not the worker. */
export const eventsToken = {
  /** HMAC secret for the short-lived WebSocket subscription tokens (gateway signs, notifier verifies). */
  TOKEN_SECRET: z.string().min(16, 'must be at least 16 characters'),
};

/** Read by the gateway (refusing webhook URLs at the API) and the notifier (at send time). */
export const webhookPolicy = {
  /** Let webhooks reach loopback/private/link-local addresses: local development only. */
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
};

const languageList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((l) => l.trim().toLowerCase())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(z.string().regex(/^[a-z]{2,3}$/, 'ISO-639 codes like "en", comma-separated'))
      .min(1, 'name at least one language'),
  );

/**
 * What each engine's models can transcribe: the gateway refuses other languages at job
 * creation (`language_unsupported`), and a worker checks again before any engine work, so
 * both must see the same values.
 */
export const engineLanguages = {
  /** Language of the PocketSphinx model (Debian's default model is `en`); set it with SPHINX_HMM/LM/DICT. */
  SPHINX_LANGUAGE: z
    .string()
    .regex(/^[a-z]{2,3}$/, 'an ISO-639 code like "en"')
    .default('en'),
  /**
   * GGML model file; setting it enables `whisper-cpp` (worker). Jobs may name other files in its
   * folder. The gateway reads only the name: `*.en.bin` models are English-only, others multilingual.
   */
  WHISPER_MODEL_PATH: z.string().optional(),
  /** Languages the OpenAI-compatible server's models transcribe (comma-separated codes); unset: Whisper's ~100. */
  OPENAI_LANGUAGES: languageList.optional(),
};

export const s3 = {
  /** S3 API endpoint for MinIO or another S3-compatible store; unset: AWS S3 of S3_REGION. */
  S3_ENDPOINT: url.optional(),
  /** Endpoint put into presigned URLs, when clients reach S3 under another address than services do. */
  S3_PUBLIC_ENDPOINT: url.optional(),
  /** Region of the bucket (and of the SigV4 signatures). */
  S3_REGION: z.string().default('us-east-1'),
  /** Bucket for uploads, chunk audio and nothing else; it must exist. */
  S3_BUCKET: z.string().min(3),
  /** Static credentials; unset: the AWS SDK's default chain (IRSA, instance roles…). */
  S3_ACCESS_KEY_ID: z.string().optional(),
  /** Secret of S3_ACCESS_KEY_ID. */
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** Path-style URLs (`endpoint/bucket/key`), as MinIO needs; `false` for AWS virtual-hosted style. */
  S3_FORCE_PATH_STYLE: bool.default(true),
};

/**
 * The chat engine of enrichments (issue 15): any OpenAI-compatible chat completions
 * endpoint (Ollama, vLLM, llama.cpp server, OpenAI). Read by the gateway (only to know
 * whether enrichments can be asked for) and by workers on the enrich lane.
 */
export const enrichmentEngine = {
  /**
   * Base URL of the chat completions server, e.g. `http://ollama:11434/v1`. Unset: no
   * enrichments; asking for one answers 503 `enrichment_unavailable` and queues nothing.
   */
  ENRICH_BASE_URL: url.optional(),
};

export const gatewaySchema = z.object({
  ...common,
  ...eventsToken,
  ...s3,
  ...enrichmentEngine,
  /** Port of the API, web UI, /healthz, /readyz and /metrics. */
  GATEWAY_PORT: port.default(8080),
  /** Base URL clients use to reach the gateway (links in responses). */
  PUBLIC_URL: url.optional(),
  /** Base WebSocket URL of the notifier, e.g. ws://localhost:8081 (links.events). */
  EVENTS_PUBLIC_URL: url.default('ws://localhost:8081'),
  /**
   * A processing job whose progress has not moved for longer than this shows
   * `stalledSinceS` in its JSON and counts in the `transcribe_jobs_stalled` gauge.
   */
  STALL_AFTER_S: positiveInt.default(60),
  /** Ensured at start as an API key of the `dev` tenant, for local use. */
  DEV_API_KEY: z
    .string()
    .regex(/^[\x21-\x7e]{16,200}$/, 'must be 16-200 printable ASCII characters, no spaces')
    .optional(),
  /**
   * Failed API-key attempts allowed per minute per client address and per key prefix (a burst
   * of as many, refilled evenly), counted in this process's memory; then 429. 0 turns it off.
   */
  AUTH_FAILURES_PER_MIN: nonNegativeInt.default(30),
  /** Largest accepted upload; over 5 GiB needs a multipart upload. */
  MAX_UPLOAD_BYTES: positiveInt.default(10 * 1024 ** 3),
  /** Largest upload through the gateway itself (`POST /v1/jobs/upload`). */
  MAX_FORM_UPLOAD_BYTES: positiveInt.default(1024 ** 3),
  /** Lifetime of presigned upload URLs. */
  UPLOAD_URL_TTL_S: positiveInt.max(7 * 24 * 3600).default(900),
  /** How long a multipart upload may take to finish before the sweeper aborts it. */
  MULTIPART_TTL_S: positiveInt.max(7 * 24 * 3600).default(24 * 3600),
  /** Lifetime of the events token returned with each job (WebSocket/SSE without an API key). */
  EVENTS_TOKEN_TTL_S: positiveInt.default(3600),
  /** How often the outbox relay looks for unpublished messages when nothing woke it. */
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
  ...engineLanguages,
  /**
   * OpenAI-compatible API (`POST /v1/audio/transcriptions`): what its `model` names mean,
   * as `name=engine[:model]` pairs, comma-separated (e.g.
   * `whisper-1=sphinx,gpt-4o-transcribe=openai:gpt-4o-transcribe`). Our own names
   * (`sphinx`, `whisper-cpp[:model]`, `openai:<model>`) always work; `whisper-1`, unless
   * named here, is the first of ENGINES.
   */
  OPENAI_MODEL_ALIASES: z.string().default('').pipe(ModelAliases),
  /**
   * How long `POST /v1/audio/transcriptions` waits for its job before answering 202 with
   * the job's id and links to follow it.
   */
  SYNC_WAIT_S: positiveInt.max(3600).default(600),
  /** Jobs one tenant may create per minute, counted like RATE_LIMIT_UPLOADS_PER_MIN; 0 turns the limit off. */
  RATE_LIMIT_JOBS_PER_MIN: nonNegativeInt.default(120),
  /** Uploads one tenant may start per minute, counted in each gateway's memory and shared across replicas through Postgres (RATE_LIMIT_SYNC_MS); 0 turns the limit off. */
  RATE_LIMIT_UPLOADS_PER_MIN: nonNegativeInt.default(120),
  /**
   * How often each gateway adds the requests it counted in memory to the shared rate-limit
   * rows in Postgres. With several replicas a tenant may exceed its budget by what the
   * others admitted within this interval; one replica counts exactly.
   */
  RATE_LIMIT_SYNC_MS: positiveInt.max(10_000).default(250),
  /**
   * Postgres connections of the gateway's API pool. A burst of requests waits for one
   * (at most PG_CONNECT_TIMEOUT_MS, then 503); keep replicas × this below the server's
   * max_connections.
   */
  PG_POOL_MAX: positiveInt.max(1000).default(10),
  /**
   * How long a gateway trusts an API key it looked up, before it asks Postgres again. A key
   * revoked with the CLI is refused by every gateway at once (Postgres NOTIFY); should that
   * message be lost (the listening connection was down), within this bound.
   */
  API_KEY_CACHE_TTL_MS: nonNegativeInt.max(300_000).default(10_000),
  /** Finished jobs, their objects and transcripts are deleted after this many days; 0 keeps them. */
  RETENTION_DAYS: nonNegativeInt.default(30),
  /** How often each gateway sweeps expired uploads and jobs past retention (replicas share the work). */
  SWEEP_INTERVAL_S: positiveInt.default(300),
  ...webhookPolicy,
  /** How long the API waits for DNS when checking a webhook URL; no answer in time: accepted. */
  WEBHOOK_DNS_TIMEOUT_MS: positiveInt.max(30_000).default(2000),
  /** Seconds of decoded audio one tenant may start per UTC day (per-tenant override in the database); 0 no limit. */
  TENANT_MAX_AUDIO_S_PER_DAY: nonNegativeInt.default(0),
  /** Jobs one tenant may have queued at once (per-tenant override in the database); more are refused 429 `quota_exceeded`; 0 no limit. */
  TENANT_MAX_QUEUED_JOBS: nonNegativeInt.default(10_000),
  /** Jobs of one tenant processing at once (per-tenant override in tenants.max_concurrent_jobs); workers enforce it, the gateway reports it in `GET /v1/queue`. */
  TENANT_MAX_CONCURRENT_JOBS: positiveInt.default(10),
  /** Origins allowed by CORS (comma-separated, or *); unset: no CORS headers. */
  CORS_ORIGINS: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .optional(),
  /**
   * Which peers' X-Forwarded-For the gateway believes when it names a client (logs, the
   * failed-key throttle): a hop count (`1`: one ingress in front), addresses/subnets, or
   * express's names. The default believes proxies on private networks only, so a client on
   * the internet cannot pick its own address; `false` believes none.
   */
  TRUST_PROXY: z
    .string()
    .default('loopback, linklocal, uniquelocal')
    .transform((s): boolean | number | string =>
      /^\d+$/.test(s) ? Number(s) : s === 'true' ? true : s === 'false' ? false : s,
    ),
});
export type GatewayConfig = z.infer<typeof gatewaySchema>;

export const workerSchema = z.object({
  ...common,
  ...s3,
  /**
   * Which queues this worker consumes: `transcribe` (the jobs queue), `enrich` (the
   * enrichment lane), or both (comma-separated). Split them to scale each on its own depth.
   */
  WORKER_LANES: z
    .string()
    .default('transcribe,enrich')
    .transform((s) =>
      s
        .split(',')
        .map((lane) => lane.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(['transcribe', 'enrich'])).min(1, 'name at least one lane')),
  ...enrichmentEngine,
  /** Key for the chat server (Ollama and llama.cpp need none). Never logged. */
  ENRICH_API_KEY: z.string().optional(),
  /** Chat model, as the server names it (e.g. `llama3.1:8b` on Ollama, `gpt-4o-mini` on OpenAI). */
  ENRICH_MODEL: z.string().min(1).default('gpt-4o-mini'),
  /** The model's context window in tokens: a long transcript is split into pieces that fit it. */
  ENRICH_CONTEXT_TOKENS: positiveInt.min(1024).default(8192),
  /** Upper bound on one answer's tokens (`max_tokens`); output is length-bounded. */
  ENRICH_MAX_OUTPUT_TOKENS: positiveInt.min(64).default(2048),
  /** Enrichment messages one worker process works on at once (each runs one request at a time). */
  ENRICH_CONCURRENCY: positiveInt.max(64).default(2),
  /** Messages queued for a many-piece enrichment, so that many workers can take its pieces at once. */
  ENRICH_FANOUT: positiveInt.max(64).default(4),
  /** Retries of one chat request after 429, 5xx or a dropped connection, honouring Retry-After. */
  ENRICH_MAX_RETRIES: nonNegativeInt.max(20).default(4),
  /** Attempts of one enrichment (each resumes the stored pieces) before it fails. */
  ENRICH_MAX_ATTEMPTS: positiveInt.max(20).default(3),
  /** One chat request's limit; past it the request is aborted and retried. */
  ENRICH_REQUEST_TIMEOUT_S: positiveInt.default(300),
  /** Limit of one enrichment from its first piece; past it the task fails `timeout`. */
  ENRICH_TIMEOUT_S: positiveInt.default(3600),
  /**
   * Optional cap on one piece's transcript, in estimated tokens (≈ 4 characters each),
   * below what ENRICH_CONTEXT_TOKENS allows: smaller pieces spread a transcript over more
   * workers and requests. Unset: pieces are as large as the context allows.
   */
  ENRICH_PIECE_TOKENS: positiveInt.min(16).optional(),
  /**
   * A piece's (or the combine step's) lease: renewed every second while its request
   * runs, so only a dead worker's runs out, and then another worker takes the piece.
   */
  ENRICH_LEASE_S: positiveInt.min(3).default(30),
  /** Jobs (and chunks) one worker process runs at once; also its prefetch. Request one CPU per job. */
  WORKER_CONCURRENCY: positiveInt.max(64).default(1),
  /** Port of the worker's /metrics, /healthz and /readyz. */
  METRICS_PORT: port.default(9091),
  /** Scratch space for downloads and decoded audio (about 115 MB per hour of audio); default: the OS temp folder. */
  TMP_DIR: z.string().optional(),
  /**
   * Longest accepted recording, measured on the decoded audio; longer fails `too_long` before
   * any engine work. The default (12 h) covers the 10 hours hosted services take; what one
   * tenant may send is bounded by TENANT_MAX_AUDIO_S_PER_DAY, the guard against abuse.
   */
  MAX_DURATION_S: positiveInt.default(12 * 3600),
  /** Attempts charged to a job (engine or transient failures) before it fails `engine_failed` and is dead-lettered. */
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
  /**
   * A recording longer than one chunk is cut into at least this many equal chunks (none
   * under 30 s) when it fans out, so a recording of a few chunks still spreads over the
   * worker pool; a multiple of the pool's size lets the workers finish together.
   */
  FANOUT_SPREAD_CHUNKS: positiveInt.max(1000).default(8),
  /** Limit per attempt; past it the job fails with `timeout`. */
  JOB_TIMEOUT_S: positiveInt.default(4 * 3600),
  /** A processing job whose worker stops renewing this lease is requeued by a reaper. */
  LEASE_S: positiveInt.min(3).default(60),
  /** Retry backoff: base * 2^(attempt-1), capped, with jitter. */
  RETRY_BASE_MS: positiveInt.default(5000),
  /** Cap of the retry delay. */
  RETRY_MAX_MS: positiveInt.default(5 * 60_000),
  /** How often each worker's reaper looks for expired leases and lost queued jobs. */
  REAPER_INTERVAL_S: positiveInt.default(30),
  /** A queued job untouched this long with no message waiting is republished. */
  STALE_QUEUED_S: positiveInt.default(15 * 60),
  /**
   * How often each worker announces changed queue positions (`position` events; at most
   * one per job per this many seconds).
   */
  POSITION_EVENTS_S: positiveInt.default(5),
  /** On SIGTERM, how long the current job may run on before it is requeued. */
  WORKER_GRACE_S: nonNegativeInt.default(60),
  /** Jobs of one tenant processing at once (per-tenant override in tenants.max_concurrent_jobs); workers enforce it, the gateway reports it in `GET /v1/queue`. */
  TENANT_MAX_CONCURRENT_JOBS: positiveInt.default(10),
  /**
   * Which queued work a free worker takes: `fair` (weighted round-robin between tenants
   * within each priority, chosen in Postgres) or `fifo` (the broker's order, each message
   * its own job: the behaviour before issue 17, kept for comparison).
   */
  SCHEDULER: z.enum(['fair', 'fifo']).default('fair'),
  /** Tenants given their own label on per-tenant metrics (the first seen); the rest are counted as `other`. */
  METRICS_TENANT_LABELS: nonNegativeInt.max(1000).default(20),
  ...engineLanguages,
  /**
   * Keep PocketSphinx's model loaded between chunks, in a resident decoder process per
   * concurrent transcription (about 140 MB each); `false` runs `pocketsphinx_continuous`
   * for each chunk, loading the model every time.
   */
  SPHINX_RESIDENT: bool.default(true),
  /** PocketSphinx acoustic model folder; default: Debian's en-us. */
  SPHINX_HMM: z.string().optional(),
  /** PocketSphinx language model; default: Debian's en-us. */
  SPHINX_LM: z.string().optional(),
  /** PocketSphinx pronunciation dictionary; default: Debian's cmudict-en-us. */
  SPHINX_DICT: z.string().optional(),
  /** Engine for jobs that name none. */
  DEFAULT_ENGINE: EngineName.default('sphinx'),
  /** OpenAI-compatible server (OpenAI itself when unset); either this or the key enables `openai`. */
  OPENAI_BASE_URL: url.optional(),
  /** Key for the OpenAI-compatible server; setting it enables `openai`. */
  OPENAI_API_KEY: z.string().optional(),
  /** Model of `openai` jobs that name none. */
  OPENAI_MODEL: z.string().min(1).default('whisper-1'),
  /** Retries of one request after 429, 5xx or a dropped connection, honouring Retry-After. */
  OPENAI_MAX_RETRIES: nonNegativeInt.max(20).default(4),
  /** Threads per whisper.cpp transcription; default: the CPUs this process may use. */
  WHISPER_THREADS: positiveInt.max(256).optional(),
  /** How often the outbox relay looks for unpublished messages when nothing woke it. */
  OUTBOX_POLL_MS: positiveInt.default(1000),
});
export type WorkerConfig = z.infer<typeof workerSchema>;

export const notifierSchema = z.object({
  ...common,
  ...eventsToken,
  /** Port of the WebSocket and SSE event streams, /healthz, /readyz and /metrics. */
  NOTIFIER_PORT: port.default(8081),
  /** Ping interval; a client that does not answer one is dropped. */
  WS_HEARTBEAT_MS: positiveInt.default(30000),
  /** A client whose unsent bytes exceed this is disconnected (close code 4408). */
  WS_MAX_BUFFERED_BYTES: positiveInt.default(1024 * 1024),
  /** Open event streams (WebSocket + SSE) one tenant may hold on one notifier (close code 4429). */
  WS_MAX_CONNECTIONS_PER_TENANT: positiveInt.default(1000),
  /**
   * How long an event going to 1,000 or more WebSocket subscribers at once waits for the
   * events right behind it, so each subscriber gets them in one write; smaller fan-outs are
   * sent at once. 0 turns the wait off.
   */
  WS_WRITE_DELAY_MS: nonNegativeInt.max(1000).default(5),
  /**
   * How long the position of a job read to admit one subscriber answers the next admissions
   * of that job (after a restart, thousands of its subscribers reconnect at once). A deleted
   * job is heard of at once (Postgres NOTIFY); this bounds it should that message be lost.
   * 0: one read per admission.
   */
  WS_JOB_HEAD_KEEP_MS: nonNegativeInt.max(60_000).default(2000),
  /** Base URL of the gateway as clients reach it: links in completed events and webhooks. */
  PUBLIC_API_URL: url.default('http://localhost:8080'),
  ...webhookPolicy,
  /**
   * Attempts per webhook delivery, refused URLs and 410 Gone excepted (one). With the
   * default backoff a receiver that never answers gets 16 attempts, the last 28.9–38.5 h
   * after the first: a day-long outage is ridden out (schedule: retry-schedule.ts).
   */
  WEBHOOK_MAX_ATTEMPTS: positiveInt.max(50).default(16),
  /** Delay before the 2nd attempt; doubled each time (¾–1× jitter), up to WEBHOOK_BACKOFF_MAX_MS. */
  WEBHOOK_BACKOFF_BASE_MS: positiveInt.default(30_000),
  /** Cap of the delay between two webhook attempts. */
  WEBHOOK_BACKOFF_MAX_MS: positiveInt.default(6 * 3_600_000),
  /** Limit of one webhook attempt (connect, send, answer). */
  WEBHOOK_TIMEOUT_MS: positiveInt.default(10_000),
  /**
   * Consecutive failed attempts (no answer, 5xx, 429) to one receiver origin after which its
   * deliveries are deferred, not attempted, until a probe succeeds; 0 turns this off.
   */
  WEBHOOK_BREAKER_THRESHOLD: nonNegativeInt.default(5),
  /** How long an open circuit waits before letting one probe attempt through. */
  WEBHOOK_BREAKER_COOLDOWN_MS: positiveInt.default(60_000),
  /** How often each notifier looks for due webhook deliveries. */
  WEBHOOK_POLL_MS: positiveInt.default(1000),
  /** Webhook attempts one notifier makes at once. */
  WEBHOOK_CONCURRENCY: positiveInt.max(256).default(16),
});
export type NotifierConfig = z.infer<typeof notifierSchema>;

/** The Postgres part of a service's config, in the shape packages/db's createDb takes. */
export function postgresOptions(config: z.infer<z.ZodObject<typeof common>>) {
  return {
    connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: config.PG_STATEMENT_TIMEOUT_MS,
    queryTimeoutMs: config.PG_QUERY_TIMEOUT_MS,
    idleInTransactionTimeoutMs: config.PG_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    keepAliveDelayMs: config.PG_KEEPALIVE_DELAY_MS,
  };
}

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
