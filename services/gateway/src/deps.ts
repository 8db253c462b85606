import type { Db } from '@transcribe/db';
import type { Broker, OutboxRelay } from '@transcribe/queue';
import type { Storage } from '@transcribe/storage';
import type { LivenessReport, Logger, Registry } from '@transcribe/telemetry';
import type { EngineName } from '@transcribe/contracts';
import type { EngineLanguageConfig, EngineModel } from '@transcribe/config';
import type { JobEventFeed } from './job-event-feed.js';
import type { LinkBases } from './job-view.js';
import type { ApiKeyCache } from './api-key-cache.js';
import type { AuthThrottle } from './auth-throttle.js';
import type { RateLimits } from './rate-limit.js';

export interface GatewaySettings {
  tokenSecret: string;
  /** STALL_AFTER_S: a processing job unmoved this long shows `stalledSinceS`; default 60. */
  stallAfterS?: number;
  /** express's `trust proxy` (TRUST_PROXY); default: proxies on private networks only. */
  trustProxy?: boolean | number | string;
  maxUploadBytes: number;
  /** Limit of `POST /v1/jobs/upload`, streamed through the gateway. */
  maxFormUploadBytes: number;
  uploadUrlTtlS: number;
  multipartTtlS: number;
  eventsTokenTtlS: number;
  /** Engines jobs may name; the first is the default. */
  engines: readonly EngineName[];
  /** What decides each engine's languages (SPHINX_LANGUAGE, WHISPER_MODEL_PATH, OPENAI_LANGUAGES); default: sphinx `en`. */
  engineLanguages?: EngineLanguageConfig;
  /** Origins allowed by CORS; undefined: no CORS headers. */
  corsOrigins?: readonly string[];
  /** Accept webhook URLs on private/loopback/link-local addresses (WEBHOOK_ALLOW_PRIVATE); default false. */
  webhookAllowPrivate?: boolean;
  /** DNS wait when checking a webhook URL (WEBHOOK_DNS_TIMEOUT_MS); default 2000. */
  webhookDnsTimeoutMs?: number;
  /** Bound of each `/readyz` check; default 2000 ms. */
  readyCheckTimeoutMs?: number;
  /** Folder of the built web UI (services/gateway/dist/ui, from web/); undefined: no UI. */
  uiDir?: string;
  /**
   * Origin of the S3 endpoint presigned URLs point at (S3_PUBLIC_ENDPOINT or S3_ENDPOINT):
   * the page's CSP lets it upload there and play recordings from there.
   */
  storageOrigin?: string;
  /** Seconds of decoded audio a tenant may start per UTC day (per-tenant override in the database); 0/undefined: none. */
  tenantMaxAudioSPerDay?: number;
  /** Jobs a tenant may have queued at once (TENANT_MAX_QUEUED_JOBS; per-tenant override in the database); 0/undefined: none. */
  tenantMaxQueuedJobs?: number;
  /** The workers' TENANT_MAX_CONCURRENT_JOBS, which GET /v1/queue reports as the default; default 10. */
  tenantMaxConcurrentJobs?: number;
  /** OPENAI_MODEL_ALIASES: OpenAI `model` names → engine and model; default none. */
  openaiModelAliases?: Readonly<Record<string, EngineModel>>;
  /** SYNC_WAIT_S: how long `POST /v1/audio/transcriptions` waits for its job; default 600. */
  syncWaitS?: number;
  /**
   * Whether a chat engine for enrichments is configured (ENRICH_BASE_URL is set); false or
   * undefined: asking for an enrichment answers 503 `enrichment_unavailable`.
   */
  enrichmentsAvailable?: boolean;
}

/** Everything the gateway's HTTP app needs; main.ts builds the real ones, tests too. */
export interface GatewayDeps {
  db: Db;
  storage: Storage;
  /** With names and messageCount, /metrics also shows the broker's own count per lane. */
  broker: Pick<Broker, 'isConnected'> & Partial<Pick<Broker, 'names' | 'messageCount'>>;
  relay: Pick<OutboxRelay, 'kick'>;
  logger: Logger;
  registry: Registry;
  links: LinkBases;
  /** Per-tenant request budgets; undefined turns rate limiting off. */
  rateLimits?: RateLimits;
  settings: GatewaySettings;
  /** `/healthz`: undefined is always live (see startLivenessMonitor). */
  liveness?: () => LivenessReport;
  /** API keys resolved from memory (main.ts: with a TTL and revocations heard); undefined: a query per request. */
  apiKeys?: ApiKeyCache;
  /** Throttle of failed API-key attempts; undefined: none. */
  authThrottle?: AuthThrottle;
  /** Job events pushed from the broker (requests that wait on a job); undefined: re-reads only. */
  jobEvents?: JobEventFeed;
}
