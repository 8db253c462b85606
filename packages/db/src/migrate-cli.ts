#!/usr/bin/env node
// `pnpm migrate`: applies pending migrations to DATABASE_URL and exits.
import { DEFAULT_DATABASE_URL } from '@transcribe/config';
import { createDb, ensureDatabase, migrateToLatest } from './connection.js';

const url = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
// A migration may rewrite a big table: no statement or query limit here.
const db = createDb(url, { max: 1, statementTimeoutMs: 0, queryTimeoutMs: 0 });
try {
  await ensureDatabase(url);
  const applied = await migrateToLatest(db);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
} catch (error) {
  console.error('migration failed:', error);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
