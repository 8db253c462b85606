import { v7 as uuidv7 } from 'uuid';
import type { Db } from './connection.js';

/** Returns the id of the tenant with this name, creating it if needed. */
export async function ensureTenant(db: Db, name: string): Promise<string> {
  await db
    .insertInto('tenants')
    .values({ id: uuidv7(), name })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db
    .selectFrom('tenants')
    .select('id')
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
  return row.id;
}
