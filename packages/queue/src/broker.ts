import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { Channel, ConsumeMessage } from 'amqplib';
import {
  assertTopology,
  assertWebhooksQueue,
  topologyNames,
  type TopologyNames,
} from './topology.js';

export interface MessageContext {
  /** True when RabbitMQ delivered this message before to a consumer that did not ack it. */
  redelivered: boolean;
  headers: Record<string, unknown>;
  routingKey: string;
  /** Acknowledge on the channel that delivered it; a no-op when that channel is gone. */
  ack(): void;
  /** Reject; with requeue false the message goes to the queue's dead-letter target. */
  nack(requeue: boolean): void;
}

export type MessageHandler = (body: Buffer, ctx: MessageContext) => Promise<void>;

export interface ConsumeOptions {
  prefetch: number;
  /**
   * Awaited before every (re)subscription, first one included. After a lost channel the
   * broker redelivers that channel's unacked messages and would hand this consumer a full
   * prefetch window anew while its old deliveries still run; a consumer that must never
   * run more than `prefetch` handlers at once waits here until they have settled.
   */
  beforeSubscribe?: () => Promise<void>;
}

export interface Broker {
  readonly names: TopologyNames;
  /** Publishes and waits for the broker's confirm (persistent, JSON). */
  publish(
    exchange: string,
    routingKey: string,
    payload: unknown,
    options?: {
      priority?: number;
      messageId?: string;
      headers?: Record<string, unknown>;
      /** Per-message TTL in ms. */
      expiration?: number;
    },
  ): Promise<void>;
  /** Consumes a named queue; re-subscribed after every reconnect. */
  consume(queue: string, handler: MessageHandler, options: ConsumeOptions): Promise<void>;
  /**
   * Consumes every event on the events exchange through a private, auto-deleted queue.
   * `onSubscribed` runs after each (re)subscription: events published while disconnected
   * were not delivered, so the caller can catch up from the database.
   */
  consumeAllEvents(handler: MessageHandler, onSubscribed?: () => void): Promise<void>;
  /**
   * Consumes the shared webhooks queue, declaring it first. Unlike `consume`, a channel that
   * closes alone (a channel error, the broker cancelling the consumer because the queue went
   * away) forces a reconnect, whose setup declares the queue and consumes again: otherwise
   * the connection would stay up with nobody consuming.
   */
  consumeWebhooks(handler: MessageHandler, options: ConsumeOptions): Promise<void>;
  /** Stops deliveries to this process's consumers; unacked messages stay with it until settled. */
  stopConsuming(): Promise<void>;
  isConnected(): boolean;
  /**
   * Messages ready in `queue` (unacknowledged ones not included), by a passive check on a
   * channel of its own; waits for a connection, so callers bound it.
   */
  messageCount(queue: string): Promise<number>;
  /** Resolves once connected and the topology is declared. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface BrokerOptions {
  url: string;
  prefix?: string;
  /** How long a publish may wait for a connection and a confirm before failing. */
  publishTimeoutMs?: number;
  /** Shown to operators in RabbitMQ's connection list. */
  connectionName?: string;
  onError?: (error: Error) => void;
}

/** Pause before forcing a reconnect after a consumer's channel alone closed. */
const RECOVER_DELAY_MS = 1000;

