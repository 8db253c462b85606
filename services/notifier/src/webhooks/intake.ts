import { randomUUID } from 'node:crypto';
import { JobEvent } from '@transcribe/contracts';
import { findJobById, findTenantWebhook, insertWebhookDelivery, type Db } from '@transcribe/db';
import type { MessageHandler } from '@transcribe/queue';
import type { Logger } from '@transcribe/telemetry';
import { safeJson } from '../json.js';
import { deliveryEventName, webhookPayload } from './payload.js';

export interface WebhookIntakeOptions {
  db: Db;
  logger: Logger;
  publicApiUrl: string;
  maxAttempts: number;
  /** A delivery became due: send now rather than at the next poll. */
  onQueued?: () => void;
  /** Before a failed message is requeued, so a database outage does not spin. */
  requeueDelayMs?: number;
}

/**
 * Consumer of the shared webhooks queue: turns a job's terminal event, or an enrichment's
 * `enrichment.completed` / `enrichment.failed`, into a pending delivery row (once per job
 * and event — per enrichment for those — whatever the broker redelivers), addressed to the
 * job's webhook URL or else the tenant's default. The row, not the message, carries the
 * retries: the message is acked as soon as the row is committed.
 */
export function webhookIntake(options: WebhookIntakeOptions): MessageHandler {
  return async (body, ctx) => {
    const parsed = JobEvent.safeParse(safeJson(body));
    if (!parsed.success) {
      options.logger.warn({ routingKey: ctx.routingKey }, 'invalid event message dropped');
      return ctx.ack();
    }
    const event = parsed.data;
    try {
      const id = randomUUID();
      const payload = webhookPayload(id, event, options.publicApiUrl);
      if (!payload) return ctx.ack();
      const job = await findJobById(options.db, event.jobId);
      if (!job) return ctx.ack(); // deleted since: nobody to tell
      const url = job.webhook_url ?? (await findTenantWebhook(options.db, job.tenant_id))?.url;
      if (!url) return ctx.ack();
      const created = await insertWebhookDelivery(options.db, {
        id,
        jobId: job.id,
        tenantId: job.tenant_id,
        event: deliveryEventName(payload),
        url,
        payload,
        maxAttempts: options.maxAttempts,
      });
      if (created) {
        options.logger.info(
          { deliveryId: id, jobId: job.id, event: payload.type },
          'webhook queued',
        );
        options.onQueued?.();
      }
      ctx.ack();
    } catch (err) {
      options.logger.warn({ err, jobId: event.jobId }, 'webhook intake failed; requeued');
      setTimeout(() => ctx.nack(true), options.requeueDelayMs ?? 1000).unref();
    }
  };
}
