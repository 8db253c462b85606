import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  CloseCode,
  type DiscontinuityFrame,
  type EventFrame,
  type JobEvent,
  type ReadyFrame,
} from '@transcribe/contracts';
import { isDatabaseUnavailable, type TenantCursor } from '@transcribe/db';
import type { Logger } from '@transcribe/telemetry';
import {
  readEventsRequest,
  selectSubprotocol,
  type Admission,
  type EventsRequest,
} from './authenticate.js';
import { formatCursor } from './cursor.js';
import { jobDeletedFrame, tenantGapFrame } from './discontinuity.js';
import { RecentSeqs } from './recent-seqs.js';
import { JobSubscription, type LoadEvents } from './subscription.js';
import { TenantSubscription, type LoadTenantEvents } from './tenant-subscription.js';
import { textFrame } from './text-frame.js';
import { WriteBatch, type Corkable } from './write-batch.js';

export interface HubOptions {
  server: Server;
  path: string;
  admit: (request: EventsRequest) => Promise<Admission>;
  load: LoadEvents;
  loadTenant: LoadTenantEvents;
  /** Where a tenant stream without `after` starts: now. */
  currentCursor: () => Promise<TenantCursor>;
  /** The furthest position of the tenant's deleted events (see findTenantEventHorizon). */
  eventHorizon: (tenantId: string) => Promise<TenantCursor | undefined>;
  /** Extra fields of an event frame (ETA, links). */
  decorate?: (event: JobEvent) => Partial<EventFrame>;
  logger: Logger;
  heartbeatMs: number;
  /** A client with more unsent bytes than this is cut off (4408) instead of growing memory. */
  maxBufferedBytes: number;
  /** Open streams per tenant on this notifier, WebSocket and SSE together (4429 beyond). */
  maxConnectionsPerTenant: number;
  /** How long a large fan-out's frames wait for more before they are written (see WriteBatch). */
  writeDelayMs?: number;
  onConnectionsChange?: (count: number) => void;
  /** Frames sent since the last call (counted per tick, not per send). */
  onEventsSent?: (count: number) => void;
}

/** How frames reach one client: a WebSocket or an SSE response. */
export interface Transport {
  /** Sends a serialized frame; `id` is the SSE event id (seq or cursor). */
  send(frame: Serialized, id: string, type: string): void;
  /** Bytes queued but not yet handed to the kernel. */
  buffered(): number;
  /** Ends the stream with an application close code and reason. */
  close(code: number, reason: string): void;
  isOpen(): boolean;
  /** Heartbeat: false when the previous one went unanswered (the client is then dropped). */
  heartbeat(): boolean;
  terminate(): void;
}

/**
 * A frame serialized once for every subscriber: text for SSE, and for WebSocket the whole
 * frame (header and UTF-8 payload in one buffer), so fanning it out is one write each.
 */
export class Serialized {
  private framed: Buffer | undefined;
  constructor(readonly text: string) {}
  get wsFrame(): Buffer {
    return (this.framed ??= textFrame(Buffer.from(this.text)));
  }
}

interface Client {
  tenantId: string;
  transport: Transport;
  job?: JobSubscription;
  tenant?: TenantSubscription;
}

/**
 * The notifier's subscribers: admits them (WebSocket here, SSE through `attach`), keeps
 * their subscriptions, fans live events out, sends heartbeats, and cuts the clients that
 * are dead or too slow.
 */
export class Hub {
  private readonly wss: WebSocketServer;
  private readonly byJob = new Map<string, Set<Client>>();
  private readonly byTenant = new Map<string, Set<Client>>();
  private readonly perTenant = new Map<string, number>();
  private readonly clients = new Map<Transport, Client>();
  private readonly heartbeatTimer: NodeJS.Timeout;
  /** Live seqs seen lately: whether an admission that skipped its replay missed one. */
  private readonly recent = new RecentSeqs();
  /**
   * One serialization (and one `decorate`, whose ETA estimator keeps state) per event
   * object, whatever the number of subscribers; the last one is also kept aside, so a
   * fan-out's thousands of sends skip the WeakMap.
   */
  private readonly serialized = new WeakMap<JobEvent, Serialized>();
  private lastEvent: JobEvent | undefined;
  private lastFrame: Serialized | undefined;
  private sentCount = 0;
  private closed = false;
  private readonly writes: WriteBatch;

