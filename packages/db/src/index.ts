export {
  createDb,
  createPool,
  ensureDatabase,
  migrateToLatest,
  poolProbe,
  DEFAULT_PG_TIMEOUTS,
  type Db,
  type PgPool,
  type PgTimeouts,
  type PoolOptions,
  type PoolProbe,
} from './connection.js';
export { DEFAULT_DATABASE_URL } from '@transcribe/config';
export type * from './schema.js';
export * from './tenants.repository.js';
export * from './api-keys.repository.js';
export * from './uploads.repository.js';
export * from './jobs.repository.js';
export * from './job-events.repository.js';
export * from './job-head.repository.js';
export * from './outbox.repository.js';
export * from './queue-lanes.repository.js';
export * from './tenant-events.repository.js';
export * from './tenant-webhooks.repository.js';
export * from './webhook-deliveries.repository.js';
export * from './job-chunks.repository.js';
export { isDatabaseUnavailable } from './unavailable.js';
export { pingDatabase } from './ping.js';
export * from './rate-limit.store.js';
export * from './enrichments.repository.js';
export * from './enrichment-work.repository.js';
export * from './job-progress.repository.js';
export * from './usage.repository.js';
export * from './tenant-limits.js';
export * from './scheduler.repository.js';
export { listenForNotifications, type NotificationListener } from './notifications.js';
export * from './job-creation.repository.js';
