import { connectBroker, topologyNames, type MessageHandler } from '@transcribe/queue';

export interface WebhookQueue {
  readonly queue: string;
  isConnected(): boolean;
  close(): Promise<void>;
}

export function webhookQueueName(prefix = ''): string {
  return topologyNames(prefix).webhooksQueue;
}

/**
 * The shared, durable webhooks queue on the job.events exchange, consumed by every notifier
 * (competing consumers: each terminal event reaches one of them). Durable, so terminal
 * events published while every notifier is down wait for one to come back.
 *
 * On a connection of its own (named `transcribe-notifier-webhooks` for operators): the
 * consumer forces a reconnect when its channel closes alone, which must not bounce the
 * notifier's event stream too. Nothing here may end the process: every error is reported
 * to `onError` and the consumer comes back by itself.
 */
export async function consumeWebhookQueue(options: {
  url: string;
  prefix?: string;
  prefetch: number;
  handler: MessageHandler;
  onError?: (error: Error) => void;
}): Promise<WebhookQueue> {
  const broker = connectBroker({
    url: options.url,
    prefix: options.prefix,
    connectionName: 'transcribe-notifier-webhooks',
    onError: options.onError,
  });
  await broker.consumeWebhooks(options.handler, { prefetch: options.prefetch });
  return {
    queue: broker.names.webhooksQueue,
    isConnected: () => broker.isConnected(),
    close: () => broker.close(),
  };
}