  constructor(private readonly options: HubOptions) {
    this.writes = new WriteBatch(options.writeDelayMs ?? 0);
    this.wss = new WebSocketServer({
      noServer: true,
      // Clients only answer pings: small frames, no compression state per connection.
      maxPayload: 4096,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (protocols) => selectSubprotocol(protocols),
    });
    options.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.heartbeatTimer = setInterval(() => this.heartbeat(), options.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Where an admission's "since" starts: taken before it reads the job's head. */
  mark(): number {
    return this.recent.mark();
  }

  /** A live event from the broker. */
  dispatch(event: JobEvent): void {
    this.recent.note(event.jobId, event.seq);
    for (const client of this.byJob.get(event.jobId) ?? []) void client.job!.live(event);
    for (const client of this.byTenant.get(event.tenantId) ?? []) void client.tenant!.wake();
  }

  /**
   * The job was deleted: its subscribers get the `job_deleted` discontinuity at their
   * position, then 4404, as a resume after the deletion would.
   */
  jobDeleted(jobId: string): void {
    for (const client of [...(this.byJob.get(jobId) ?? [])]) {
      this.endDeleted(client, jobDeletedFrame(jobId, client.job!.seq));
    }
  }

  /** Live events may have been missed (broker reconnect): every subscription re-reads. */
  resyncAll(): void {
    this.recent.invalidate();
    for (const client of this.clients.values()) {
      void client.job?.resync();
      void client.tenant?.wake();
    }
  }

  /** Closes every client with 1001 so they reconnect to another replica. */
  close(): void {
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    for (const client of [...this.clients.values()]) {
      client.transport.close(1001, 'server shutting down');
      this.remove(client);
    }
    this.writes.flush();
    this.wss.close();
  }

  /**
   * Starts serving an admitted client over `transport`; false (and nothing attached) when
   * the tenant is at its connection limit or the hub is closing — the caller answers.
   */
  attach(
    admission: Extract<Admission, { ok: true }>,
    transport: Transport,
  ): { ok: true } | { ok: false; code: number; reason: string } {
    if (this.closed) return { ok: false, code: 1001, reason: 'server shutting down' };
    const { tenantId, stream } = admission;
    const open = this.perTenant.get(tenantId) ?? 0;
    if (open >= this.options.maxConnectionsPerTenant) {
      return {
        ok: false,
        code: CloseCode.TooManyConnections,
        reason: `at most ${this.options.maxConnectionsPerTenant} event streams per tenant`,
      };
    }
    // No logger child per subscriber (pino serialises a child's bindings when it is made):
    // the ids go into the rare warning itself.
    const onError = (err: unknown) =>
      this.options.logger.warn(
        { err, tenantId, ...(stream.kind === 'job' ? { jobId: stream.jobId } : {}) },
        'subscription error',
      );
    const client: Client = { tenantId, transport };
    this.clients.set(transport, client);
    this.perTenant.set(tenantId, open + 1);
    if (stream.kind === 'job' && stream.deleted) {
      // After the caller's synchronous start of the stream (SSE writes its status line).
      queueMicrotask(() => this.endDeleted(client, jobDeletedFrame(stream.jobId, stream.after)));
    } else if (stream.kind === 'job') {
      client.job = new JobSubscription(
        stream.jobId,
        stream.after,
        (event) => this.send(client, event),
        this.options.load,
        onError,
      );
      addTo(this.byJob, stream.jobId, client);
      // Registered now: every later event reaches it live. It missed nothing before if it
      // has the head read at admission and nothing newer was dispatched since that read.
      const { head } = stream;
      const current =
        head !== undefined &&
        stream.after >= head.lastSeq &&
        stream.after >= this.recent.highestSince(stream.jobId, head.mark);
      if (!current) void client.job.start();
    } else {
      void this.startTenantStream(client, stream.after, onError);
    }
    this.options.onConnectionsChange?.(this.clients.size);
    return { ok: true };
  }

  /** Forgets a client (its transport closed or failed). Idempotent. */
  detach(transport: Transport): void {
    const client = this.clients.get(transport);
    if (client) this.remove(client);
  }

  /** A resumed job that is gone: the discontinuity frame, then 4404 as for any missing job. */
  private endDeleted(client: Client, frame: DiscontinuityFrame): void {
    if (this.clients.get(client.transport) !== client) return;
    this.sendDiscontinuity(client, frame, String(frame.after));
    client.transport.close(CloseCode.NotFound, 'job not found (deleted)');
    this.remove(client);
  }

  private sendDiscontinuity(client: Client, frame: DiscontinuityFrame, id: string): void {
    client.transport.send(new Serialized(JSON.stringify(frame)), id, 'discontinuity');
  }

  private async startTenantStream(
    client: Client,
    after: TenantCursor | undefined,
    onError: (err: unknown) => void,
  ): Promise<void> {
    let start: TenantCursor;
    if (after) {
      start = after;
      let gap: DiscontinuityFrame | undefined;
      try {
        gap = tenantGapFrame(after, await this.options.eventHorizon(client.tenantId));
      } catch (err) {
        this.failStart(client, err, onError);
        return;
      }
      if (this.clients.get(client.transport) !== client) return;
      // The id keeps the client's position: events after `after` that remain still follow.
      if (gap) this.sendDiscontinuity(client, gap, formatCursor(after));
    } else {
      try {
        start = await this.options.currentCursor();
      } catch (err) {
        this.failStart(client, err, onError);
        return;
      }
      if (this.clients.get(client.transport) !== client) return;
      const ready: ReadyFrame = {
        kind: 'ready',
        tenantId: client.tenantId,
        cursor: formatCursor(start),
      };
      client.transport.send(new Serialized(JSON.stringify(ready)), ready.cursor, 'ready');
    }
    client.tenant = new TenantSubscription(
      client.tenantId,
      start,
      (event, cursor) => this.send(client, event, cursor),
      this.options.loadTenant,
      onError,
    );
    addTo(this.byTenant, client.tenantId, client);
    await client.tenant.start();
  }

  /** A stream whose start could not read the database: closed with the reason's code. */
  private failStart(client: Client, err: unknown, onError: (err: unknown) => void): void {
    onError(err);
    client.transport.close(...failureClose(err));
    this.remove(client);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    // The plain path compares as it is; anything else (encoded, dotted) goes through URL.
    const path = query < 0 ? url : url.slice(0, query);
    if (
      path !== this.options.path &&
      new URL(url, 'http://localhost').pathname !== this.options.path
    ) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    // Accept first, then decide: a browser sees close codes, never an upgrade's HTTP status.
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.accept(ws, req));
  }

  private async accept(socket: WebSocket, req: IncomingMessage): Promise<void> {
    let admission: Admission;
    try {
      admission = await this.options.admit(readEventsRequest(req));
    } catch (error) {
      this.options.logger.error({ err: error }, 'admission failed');
      socket.close(...failureClose(error));
      return;
    }
    if (!admission.ok) {
      socket.close(admission.code, admission.reason);
      return;
    }
    if (socket.readyState !== socket.OPEN) return;
    const transport = new WsTransport(
      socket,
      (socket as unknown as { _socket: Duplex })._socket,
      this.writes,
    );
    // Admitted while shutting down, close() has already run: attach refuses with 1001.
    const attached = this.attach(admission, transport);
    if (!attached.ok) {
      socket.close(attached.code, attached.reason);
      return;
    }
    transport.onGone = this.detachTransport;
    socket.on('close', onSocketGone);
    socket.on('error', onSocketGone);
  }

  /** One function for every socket's close and error (see WsTransport). */
  private readonly detachTransport = (transport: Transport) => this.detach(transport);

  private send(client: Client, event: JobEvent, cursor?: TenantCursor): void {
    const { transport } = client;
    if (!transport.isOpen()) return;
    if (transport.buffered() > this.options.maxBufferedBytes) {
      transport.close(CloseCode.TooSlow, 'client too slow; resume with after=<last seq or cursor>');
      this.remove(client);
      return;
    }
    let data: Serialized;
    let id: string;
    if (cursor) {
      id = formatCursor(cursor);
      const frame: EventFrame = {
        kind: 'event',
        event,
        cursor: id,
        ...this.options.decorate?.(event),
      };
      data = new Serialized(JSON.stringify(frame));
    } else {
      id = String(event.seq);
      // A live event is one object for all its subscribers: serialized and framed once.
      if (this.lastEvent !== event) {
        let cached = this.serialized.get(event);
        if (!cached) {
          const frame: EventFrame = { kind: 'event', event, ...this.options.decorate?.(event) };
          cached = new Serialized(JSON.stringify(frame));
          this.serialized.set(event, cached);
        }
        this.lastFrame = cached;
        this.lastEvent = event;
      }
      data = this.lastFrame!;
    }
    transport.send(data, id, event.type);
    if (this.sentCount++ === 0) queueMicrotask(this.reportSent);
  }

  private readonly reportSent = () => {
    this.options.onEventsSent?.(this.sentCount);
    this.sentCount = 0;
  };

  private remove(client: Client): void {
    if (!this.clients.delete(client.transport)) return;
    const left = (this.perTenant.get(client.tenantId) ?? 1) - 1;
    if (left > 0) this.perTenant.set(client.tenantId, left);
    else this.perTenant.delete(client.tenantId);
    if (client.job) {
      client.job.close();
      removeFrom(this.byJob, client.job.jobId, client);
    }
    if (client.tenant) {
      client.tenant.close();
      removeFrom(this.byTenant, client.tenantId, client);
    }
    this.options.onConnectionsChange?.(this.clients.size);
  }

  private heartbeat(): void {
    this.recent.rotate();
    for (const client of [...this.clients.values()]) {
      if (!client.transport.heartbeat()) {
        client.transport.terminate();
        this.remove(client);
      }
    }
  }
}

function addTo(map: Map<string, Set<Client>>, key: string, client: Client): void {
  const set = map.get(key) ?? new Set<Client>();
  set.add(client);
  map.set(key, set);
}

function removeFrom(map: Map<string, Set<Client>>, key: string, client: Client): void {
  const set = map.get(key);
  set?.delete(client);
  if (set?.size === 0) map.delete(key);
}

const TRANSPORT = Symbol('transport');
type TaggedSocket = WebSocket & { [TRANSPORT]?: WsTransport };

/**
 * A WebSocket client. One object per connection and no closures: the listeners are shared
 * functions that find it through the socket, which matters at tens of thousands of them.
 */
class WsTransport implements Transport, Corkable {
  alive = true;
  /** The hub's detach, called when the socket closes or fails. */
  onGone: ((transport: Transport) => void) | undefined;
  /**
   * Bytes held by our own cork until the batch flushes: not the client's backlog. Above 0
   * exactly while the batch holds this socket (a frame is never empty).
   */
  heldBytes = 0;

