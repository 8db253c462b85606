import { sql, type Selectable } from 'kysely';
import type { Db } from './connection.js';
import type { WebhookDeliveriesTable, WebhookDeliveryAttemptsTable } from './schema.js';

export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>;
export type WebhookAttemptRow = Selectable<WebhookDeliveryAttemptsTable>;

export interface NewWebhookDelivery {
  id: string;
  jobId: string;
  tenantId: string;
  event: string;
  url: string;
  payload: unknown;
  maxAttempts: number;
}

/**
 * Creates the delivery of one job's terminal event, due now. The event is delivered once
 * per job whatever the broker redelivers: (job_id, event) is unique. Undefined if it exists.
 */
export async function insertWebhookDelivery(
  db: Db,
  delivery: NewWebhookDelivery,
): Promise<WebhookDeliveryRow | undefined> {
  return db
    .insertInto('webhook_deliveries')
    .values({
      id: delivery.id,
      job_id: delivery.jobId,
      tenant_id: delivery.tenantId,
      event: delivery.event,
      url: delivery.url,
      payload: JSON.stringify(delivery.payload),
      attempts_left: delivery.maxAttempts,
      max_attempts: delivery.maxAttempts,
      next_attempt_at: sql<Date>`now()`,
    })
    .onConflict((oc) => oc.columns(['job_id', 'event']).doNothing())
    .returningAll()
    .executeTakeFirst();
}

/**
 * Takes up to `limit` due deliveries for this sender: their next_attempt_at moves `leaseMs`
 * ahead, so other senders (SKIP LOCKED, then the lease) leave them alone while one tries,
 * and a sender that dies mid-attempt only delays the delivery by the lease.
 */
export async function claimDueWebhookDeliveries(
  db: Db,
  limit: number,
  leaseMs: number,
): Promise<WebhookDeliveryRow[]> {
  return db
    .updateTable('webhook_deliveries')
    .set({
      next_attempt_at: sql<Date>`now() + ${`${leaseMs} milliseconds`}::interval`,
      updated_at: sql`now()`,
    })
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', sql<Date>`now()`)
        .orderBy('next_attempt_at')
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .execute();
}

export interface WebhookAttemptRecord {
  deliveryId: string;
  /** 1 for the first attempt; must be the delivery's attempts + 1. */
  attempt: number;
  url: string;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  outcome: 'succeeded' | 'retry' | 'failed';
  /** With outcome 'retry'. */
  retryInMs?: number;
}

/**
 * Records one attempt and its consequence. Guarded by the attempt number, so a sender whose
 * lease ran out cannot count its attempt twice; false when the guard refused.
 */
export async function recordWebhookAttempt(db: Db, record: WebhookAttemptRecord): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('webhook_deliveries')
      .set((eb) => ({
        attempts: record.attempt,
        attempts_left: eb('attempts_left', '-', 1),
        status: record.outcome === 'retry' ? 'pending' : record.outcome,
        next_attempt_at:
          record.outcome === 'retry'
            ? sql<Date>`now() + ${`${record.retryInMs ?? 0} milliseconds`}::interval`
            : null,
        last_status_code: record.statusCode,
        last_error: record.error,
        updated_at: sql`now()`,
      }))
      .where('id', '=', record.deliveryId)
      .where('attempts', '=', record.attempt - 1)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (updated.numUpdatedRows === 0n) return false;
    await trx
      .insertInto('webhook_delivery_attempts')
      .values({
        delivery_id: record.deliveryId,
        attempt: record.attempt,
        url: record.url,
        status_code: record.statusCode,
        error: record.error,
        duration_ms: Math.round(record.durationMs),
      })
      .execute();
    return true;
  });
}

/**
 * Puts a claimed delivery off by `delayMs` without counting an attempt (its receiver's
 * circuit is open). Guarded like an attempt, so a sender whose lease ran out moves nothing.
 */
export async function deferWebhookDelivery(
  db: Db,
  deferral: { deliveryId: string; attempts: number; delayMs: number },
): Promise<boolean> {
  const updated = await db
    .updateTable('webhook_deliveries')
    .set({
      next_attempt_at: sql<Date>`now() + ${`${Math.round(deferral.delayMs)} milliseconds`}::interval`,
      updated_at: sql`now()`,
    })
    .where('id', '=', deferral.deliveryId)
    .where('attempts', '=', deferral.attempts)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return updated.numUpdatedRows > 0n;
}

export interface WebhookDeliveryWithAttempts extends WebhookDeliveryRow {
  attemptRows: WebhookAttemptRow[];
}

/** A job's deliveries, oldest first, each with its attempts; only the tenant's own job. */
export async function listJobWebhookDeliveries(
  db: Db,
  tenantId: string,
  jobId: string,
): Promise<WebhookDeliveryWithAttempts[]> {
  const deliveries = await db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('job_id', '=', jobId)
    .orderBy('created_at')
    .execute();
  if (deliveries.length === 0) return [];
  const attempts = await db
    .selectFrom('webhook_delivery_attempts')
    .selectAll()
    .where(
      'delivery_id',
      'in',
      deliveries.map((d) => d.id),
    )
    .orderBy('delivery_id')
    .orderBy('attempt')
    .execute();
  return deliveries.map((d) => ({
    ...d,
    attemptRows: attempts.filter((a) => a.delivery_id === d.id),
  }));
}

export async function findWebhookDelivery(
  db: Db,
  tenantId: string,
  jobId: string,
  deliveryId: string,
): Promise<WebhookDeliveryRow | undefined> {
  return db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('job_id', '=', jobId)
    .where('id', '=', deliveryId)
    .executeTakeFirst();
}

/**
 * Sends a finished delivery again, due now, with a fresh attempt budget and the same id
 * and body (receivers that processed it drop it). Undefined when it is still pending.
 */
export async function redeliverWebhookDelivery(
  db: Db,
  tenantId: string,
  deliveryId: string,
): Promise<WebhookDeliveryRow | undefined> {
  return db
    .updateTable('webhook_deliveries')
    .set((eb) => ({
      status: 'pending',
      attempts_left: eb.ref('max_attempts'),
      next_attempt_at: sql<Date>`now()`,
      updated_at: sql`now()`,
    }))
    .where('tenant_id', '=', tenantId)
    .where('id', '=', deliveryId)
    .where('status', '<>', 'pending')
    .returningAll()
    .executeTakeFirst();
}
