import { sql } from 'kysely';
import type { Db } from './connection.js';

/** The cheapest round trip: readiness probes ask whether Postgres answers at all. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
