import type { Db } from './connection.js';

/**
 * The highest committed event seq of a tenant's job (`last_event_seq`, bumped in the same
 * transaction as the event row), or undefined when the job does not exist for that tenant.
 * One indexed row, one column: what the notifier reads to admit a subscriber and to tell
 * whether it missed anything.
 */
export async function findJobEventHead(
  db: Db,
  tenantId: string,
  id: string,
): Promise<number | undefined> {
  const row = await db
    .selectFrom('jobs')
    .select('last_event_seq')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row?.last_event_seq;
}
