import type { Db } from '@transcribe/db';
import type { Broker, OutboxRelay } from '@transcribe/queue';
import type { Storage } from '@transcribe/storage';
import type { Logger, Registry } from '@transcribe/telemetry';
import type { EngineName } from '@transcribe/contracts';
import type { LinkBases } from './job-view.js';

/** Everything the gateway's HTTP app needs; main.ts builds the real ones, tests too. */
export interface GatewayDeps {
  db: Db;
  storage: Storage;
  broker: Pick<Broker, 'isConnected'>;
  relay: Pick<OutboxRelay, 'kick'>;
  logger: Logger;
  registry: Registry;
  links: LinkBases;
  settings: {
    tokenSecret: string;
    maxUploadBytes: number;
    uploadUrlTtlS: number;
    eventsTokenTtlS: number;
    defaultEngine: EngineName;
  };
}
