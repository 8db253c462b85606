import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, type JobEvent, type ServerFrame } from '@transcribe/contracts';
import type { Logger } from '@transcribe/telemetry';
import type { Admission } from './authenticate.js';
import { JobSubscription, type LoadEvents } from './subscription.js';

export interface HubOptions {
  server: Server;
  path: string;
  admit: (req: IncomingMessage) => Promise<Admission>;
  load: LoadEvents;
  logger: Logger;
  heartbeatMs: number;
  /** A client with more unsent bytes than this is cut off (4408) instead of growing memory. */
  maxBufferedBytes: number;
  onConnectionsChange?: (count: number) => void;
  onEventSent?: () => void;
}

interface Client {
  socket: WebSocket;
  subscription: JobSubscription;
  alive: boolean;
}

/**
 * The WebSocket side of the notifier: admits clients, keeps their subscriptions, fans live
 * events out, pings them, and cuts the ones that are dead or too slow.
 */
export class Hub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  private readonly byJob = new Map<string, Set<Client>>();
  private readonly clients = new Set<Client>();
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: HubOptions) {
    options.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.heartbeat = setInterval(() => this.ping(), options.heartbeatMs);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** A live event from the broker. */
  dispatch(event: JobEvent): void {
    for (const client of this.byJob.get(event.jobId) ?? []) void client.subscription.live(event);
  }

  /** Live events may have been missed (broker reconnect): every subscription re-reads. */
  resyncAll(): void {
    for (const client of this.clients) void client.subscription.resync();
  }

  /** Closes every client with 1001 so they reconnect to another replica. */
  close(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const client of this.clients) client.socket.close(1001, 'server shutting down');
    this.wss.close();
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== this.options.path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    // Accept first, then decide: a browser sees close codes, never an upgrade's HTTP status.
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.accept(ws, req));
  }

  private async accept(socket: WebSocket, req: IncomingMessage): Promise<void> {
    let admission: Admission;
    try {
      admission = await this.options.admit(req);
    } catch (error) {
      this.options.logger.error({ err: error }, 'admission failed');
      socket.close(1011, 'internal error');
      return;
    }
    if (!admission.ok) {
      socket.close(admission.code, admission.reason);
      return;
    }
    if (socket.readyState !== socket.OPEN) return;
    // Admitted while shutting down: close() has already run and would never see this client.
    if (this.closed) {
      socket.close(1001, 'server shutting down');
      return;
    }
    const { jobId, after } = admission;
    const log = this.options.logger.child({ jobId, tenantId: admission.tenantId });
    const client: Client = {
      socket,
      alive: true,
      subscription: new JobSubscription(
        jobId,
        after,
        (event) => this.send(client, event),
        this.options.load,
        (err) => log.warn({ err }, 'subscription error'),
      ),
    };
    this.add(client);
    socket.on('pong', () => (client.alive = true));
    socket.on('close', () => this.remove(client));
    socket.on('error', () => this.remove(client));
    void client.subscription.start();
  }

  private send(client: Client, event: JobEvent): void {
    const { socket } = client;
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > this.options.maxBufferedBytes) {
      socket.close(CloseCode.TooSlow, 'client too slow; resume with after=<last seq>');
      this.remove(client);
      return;
    }
    const frame: ServerFrame = { kind: 'event', event };
    socket.send(JSON.stringify(frame));
    this.options.onEventSent?.();
  }

  private add(client: Client): void {
    this.clients.add(client);
    const set = this.byJob.get(client.subscription.jobId) ?? new Set<Client>();
    set.add(client);
    this.byJob.set(client.subscription.jobId, set);
    this.options.onConnectionsChange?.(this.clients.size);
  }

  private remove(client: Client): void {
    if (!this.clients.delete(client)) return;
    client.subscription.close();
    const set = this.byJob.get(client.subscription.jobId);
    set?.delete(client);
    if (set?.size === 0) this.byJob.delete(client.subscription.jobId);
    this.options.onConnectionsChange?.(this.clients.size);
  }

  private ping(): void {
    for (const client of this.clients) {
      if (!client.alive) {
        client.socket.terminate();
        this.remove(client);
        continue;
      }
      client.alive = false;
      client.socket.ping();
    }
  }
}
