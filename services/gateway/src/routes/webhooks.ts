import { Router } from 'express';
import { z } from 'zod';
import {
  UpdateTenantWebhookRequest,
  type TenantWebhookSettings,
  type WebhookDelivery,
  type WebhookDeliveryList,
  type WebhookSecretResponse,
} from '@transcribe/contracts';
import {
  findJob,
  findTenantWebhook,
  rotateTenantWebhookSecret,
  setTenantWebhookUrl,
  type TenantWebhookRow,
  findWebhookDelivery,
  listJobWebhookDeliveries,
  redeliverWebhookDelivery,
  type WebhookDeliveryRow,
  type WebhookAttemptRow,
} from '@transcribe/db';
import { tenantOf } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { HttpError, notFound } from '../http-error.js';
import { assertWebhookUrlAllowed } from '../webhook-url.js';

const Id = z.uuid();
const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toDelivery(row: WebhookDeliveryRow, attempts: WebhookAttemptRow[]): WebhookDelivery {
  return {
    id: row.id,
    jobId: row.job_id,
    event: row.event,
    url: row.url,
    status: row.status,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    nextAttemptAt: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    attemptLog: attempts.map((a) => ({
      attempt: a.attempt,
      url: a.url,
      statusCode: a.status_code,
      error: a.error,
      durationMs: a.duration_ms,
      at: a.created_at.toISOString(),
    })),
  };
}

/** Enough of a secret to tell two apart; the rest is never shown again. */
function settings(row: TenantWebhookRow | undefined): TenantWebhookSettings {
  return { url: row?.url ?? null, secretPrefix: row ? row.secret.slice(0, 12) : null };
}

/**
 * The tenant's webhook settings, a job's webhook deliveries (sent by the notifier) and their
 * redelivery. Tenant-scoped: another tenant's job or delivery is a 404, like an unknown one.
 */
export function webhooksRouter(deps: GatewayDeps): Router {
  const router = Router();

  async function jobOf(tenantId: string, id: unknown): Promise<string> {
    const parsed = Id.safeParse(id);
    const job = parsed.success ? await findJob(deps.db, tenantId, parsed.data) : undefined;
    if (!job) throw notFound();
    return job.id;
  }

  router.get('/v1/webhooks', async (req, res) => {
    res.json(settings(await findTenantWebhook(deps.db, tenantOf(req))));
  });

  router.put('/v1/webhooks', async (req, res) => {
    const { url } = UpdateTenantWebhookRequest.parse(req.body);
    await assertWebhookUrlAllowed(deps.settings, url, 'url');
    res.json(settings(await setTenantWebhookUrl(deps.db, tenantOf(req), url)));
  });

  /** Replaces the signing secret; the response is the only place it is ever shown. */
  router.post('/v1/webhooks/secret', async (req, res) => {
    const body: WebhookSecretResponse = {
      secret: await rotateTenantWebhookSecret(deps.db, tenantOf(req)),
    };
    res.status(201).setHeader('cache-control', 'no-store').json(body);
  });

  router.get('/v1/jobs/:id/webhooks/deliveries', async (req, res) => {
    const tenantId = tenantOf(req);
    const jobId = await jobOf(tenantId, req.params.id);
    const rows = await listJobWebhookDeliveries(deps.db, tenantId, jobId);
    const body: WebhookDeliveryList = {
      deliveries: rows.map(({ attemptRows, ...row }) => toDelivery(row, attemptRows)),
    };
    res.json(body);
  });

  router.post('/v1/jobs/:id/webhooks/deliveries/:deliveryId/redeliver', async (req, res) => {
    const tenantId = tenantOf(req);
    const jobId = await jobOf(tenantId, req.params.id);
    const deliveryId = Id.safeParse(req.params.deliveryId);
    const existing = deliveryId.success
      ? await findWebhookDelivery(deps.db, tenantId, jobId, deliveryId.data)
      : undefined;
    if (!existing) throw notFound('webhook delivery');
    const updated = await redeliverWebhookDelivery(deps.db, tenantId, existing.id);
    if (!updated) {
      throw new HttpError(409, 'conflict', 'this delivery is still being attempted', {
        status: existing.status,
      });
    }
    res.status(202).json(toDelivery(updated, []));
  });

  return router;
}
