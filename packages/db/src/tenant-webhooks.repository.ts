import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from './connection.js';
import type { TenantWebhooksTable } from './schema.js';
import type { Selectable } from 'kysely';

export type TenantWebhookRow = Selectable<TenantWebhooksTable>;

/** A new signing secret: `whsec_` + 32 random bytes. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

export async function findTenantWebhook(
  db: Db,
  tenantId: string,
): Promise<TenantWebhookRow | undefined> {
  return db
    .selectFrom('tenant_webhooks')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
}

/** The tenant's signing secret, created on first use (a job may carry its own URL only). */
export async function ensureTenantWebhookSecret(db: Db, tenantId: string): Promise<string> {
  await db
    .insertInto('tenant_webhooks')
    .values({ tenant_id: tenantId, url: null, secret: generateWebhookSecret() })
    .onConflict((oc) => oc.column('tenant_id').doNothing())
    .execute();
  const row = await db
    .selectFrom('tenant_webhooks')
    .select('secret')
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow();
  return row.secret;
}

/** Sets (or clears, with null) the tenant's default webhook URL; keeps an existing secret. */
export async function setTenantWebhookUrl(
  db: Db,
  tenantId: string,
  url: string | null,
): Promise<TenantWebhookRow> {
  return db
    .insertInto('tenant_webhooks')
    .values({ tenant_id: tenantId, url, secret: generateWebhookSecret() })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ url, updated_at: sql`now()` }))
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Replaces the signing secret and returns the new one (shown once to the tenant). */
export async function rotateTenantWebhookSecret(db: Db, tenantId: string): Promise<string> {
  const secret = generateWebhookSecret();
  await db
    .insertInto('tenant_webhooks')
    .values({ tenant_id: tenantId, url: null, secret })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ secret, updated_at: sql`now()` }))
    .execute();
  return secret;
}
