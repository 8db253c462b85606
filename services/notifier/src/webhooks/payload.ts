import type { JobEvent, WebhookPayload } from '@transcribe/contracts';
import { enrichmentLink, jobLinks } from '../links.js';

/**
 * The webhook body of an event that makes one: a job's terminal event, or an enrichment
 * that completed or failed (issue 15); undefined for other events.
 */
export function webhookPayload(
  deliveryId: string,
  event: JobEvent,
  publicApiUrl: string,
): WebhookPayload | undefined {
  const links = jobLinks(publicApiUrl, event.jobId);
  const common = { v: 1 as const, id: deliveryId, createdAt: event.at };
  const job = { jobId: event.jobId, tenantId: event.tenantId };
  switch (event.type) {
    case 'completed':
      return {
        ...common,
        type: 'job.completed',
        data: {
          ...job,
          status: 'completed',
          durationS: event.durationS,
          processingMs: event.processingMs,
          links,
        },
      };
    case 'failed':
      return {
        ...common,
        type: 'job.failed',
        data: { ...job, status: 'failed', error: event.error, links: { job: links.job } },
      };
    case 'canceled':
      return {
        ...common,
        type: 'job.canceled',
        data: { ...job, status: 'canceled', links: { job: links.job } },
      };
    case 'enrichment.completed':
      return {
        ...common,
        type: 'enrichment.completed',
        data: {
          ...job,
          enrichment: event.enrichment,
          status: 'completed',
          model: event.model,
          usage: event.usage,
          links: {
            job: links.job,
            enrichment: enrichmentLink(publicApiUrl, event.jobId, event.enrichment.key),
          },
        },
      };
    case 'enrichment.failed':
      return {
        ...common,
        type: 'enrichment.failed',
        data: {
          ...job,
          enrichment: event.enrichment,
          status: 'failed',
          error: event.error,
          links: {
            job: links.job,
            enrichment: enrichmentLink(publicApiUrl, event.jobId, event.enrichment.key),
          },
        },
      };
    default:
      return undefined;
  }
}

/**
 * The delivery row's `event`, which is unique per job (a broker redelivery of the same
 * event adds no second row): the payload's type, and for an enrichment its key too, since
 * one job has several enrichments that each complete once (`enrichment.completed:summary`).
 * The `Transcribe-Event` header carries the bare type (`webhookEventType`).
 */
export function deliveryEventName(payload: WebhookPayload): string {
  return 'enrichment' in payload.data
    ? `${payload.type}:${payload.data.enrichment.key}`
    : payload.type;
}

/** The `Transcribe-Event` header of a stored delivery: its payload's type. */
export function webhookEventType(delivery: { event: string; payload: unknown }): string {
  const type = (delivery.payload as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : delivery.event;
}
