import { createConnection, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * `pass`: forward both ways. `refuse`: new connections are reset at once. `blackhole`: accept,
 * forward nothing either way (like dropped packets: bytes wait in the socket buffers and flow
 * again on `pass`, as TCP retransmission would deliver them after a short outage).
 */
export type ProxyMode = 'pass' | 'refuse' | 'blackhole';

export interface TcpCutProxy {
  port: number;
  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string;
  setMode(mode: ProxyMode): void;
  /** Destroys every open connection (both sides), as a dropped network link would. */
  cutAll(): void;
  /** Connections currently open through the proxy. */
  openConnections(): number;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream?: Socket;
}

/** A small TCP proxy for outage tests (a Postgres that drops, refuses or hangs). */
export async function startTcpCutProxy(target: {
  host: string;
  port: number;
}): Promise<TcpCutProxy> {
  let mode: ProxyMode = 'pass';
  const pairs = new Set<Pair>();

  function connectUpstream(pair: Pair) {
    const upstream = createConnection(target.port, target.host);
    pair.upstream = upstream;
    upstream.on('error', () => pair.client.destroy());
    upstream.on('close', () => pair.client.destroy());
    flow(pair);
  }

  function flow(pair: Pair) {
    if (!pair.upstream) return connectUpstream(pair);
    pair.client.pipe(pair.upstream);
    pair.upstream.pipe(pair.client);
  }

  function hold(pair: Pair) {
    pair.client.unpipe();
    pair.upstream?.unpipe();
    pair.client.pause();
    pair.upstream?.pause();
  }

  const server = createServer((client) => {
    if (mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client };
    pairs.add(pair);
    client.on('error', () => pair.upstream?.destroy());
    client.on('close', () => {
      pair.upstream?.destroy();
      pairs.delete(pair);
    });
    if (mode === 'pass') connectUpstream(pair);
    else client.pause();
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const port = (server.address() as AddressInfo).port;

  function cutAll() {
    for (const pair of pairs) {
      pair.client.resetAndDestroy();
      pair.upstream?.destroy();
    }
  }

  return {
    port,
    rewrite(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    setMode(next) {
      const previous = mode;
      mode = next;
      if (previous !== 'blackhole' && next === 'blackhole') for (const pair of pairs) hold(pair);
      if (previous === 'blackhole' && next !== 'blackhole') for (const pair of pairs) flow(pair);
    },
    cutAll,
    openConnections: () => pairs.size,
    async close() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
