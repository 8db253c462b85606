import { WebhookUrlRefusedError, checkWebhookUrl } from '@transcribe/contracts';
import type { GatewaySettings } from './deps.js';
import { HttpError } from './http-error.js';

/**
 * Refuses, with 400 `webhook_url_refused`, a webhook URL the notifier would refuse to call,
 * by the same policy (packages/contracts webhook-url-policy.ts), so the caller learns it now
 * rather than from a delivery log. A host whose DNS does not answer in time is accepted:
 * the notifier checks again, on the addresses it connects to, at every attempt.
 */
export async function assertWebhookUrlAllowed(
  settings: Pick<GatewaySettings, 'webhookAllowPrivate' | 'webhookDnsTimeoutMs'>,
  url: string | null | undefined,
  field: string,
): Promise<void> {
  if (url === null || url === undefined) return;
  try {
    await checkWebhookUrl(url, {
      allowPrivate: settings.webhookAllowPrivate ?? false,
      dnsTimeoutMs: settings.webhookDnsTimeoutMs ?? 2000,
    });
  } catch (error) {
    if (!(error instanceof WebhookUrlRefusedError)) throw error;
    throw new HttpError(
      400,
      'webhook_url_refused',
      `${field}: ${error.message}; webhooks are only sent to public addresses`,
      error.address ? { field, ...error.address } : { field },
    );
  }
}
