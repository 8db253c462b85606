import type { Db } from '@transcribe/db';
import type { Broker, OutboxRelay } from '@transcribe/queue';
import type { Storage } from '@transcribe/storage';
import type { Logger, Registry } from '@transcribe/telemetry';
import type { EngineName } from '@transcribe/contracts';
import type { LinkBases } from './job-view.js';
import type { RateLimits } from './rate-limit.js';

export interface GatewaySettings {
  tokenSecret: string;
  maxUploadBytes: number;
  /** Limit of `POST /v1/jobs/upload`, streamed through the gateway. */
  maxFormUploadBytes: number;
  uploadUrlTtlS: number;
  multipartTtlS: number;
  eventsTokenTtlS: number;
  /** Engines jobs may name; the first is the default. */
  engines: readonly EngineName[];
  /** Origins allowed by CORS; undefined: no CORS headers. */
  corsOrigins?: readonly string[];
  /** Folder of the web UI (services/gateway/ui); undefined: no UI. */
  uiDir?: string;
  /** Seconds of decoded audio a tenant may start per UTC day (per-tenant override in the database); 0/undefined: none. */
  tenantMaxAudioSPerDay?: number;
}

/** Everything the gateway's HTTP app needs; main.ts builds the real ones, tests too. */
export interface GatewayDeps {
  db: Db;
  storage: Storage;
  broker: Pick<Broker, 'isConnected'>;
  relay: Pick<OutboxRelay, 'kick'>;
  logger: Logger;
  registry: Registry;
  links: LinkBases;
  /** Per-tenant request budgets; undefined turns rate limiting off. */
  rateLimits?: RateLimits;
  settings: GatewaySettings;
}
