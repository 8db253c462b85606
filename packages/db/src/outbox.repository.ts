import type { Db } from './connection.js';
import type { OutboxRow, OutboxTopic } from './schema.js';

export async function insertOutbox(
  db: Db,
  row: {
    topic: OutboxTopic;
    routingKey: string;
    payload: unknown;
    priority?: number;
    /** Per-message TTL (a retry parked in a delay queue). */
    expirationMs?: number;
    headers?: Record<string, string | number>;
  },
): Promise<void> {
  await db
    .insertInto('outbox')
    .values({
      topic: row.topic,
      routing_key: row.routingKey,
      payload: JSON.stringify(row.payload),
      priority: row.priority ?? null,
      expiration_ms: row.expirationMs ?? null,
      headers: row.headers ? JSON.stringify(row.headers) : null,
    })
    .execute();
}

/**
 * Locks up to `limit` of the oldest rows for this transaction. SKIP LOCKED lets relays in
 * every gateway and worker replica drain the outbox together without double work.
 */
export async function claimOutbox(db: Db, limit: number): Promise<OutboxRow[]> {
  return db
    .selectFrom('outbox')
    .selectAll()
    .orderBy('id')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

export async function deleteOutbox(db: Db, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.deleteFrom('outbox').where('id', 'in', ids).execute();
}
