import type { JobEvent, WebhookPayload } from '@transcribe/contracts';
import { jobLinks } from '../links.js';

/** The webhook body of a terminal event; undefined for other events. */
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
    default:
      return undefined;
  }
}