  constructor(
    readonly socket: WebSocket,
    /** ws's TCP socket (`_socket`, not public API): the frames are written to it. */
    readonly raw: Duplex,
    private readonly batch: WriteBatch,
  ) {
    (socket as TaggedSocket)[TRANSPORT] = this;
    socket.on('pong', onPong);
  }

  // Each frame is written whole (built once per event, see Serialized) straight to the TCP
  // socket, corked until the write batch flushes: the events that one read from the broker
  // carries (more in a busy turn, or within the write delay) go to a client in one writev.
  // That bypasses ws's sender, which is safe because it never holds frames back here (no
  // compression) and nothing is written after its close frame (isOpen is checked first).
  send(frame: Serialized): void {
    const bytes = frame.wsFrame;
    if (this.heldBytes === 0) this.batch.hold(this);
    this.heldBytes += bytes.length;
    this.raw.write(bytes);
  }

  cork(): void {
    this.raw.cork();
  }

  uncork(): void {
    this.heldBytes = 0;
    this.raw.uncork();
  }

  buffered(): number {
    return this.socket.bufferedAmount - this.heldBytes;
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  isOpen(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  heartbeat(): boolean {
    if (!this.alive) return false;
    this.alive = false;
    this.socket.ping();
    return true;
  }

  terminate(): void {
    this.socket.terminate();
  }
}

function onPong(this: TaggedSocket): void {
  this[TRANSPORT]!.alive = true;
}

function onSocketGone(this: TaggedSocket): void {
  const transport = this[TRANSPORT]!;
  transport.onGone?.(transport);
}

/**
 * How a stream that failed before it started is closed: a database that is down or hanging
 * is 1013 (try again later), which clients retry after a pause; anything else is 1011.
 */
export function failureClose(error: unknown): [code: number, reason: string] {
  return isDatabaseUnavailable(error)
    ? [CloseCode.TryAgainLater, 'database unavailable, try again later']
    : [1011, 'internal error'];
}
