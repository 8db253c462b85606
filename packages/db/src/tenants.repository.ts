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

export async function findTenantByName(
  db: Db,
  name: string,
): Promise<{ id: string; name: string; max_concurrent_jobs: number | null } | undefined> {
  return db
    .selectFrom('tenants')
    .select(['id', 'name', 'max_concurrent_jobs'])
    .where('name', '=', name)
    .executeTakeFirst();
}

/** The tenant's own cap on jobs processing at once; null returns it to the default. */
export async function setTenantMaxConcurrentJobs(
  db: Db,
  tenantId: string,
  max: number | null,
): Promise<void> {
  await db
    .updateTable('tenants')
    .set({ max_concurrent_jobs: max })
    .where('id', '=', tenantId)
    .execute();
}

/** The tenant's own daily limit of decoded audio (seconds); null returns it to the default. */
export async function setTenantMaxAudioPerDay(
  db: Db,
  tenantId: string,
  maxS: number | null,
): Promise<void> {
  await db
    .updateTable('tenants')
    .set({ max_audio_s_per_day: maxS })
    .where('id', '=', tenantId)
    .execute();
}
