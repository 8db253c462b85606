import { sql } from 'kysely';
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

/** A tenant's own limits (null: the deployment's default) and weight. */
export interface TenantLimitsRow {
  id: string;
  name: string;
  weight: number;
  max_concurrent_jobs: number | null;
  max_queued_jobs: number | null;
  max_audio_s_per_day: number | null;
}

const LIMIT_COLUMNS = [
  'id',
  'name',
  'weight',
  'max_concurrent_jobs',
  'max_queued_jobs',
  'max_audio_s_per_day',
] as const;

export async function listTenantLimits(db: Db, name?: string): Promise<TenantLimitsRow[]> {
  let query = db.selectFrom('tenants').select(LIMIT_COLUMNS).orderBy('name');
  if (name !== undefined) query = query.where('name', '=', name);
  return query.execute();
}

export async function findTenantLimits(
  db: Db,
  tenantId: string,
): Promise<TenantLimitsRow | undefined> {
  return db
    .selectFrom('tenants')
    .select(LIMIT_COLUMNS)
    .where('id', '=', tenantId)
    .executeTakeFirst();
}

/**
 * What `tenants set` changes: a field left out stays as it is; null returns a limit to the
 * deployment's default.
 */
export interface TenantLimitsUpdate {
  weight?: number;
  maxConcurrentJobs?: number | null;
  maxQueuedJobs?: number | null;
  maxAudioSPerDay?: number | null;
}

export async function updateTenantLimits(
  db: Db,
  tenantId: string,
  update: TenantLimitsUpdate,
): Promise<void> {
  const set = {
    ...(update.weight !== undefined && { weight: update.weight }),
    ...(update.maxConcurrentJobs !== undefined && {
      max_concurrent_jobs: update.maxConcurrentJobs,
    }),
    ...(update.maxQueuedJobs !== undefined && { max_queued_jobs: update.maxQueuedJobs }),
    ...(update.maxAudioSPerDay !== undefined && { max_audio_s_per_day: update.maxAudioSPerDay }),
  };
  if (Object.keys(set).length === 0) return;
  await db.updateTable('tenants').set(set).where('id', '=', tenantId).execute();
}

/** The tenant's own cap on queued jobs; null returns it to the default. */
export async function setTenantMaxQueuedJobs(
  db: Db,
  tenantId: string,
  max: number | null,
): Promise<void> {
  await updateTenantLimits(db, tenantId, { maxQueuedJobs: max });
}

/** How many of the tenant's jobs are queued and how many processing now. */
export async function countTenantJobs(
  db: Db,
  tenantId: string,
): Promise<{ queued: number; running: number }> {
  const row = await db
    .selectFrom('jobs')
    .select((eb) => [
      eb.fn.countAll<string>().filterWhere('status', '=', 'queued').as('queued'),
      eb.fn.countAll<string>().filterWhere('status', '=', 'processing').as('running'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('status', 'in', ['queued', 'processing'])
    .executeTakeFirstOrThrow();
  return { queued: Number(row.queued), running: Number(row.running) };
}

/**
 * Takes the tenant's admission lock for the caller's transaction (so two requests cannot
 * both take the last place under its queued-jobs cap) and returns how many of its jobs are
 * queued and its own cap (null: the deployment's default).
 */
export async function lockTenantQueue(
  trx: Db,
  tenantId: string,
): Promise<{ queued: number; max: number | null }> {
  const { count, max } = await lockTenantCount(trx, tenantId, 'queued');
  return { queued: count, max };
}

/**
 * A tenant's lock for one of its caps, and under it the count that cap bounds with the
 * tenant's own cap (null: the deployment's default): `processing` for jobs running at
 * once (claims), `queued` for jobs waiting (admission). Each cap has its own lock, so a
 * claim never waits on an admission.
 */
export async function lockTenantCount(
  trx: Db,
  tenantId: string,
  status: 'queued' | 'processing',
): Promise<{ count: number; max: number | null }> {
  const lock = status === 'queued' ? 'tenant-queue' : 'tenant-slots';
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`${lock}:${tenantId}`}, 0))`.execute(
    trx,
  );
  const row = await trx
    .selectFrom('tenants')
    .select((eb) => [
      status === 'queued' ? 'max_queued_jobs as max' : 'max_concurrent_jobs as max',
      eb
        .selectFrom('jobs')
        .select(eb.fn.countAll<string>().as('n'))
        .where('tenant_id', '=', tenantId)
        .where('status', '=', status)
        .as('n'),
    ])
    .where('id', '=', tenantId)
    .executeTakeFirst();
  return { count: Number(row?.n ?? 0), max: row?.max ?? null };
}
