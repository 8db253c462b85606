import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { Channel, ConsumeMessage } from 'amqplib';
import { topologyNames, type MessageHandler } from '@transcribe/queue';

export interface WebhookQueue {
  readonly queue: string;
  isConnected(): boolean;
  close(): Promise<void>;
}

/** Routing keys (`<tenant>.<job>.<type>`) of the events that trigger webhooks. */
export const WEBHOOK_BINDINGS = ['*.*.completed', '*.*.failed', '*.*.canceled'];

export function webhookQueueName(prefix = ''): string {
  return topologyNames(prefix).webhooksQueue;
}

/**
 * The shared, durable webhooks queue on the job.events exchange, consumed by every notifier
 * (competing consumers: each terminal event reaches one of them). Durable, so terminal
 * events published while every notifier is down wait for one to come back.
 *
 * This is the notifier's own connection (named `transcribe-notifier-webhooks` for
 * operators) because packages/queue's Broker consumes only queues it declares itself.
 * amqp-connection-manager re-runs `setup` on every reconnect.
 */
export async function consumeWebhookQueue(options: {
  url: string;
  prefix?: string;
  prefetch: number;
  handler: MessageHandler;
  onError?: (error: Error) => void;
}): Promise<WebhookQueue> {
  const names = topologyNames(options.prefix);
  const queue = webhookQueueName(options.prefix);
  const connection: AmqpConnectionManager = amqp.connect([options.url], {
    heartbeatIntervalInSeconds: 10,
    reconnectTimeInSeconds: 1,
    connectionOptions: { clientProperties: { connection_name: 'transcribe-notifier-webhooks' } },
  });
  connection.on('disconnect', ({ err }) => err && options.onError?.(err));
  connection.on('connectFailed', ({ err }) => options.onError?.(err));

  const channel: ChannelWrapper = connection.createChannel({
    setup: async (ch: Channel) => {
      await ch.assertExchange(names.eventsExchange, 'topic', { durable: true });
      await ch.assertQueue(queue, { durable: true });
      for (const key of WEBHOOK_BINDINGS) await ch.bindQueue(queue, names.eventsExchange, key);
      await ch.prefetch(options.prefetch);
      await ch.consume(queue, (msg) => msg && deliver(ch, msg), { noAck: false });
    },
  });

  // Unhandled, a ChannelWrapper's 'error' (a setup that failed mid-reconnect) crashes the process.
  channel.on('error', (err: unknown) =>
    options.onError?.(err instanceof Error ? err : new Error(String(err))),
  );

  function deliver(ch: Channel, msg: ConsumeMessage) {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      try {
        fn();
      } catch {
        // The channel closed: the broker requeues the message by itself.
      }
    };
    options
      .handler(msg.content, {
        redelivered: msg.fields.redelivered,
        headers: (msg.properties.headers ?? {}) as Record<string, unknown>,
        routingKey: msg.fields.routingKey,
        ack: () => settle(() => ch.ack(msg)),
        nack: (requeue) => settle(() => ch.nack(msg, false, requeue)),
      })
      .catch((error: unknown) =>
        options.onError?.(error instanceof Error ? error : new Error(String(error))),
      );
  }

  await channel.waitForConnect();
  return {
    queue,
    isConnected: () => connection.isConnected(),
    async close() {
      await channel.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}
