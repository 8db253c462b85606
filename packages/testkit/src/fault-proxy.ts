// A TCP proxy between the services and one real dependency (Postgres, RabbitMQ, S3) that
// can break the link on command: the fault suite and the outage tests point DATABASE_URL,
// AMQP_URL and S3_ENDPOINT at proxies so they can cut, refuse, black-hole or slow the
// network without root, iptables or containers. The one proxy every test uses.
import { connect, createServer, type Server, type Socket } from 'node:net';

/** What the proxy does with traffic right now. */
export type FaultMode = 'pass' | 'refuse' | 'blackhole' | 'delay';

export interface FaultProxyStats {
  /** Connections accepted since the start (refused ones included). */
  accepted: number;
  /** Connections open now (held black-holed ones included). */
  open: number;
  /** Connections reset on arrival while refusing. */
  refused: number;
  /** Open connections reset by `cut()` or `refuse()`. */
  cut: number;
}

export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  readonly mode: FaultMode;
  stats(): FaultProxyStats;
  /** `url` with its host and port replaced by the proxy's: the same service, through it. */
  rewrite(url: string): string;
  /** Resets every open connection now; new ones still pass. */
  cut(): void;
  /** Resets new connections on arrival and cuts the open ones, until `restore()`. */
  refuse(): void;
  /**
   * Forwards nothing either way, like a network that drops packets: open connections stay
   * open and silent, new ones are accepted and held without reaching the target. Nothing
   * is discarded: on `restore()` the held bytes flow, as TCP retransmission would deliver
   * them after a transient partition.
   */
  blackhole(): void;
  /** Delivers every chunk `ms` later, in order, both ways (latency, not bandwidth). */
  delay(ms: number): void;
  /** Back to passing everything at once; held connections go through. */
  restore(): void;
  /** Stops listening and resets every connection. */
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** Where to listen; default 127.0.0.1 on a free port. */
  host?: string;
  port?: number;
}

/** One direction of a connection: from one socket to the other. */
interface Direction {
  from: Socket;
  to: Socket;
  /** Waiting for `to` to drain. */
  draining: boolean;
  /** When the last delayed chunk is due, so chunks keep their order. */
  lastDueAt: number;
}

interface Link {
  client: Socket;
  /** Undefined while a connection made during a black-hole waits for `restore()`. */
  upstream?: Socket;
  /** Empty until the upstream connection is made. */
  directions: Direction[];
}

export async function startFaultProxy(
  target: { host: string; port: number },
  options: FaultProxyOptions = {},
): Promise<FaultProxy> {
  let mode: FaultMode = 'pass';
  let delayMs = 0;
  const links = new Set<Link>();
  const timers = new Set<NodeJS.Timeout>();
  const counts = { accepted: 0, refused: 0, cut: 0 };

  const reset = (socket: Socket | undefined) => {
    if (socket && !socket.destroyed) socket.resetAndDestroy();
  };
  const dropLink = (link: Link) => {
    if (!links.delete(link)) return;
    reset(link.client);
    reset(link.upstream);
  };
  /** One side closed: the other gets what is still due, then an orderly end. */
  const closeOther = (link: Link, closed: Socket) => {
    links.delete(link);
    const direction = link.directions.find((d) => d.from === closed);
    const other = closed === link.client ? link.upstream : link.client;
    if (!other || other.destroyed || other.writableEnded) return;
    if (direction) schedule(direction, () => other.end());
    else other.end();
  };
  const resumeIfAllowed = (direction: Direction) => {
    if (mode !== 'blackhole' && !direction.draining && !direction.from.destroyed) {
      direction.from.resume();
    }
  };

  const write = (direction: Direction, chunk: Buffer) => {
    if (direction.to.destroyed) return;
    if (!direction.to.write(chunk) && !direction.draining) {
      direction.draining = true;
      direction.from.pause();
      direction.to.once('drain', () => {
        direction.draining = false;
        resumeIfAllowed(direction);
      });
    }
  };
  /** Runs `send` now, or after the delay when one is set, after any earlier delayed chunk. */
  const schedule = (direction: Direction, send: () => void) => {
    const now = Date.now();
    if (delayMs <= 0 && direction.lastDueAt <= now) return send();
    const dueAt = Math.max(now + delayMs, direction.lastDueAt);
    direction.lastDueAt = dueAt;
    const timer = setTimeout(() => {
      timers.delete(timer);
      send();
    }, dueAt - now);
    timers.add(timer);
  };

  const wire = (link: Link, upstream: Socket) => {
    link.directions = [
      { from: link.client, to: upstream, draining: false, lastDueAt: 0 },
      { from: upstream, to: link.client, draining: false, lastDueAt: 0 },
    ];
    for (const direction of link.directions) {
      direction.from.on('data', (chunk: Buffer) =>
        schedule(direction, () => write(direction, chunk)),
      );
      direction.from.on('end', () =>
        schedule(direction, () => {
          if (!direction.to.destroyed) direction.to.end();
        }),
      );
      resumeIfAllowed(direction);
    }
  };

  const connectUpstream = (link: Link) => {
    const upstream = connect({ host: target.host, port: target.port });
    link.upstream = upstream;
    upstream.pause();
    upstream.on('error', () => dropLink(link));
    upstream.on('close', () => closeOther(link, upstream));
    upstream.once('connect', () => wire(link, upstream));
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    counts.accepted++;
    if (mode === 'refuse') {
      counts.refused++;
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const link: Link = { client, directions: [] };
    links.add(link);
    client.on('error', () => dropLink(link));
    client.on('close', () => closeOther(link, client));
    // Held until restore(): the client sees a connection that never answers.
    if (mode !== 'blackhole') connectUpstream(link);
  });

  const cutAll = () => {
    for (const link of [...links]) {
      counts.cut++;
      dropLink(link);
    }
  };
  const flowAll = () => {
    for (const link of links) {
      if (!link.upstream) connectUpstream(link);
      else for (const direction of link.directions) resumeIfAllowed(direction);
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('fault proxy: no TCP address');

  return {
    host: address.address,
    port: address.port,
    get mode() {
      return mode;
    },
    stats: () => ({ ...counts, open: links.size }),
    rewrite(url) {
      const through = new URL(url);
      through.hostname = address.address;
      through.port = String(address.port);
      return through.toString();
    },
    cut: cutAll,
    refuse() {
      mode = 'refuse';
      cutAll();
    },
    blackhole() {
      mode = 'blackhole';
      for (const link of links) for (const direction of link.directions) direction.from.pause();
    },
    delay(ms) {
      mode = 'delay';
      delayMs = Math.max(0, ms);
      flowAll();
    },
    restore() {
      mode = 'pass';
      delayMs = 0;
      flowAll();
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      cutAll();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      // server.close() waits for every accepted socket to end; one that never does (seen
      // after a soak) must not hold the harness, and the test process, open.
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([
        closed,
        new Promise<void>((resolve) => {
          bound = setTimeout(resolve, 5000);
          bound.unref();
        }),
      ]);
      clearTimeout(bound);
    },
  };
}
