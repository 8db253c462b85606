// A TCP relay in front of a real server (RabbitMQ here), so a test can cut a client's
// connections the way a network blip does, without touching the server or the client.
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';

export interface TcpRelay {
  /** Port on 127.0.0.1 that forwards to the target. */
  port: number;
  /** Connections accepted so far (a client that reconnects counts again). */
  connections(): number;
  /**
   * Destroys every open connection at once, and refuses new ones for `downMs` (each is
   * accepted and dropped at once, like a broker that is unreachable).
   */
  cut(downMs?: number): void;
  close(): Promise<void>;
}

export async function startTcpRelay(target: { host: string; port: number }): Promise<TcpRelay> {
  const open = new Set<Socket>();
  let accepted = 0;
  let downUntil = 0;
  const server = createServer((client) => {
    if (Date.now() < downUntil) {
      client.destroy();
      return;
    }
    accepted++;
    const upstream = connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('relay has no TCP address');
  return {
    port: address.port,
    connections: () => accepted,
    cut(downMs = 0) {
      downUntil = Date.now() + downMs;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    async close() {
      for (const socket of open) socket.destroy();
      open.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