export function connectBroker(options: BrokerOptions): Broker {
  const names = topologyNames(options.prefix);
  const connection: AmqpConnectionManager = amqp.connect([options.url], {
    heartbeatIntervalInSeconds: 10,
    reconnectTimeInSeconds: 1,
    ...(options.connectionName && {
      connectionOptions: { clientProperties: { connection_name: options.connectionName } },
    }),
  });
  /** Bumped on every lost connection: tells a channel that died alone from one that went with it. */
  let disconnects = 0;
  connection.on('disconnect', ({ err }) => {
    disconnects += 1;
    if (err) options.onError?.(err);
  });
  connection.on('connectFailed', ({ err }) => options.onError?.(err));
  let closing = false;
  let recovering: NodeJS.Timeout | undefined;

  /** A consumer's channel died while the connection lives on: reconnect, so setup runs again. */
  function recover(label: string, why: string): void {
    if (closing || recovering) return;
    const seen = disconnects;
    // Later, not now: when the whole connection is going, its 'disconnect' comes meanwhile
    // and its own reconnect runs instead (forcing one too would close the fresh one).
    recovering = setTimeout(() => {
      recovering = undefined;
      if (closing || disconnects !== seen || !connection.isConnected()) return;
      options.onError?.(new Error(`${label} channel lost (${why}); reconnecting`));
      connection.reconnect();
    }, RECOVER_DELAY_MS);
    recovering.unref();
  }

  /** The channel of messageCount's checks, opened on first use. */
  let checker: ChannelWrapper | undefined;
  const publisher: ChannelWrapper = connection.createChannel({
    confirm: true,
    publishTimeout: options.publishTimeoutMs ?? 10_000,
    setup: (channel: Channel) => assertTopology(channel, names),
  });
  // A ChannelWrapper emits 'error' when a setup or a publish fails (e.g. the broker went away
  // mid-setup); unhandled, that event would crash the process. It reconnects by itself.
  const reportError = (err: unknown) =>
    options.onError?.(err instanceof Error ? err : new Error(String(err)));
  publisher.on('error', reportError);
  const consumers: ChannelWrapper[] = [];
  // Live subscriptions, so stopConsuming can cancel them; setup re-runs skip consuming once stopped.
  const subscriptions = new Set<{ channel: Channel; tag: string }>();
  let consuming = true;

  async function subscribe(
    channel: Channel,
    queue: string,
    handler: MessageHandler,
    onCancelled?: () => void,
  ) {
    if (!consuming) return;
    const { consumerTag } = await channel.consume(queue, dispatch(channel, handler, onCancelled), {
      noAck: false,
    });
    const subscription = { channel, tag: consumerTag };
    subscriptions.add(subscription);
    channel.once('close', () => subscriptions.delete(subscription));
  }

  function context(channel: Channel, msg: ConsumeMessage): MessageContext {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      try {
        fn();
      } catch {
        // The delivering channel closed: the broker requeues the message by itself.
      }
    };
    return {
      redelivered: msg.fields.redelivered,
      headers: (msg.properties.headers ?? {}) as Record<string, unknown>,
      routingKey: msg.fields.routingKey,
      ack: () => settle(() => channel.ack(msg)),
      nack: (requeue) => settle(() => channel.nack(msg, false, requeue)),
    };
  }

  /** `onCancelled`: the broker cancelled the consumer (queue deleted, a node failed over). */
  function dispatch(channel: Channel, handler: MessageHandler, onCancelled?: () => void) {
    return (msg: ConsumeMessage | null) => {
      // Without onCancelled, setup re-runs (and consumes again) on the next reconnect.
      if (!msg) return onCancelled?.();
      handler(msg.content, context(channel, msg)).catch((error: unknown) => {
        options.onError?.(error instanceof Error ? error : new Error(String(error)));
      });
    };
  }

  return {
    names,
    async publish(exchange, routingKey, payload, publishOptions = {}) {
      await publisher.publish(exchange, routingKey, Buffer.from(JSON.stringify(payload)), {
        persistent: true,
        contentType: 'application/json',
        priority: publishOptions.priority,
        messageId: publishOptions.messageId,
        headers: publishOptions.headers,
        expiration:
          publishOptions.expiration === undefined
            ? undefined
            : String(Math.max(0, Math.round(publishOptions.expiration))),
      });
    },
    async consume(queue, handler, consumeOptions) {
      const wrapper = connection.createChannel({
        setup: async (channel: Channel) => {
          await assertTopology(channel, names);
          await channel.prefetch(consumeOptions.prefetch);
          await consumeOptions.beforeSubscribe?.();
          await subscribe(channel, queue, handler);
        },
      });
      wrapper.on('error', reportError);
      consumers.push(wrapper);
      await wrapper.waitForConnect();
    },
    async consumeAllEvents(handler, onSubscribed) {
      const wrapper = connection.createChannel({
        setup: async (channel: Channel) => {
          await assertTopology(channel, names);
          const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
          await channel.bindQueue(queue, names.eventsExchange, '#');
          await subscribe(channel, queue, handler);
          onSubscribed?.();
        },
      });
      wrapper.on('error', reportError);
      consumers.push(wrapper);
      await wrapper.waitForConnect();
    },
    async consumeWebhooks(handler, consumeOptions) {
      const wrapper = connection.createChannel({
        setup: async (channel: Channel) => {
          channel.on('close', () => recover('webhooks', 'channel closed'));
          await assertWebhooksQueue(channel, names);
          await channel.prefetch(consumeOptions.prefetch);
          await consumeOptions.beforeSubscribe?.();
          await subscribe(channel, names.webhooksQueue, handler, () =>
            recover('webhooks', 'consumer cancelled by the broker'),
          );
        },
      });
      wrapper.on('error', reportError);
      consumers.push(wrapper);
      await wrapper.waitForConnect();
    },
    async stopConsuming() {
      consuming = false;
      await Promise.all(
        [...subscriptions].map(({ channel, tag }) => channel.cancel(tag).catch(() => undefined)),
      );
      subscriptions.clear();
    },
    isConnected: () => connection.isConnected(),
    async messageCount(queue) {
      // Not the publisher's channel: the broker closes the channel of a check that names a
      // missing queue, and publishes must not pay for a metric.
      checker ??= connection.createChannel({ name: 'checks' });
      await checker.waitForConnect();
      return (await checker.checkQueue(queue)).messageCount;
    },
    ready: () => publisher.waitForConnect(),
    async close() {
      closing = true;
      clearTimeout(recovering);
      await checker?.close().catch(() => undefined);
      for (const wrapper of consumers) await wrapper.close().catch(() => undefined);
      await publisher.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}
