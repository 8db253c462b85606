import { createHash, randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { Db } from './connection.js';

/** Keys are 256 random bits; a fast hash is enough (no dictionary to attack). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): string {
  return `tk_${randomBytes(32).toString('base64url')}`;
}

export async function insertApiKey(
  db: Db,
  input: { tenantId: string; name: string; key: string },
): Promise<{ id: string; prefix: string }> {
  const id = uuidv7();
  const prefix = input.key.slice(0, 8);
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
