import pg from 'pg';

export interface NotificationListener {
  stop(): Promise<void>;
}

export interface ListenOptions {
  channel: string;
  onNotification: (payload: string) => void;
  /**
   * The listening connection is (re)established. Whatever was announced while it was down
   * was missed: a cache should start afresh.
   */
  onListening?: () => void;
  onError?: (error: unknown) => void;
  /** Wait before reconnecting after the connection was lost; default 1000 ms. */
  retryMs?: number;
}

/**
 * LISTENs on `channel` on a connection of its own, reconnecting whenever it is lost.
 * Postgres delivers a NOTIFY to every session listening when the notifying transaction
 * commits, so every replica hears it at once.
 */
export function listenForNotifications(
  connectionString: string,
  options: ListenOptions,
): NotificationListener {
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;

  const reconnect = () => {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, options.retryMs ?? 1000);
    retry.unref();
  };

  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString, connectionTimeoutMillis: 5000, keepAlive: true });
    client = c;
    c.on('error', (error) => {
      options.onError?.(error);
      void c.end().catch(() => undefined);
    });
    c.on('end', reconnect);
    c.on('notification', (message) => {
      if (message.channel === options.channel && message.payload) {
        options.onNotification(message.payload);
      }
    });
    try {
      await c.connect();
      await c.query(`LISTEN "${options.channel.replaceAll('"', '""')}"`);
      if (stopped) await c.end();
      else options.onListening?.();
    } catch (error) {
      options.onError?.(error);
      await c.end().catch(() => undefined);
      reconnect();
    }
  }

  void connect();
  return {
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    },
  };
}
