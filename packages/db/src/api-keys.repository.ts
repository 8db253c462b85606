import { createHash, randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { sql } from 'kysely';
import type { Db } from './connection.js';

/** Keys are 256 random bits; a fast hash is enough (no dictionary to attack). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Shortest and longest key we ever store (generated keys are 46; DEV_API_KEY at least 16). */
export const API_KEY_MIN_LENGTH = 16;
export const API_KEY_MAX_LENGTH = 200;
const POSSIBLE_KEY = new RegExp(`^[\\x21-\\x7e]{${API_KEY_MIN_LENGTH},${API_KEY_MAX_LENGTH}}$`);

/**
 * False for a string that cannot be a stored key (wrong length, spaces, control or non-ASCII
 * characters): it is refused without a database round trip. insertApiKey enforces the same.
 */
export function isPossibleApiKey(key: string): boolean {
  return POSSIBLE_KEY.test(key);
}

/** What identifies a key in listings and in the failed-attempt throttle; not secret. */
export function apiKeyPrefix(key: string): string {
  return key.slice(0, 8);
}

export function generateApiKey(): string {
  return `tk_${randomBytes(32).toString('base64url')}`;
}

export async function insertApiKey(
  db: Db,
  input: { tenantId: string; name: string; key: string },
): Promise<{ id: string; prefix: string }> {
  if (!isPossibleApiKey(input.key)) {
    throw new Error(
      `an API key is ${API_KEY_MIN_LENGTH}-${API_KEY_MAX_LENGTH} printable ASCII characters without spaces`,
    );
  }
  const id = uuidv7();
  const prefix = apiKeyPrefix(input.key);
  await db
    .insertInto('api_keys')
    .values({
      id,
      tenant_id: input.tenantId,
      name: input.name,
      key_hash: hashApiKey(input.key),
      prefix,
    })
    .onConflict((oc) => oc.column('key_hash').doNothing())
    .execute();
  return { id, prefix };
}

/** The tenant owning an unrevoked key, or undefined. */
export async function findTenantIdByApiKey(db: Db, key: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .select('tenant_id')
    .where('key_hash', '=', hashApiKey(key))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row?.tenant_id;
}

export interface ApiKeyListing {
  id: string;
  tenant: string;
  name: string;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** Keys with their tenant's name; never the key or its hash. */
export async function listApiKeys(db: Db, tenantName?: string): Promise<ApiKeyListing[]> {
  let query = db
    .selectFrom('api_keys')
    .innerJoin('tenants', 'tenants.id', 'api_keys.tenant_id')
    .select([
      'api_keys.id as id',
      'tenants.name as tenant',
      'api_keys.name as name',
      'api_keys.prefix as prefix',
      'api_keys.created_at as createdAt',
      'api_keys.revoked_at as revokedAt',
    ]);
  if (tenantName) query = query.where('tenants.name', '=', tenantName);
  return query.orderBy('tenants.name').orderBy('api_keys.created_at').execute();
}

/** The channel every revocation is announced on (payload: the key's hash), for caches. */
export const API_KEY_REVOKED_CHANNEL = 'api_key_revoked';

/**
 * Revokes a key by id; false when there is no such unrevoked key. The same statement
 * announces it (NOTIFY, sent when it commits), so gateways drop the key from their caches.
 */
export async function revokeApiKey(db: Db, id: string): Promise<boolean> {
  const { rows } = await sql<{ revoked: string }>`
    WITH revoked AS (
      UPDATE api_keys SET revoked_at = now() WHERE id = ${id} AND revoked_at IS NULL
      RETURNING key_hash
    )
    SELECT pg_notify(${API_KEY_REVOKED_CHANNEL}, key_hash) AS revoked FROM revoked`.execute(db);
  return rows.length === 1;
}
