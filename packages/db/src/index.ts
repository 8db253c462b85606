export { createDb, migrateToLatest, type Db } from './connection.js';
export type * from './schema.js';
export * from './tenants.repository.js';
export * from './api-keys.repository.js';
export * from './uploads.repository.js';
export * from './jobs.repository.js';
export * from './job-events.repository.js';
export * from './outbox.repository.js';
