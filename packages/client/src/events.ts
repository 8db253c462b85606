import WebSocket from 'ws';
import {
  CloseCode,
  ServerFrame,
  TERMINAL_EVENT_TYPES,
  type DiscontinuityFrame,
  type JobEvent,
} from '@transcribe/contracts';
import { ClientError, DiscontinuityError, parseOrThrow, type ClientErrorCode } from './errors.js';

/** Where to follow a job's events: a job (its `links.events`) or the events URL itself. */
export type EventsTarget = { links: { events: string } } | { eventsUrl: string };

export interface FollowEventsOptions {
  /** Resume after this seq (events with `seq <= after` are not delivered). Default 0. */
  after?: number;
  /** Called once per event, in seq order, without duplicates. A throw stops following. */
  onEvent(event: JobEvent): void;
  /**
   * Which event ends the following (the promise resolves with it), checked after
   * `onEvent`. Default {@link isTerminal}: the job's own completed, failed or canceled.
   */
  until?(event: JobEvent): boolean;
  /**
   * Called when the server says the stream cannot resume where asked — the job was
   * deleted since (retention, DELETE) — before the promise rejects with a
   * {@link DiscontinuityError} carrying the same frame.
   */
  onDiscontinuity?(frame: DiscontinuityFrame): void;
  /** Aborting closes the socket and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Reconnect (with `after` = last seq seen) when the connection drops. Default true. */
  reconnect?: boolean;
  /** Consecutive failed connections tolerated before giving up. Default 10. */
  maxRetries?: number;
  /** First reconnect delay; doubles per failure, with jitter. Default 250 ms. */
  initialDelayMs?: number;
  /** Upper bound of the reconnect delay. Default 5000 ms. */
  maxDelayMs?: number;
  /**
   * Reconnect when nothing (no frame, no ping) arrived for this long: a half-open TCP
   * connection otherwise waits forever. 0 disables. Default 120000 ms.
   */
  idleTimeoutMs?: number;
}

export interface EventsContext {
  /** Sent as `Authorization: Bearer` when the URL carries no `token`, or once it expired. */
  apiKey?: string;
}

/** Close codes after which retrying with the same request cannot succeed. */
const FATAL_CLOSE: Readonly<Record<number, ClientErrorCode>> = {
  [CloseCode.Unauthorized]: 'unauthorized',
  [CloseCode.NotFound]: 'not_found',
  [CloseCode.BadRequest]: 'bad_request',
};
/** The same verdicts when the HTTP upgrade itself is refused. */
const FATAL_STATUS: Readonly<Record<number, ClientErrorCode>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'unauthorized',
  404: 'not_found',
};
/** A connection open this long counts as healthy: the retry budget starts over. */
const STABLE_MS = 5000;

function frameText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return Buffer.from(new Uint8Array(data)).toString('utf8');
}

export function eventsUrlOf(target: EventsTarget): string {
  return 'eventsUrl' in target ? target.eventsUrl : target.links.events;
}

export function isTerminal(event: JobEvent): boolean {
  return TERMINAL_EVENT_TYPES.includes(event.type);
}

/**
 * Follows a job's events over the WebSocket until its terminal event (completed, failed,
 * canceled; or what `until` says), which the promise resolves with. Events are delivered in order and at most
 * once: the last seq is tracked, replays of it are dropped, and every reconnect asks for
 * `after=<last seq>`, so nothing is missed either.
 */
export function followEvents(
  target: EventsTarget,
  opts: FollowEventsOptions,
  ctx: EventsContext = {},
): Promise<JobEvent> {
  const maxRetries = opts.maxRetries ?? 10;
  const initialDelayMs = opts.initialDelayMs ?? 250;
  const maxDelayMs = opts.maxDelayMs ?? 5000;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 120_000;
  const reconnect = opts.reconnect ?? true;
  const signal = opts.signal;

  let url: URL;
  try {
    url = new URL(eventsUrlOf(target));
  } catch {
    return Promise.reject(
      new ClientError('bad_request', `invalid events URL: ${eventsUrlOf(target)}`),
    );
  }
  if (signal?.aborted) return Promise.reject(signal.reason);

  return new Promise<JobEvent>((resolve, reject) => {
    let last = opts.after ?? 0;
    let failures = 0;
    let socket: WebSocket | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    let idleTimer: NodeJS.Timeout | undefined;
    let done = false;

    const finish = (error: unknown, terminal?: JobEvent): void => {
      if (done) return;
      done = true;
      clearTimeout(retryTimer);
      clearTimeout(idleTimer);
      signal?.removeEventListener('abort', onAbort);
      if (socket?.readyState === WebSocket.OPEN) socket.close(1000);
      else socket?.terminate();
      if (terminal) resolve(terminal);
      else reject(error);
    };
    const onAbort = (): void => finish(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });

    const retry = (why: string): void => {
      if (!reconnect) {
        finish(new ClientError('network_error', `events connection lost: ${why}`));
        return;
      }
      failures += 1;
      if (failures > maxRetries) {
        finish(
          new ClientError(
            'reconnect_failed',
            `events connection lost ${failures} times in a row, last: ${why}`,
          ),
        );
        return;
      }
      const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** (failures - 1));
      retryTimer = setTimeout(connect, delay / 2 + (Math.random() * delay) / 2);
    };

    /** Handles one frame; an error means the server broke the contract. */
    const onFrame = (raw: string): void => {
      let data: unknown;
      try {
        data = JSON.parse(raw);
      } catch {
        throw new ClientError('invalid_response', 'events frame is not JSON');
      }
      // Frame kinds newer than this client are skipped, not fatal.
      const kind = (data as { kind?: unknown } | null)?.kind;
      if (typeof kind === 'string' && kind !== 'event' && kind !== 'discontinuity') return;
      const frame = parseOrThrow(ServerFrame, data, 'events frame');
      if (frame.kind === 'discontinuity') {
        // No terminal event can come for a job that is gone: end here, typed, not retried.
        opts.onDiscontinuity?.(frame);
        finish(new DiscontinuityError(frame));
        return;
      }
      const event = frame.event;
      if (event.seq <= last) return;
      last = event.seq;
      failures = 0;
      opts.onEvent(event);
      if ((opts.until ?? isTerminal)(event)) finish(undefined, event);
    };

    function connect(): void {
      if (done) return;
      const attemptUrl = new URL(url);
      attemptUrl.searchParams.set('after', String(last));
      const headers: Record<string, string> = {};
      if (ctx.apiKey && !attemptUrl.searchParams.has('token')) {
        headers.authorization = `Bearer ${ctx.apiKey}`;
      }
      const ws = new WebSocket(attemptUrl, { headers, handshakeTimeout: 15_000 });
      socket = ws;
      let openedAt: number | undefined;
      let lastError: Error | undefined;
      let handled = false;

      const armIdle = (): void => {
        clearTimeout(idleTimer);
        if (idleTimeoutMs > 0) idleTimer = setTimeout(() => ws.terminate(), idleTimeoutMs);
      };
      /** Decides what a closed or refused connection means; runs once per socket. */
      const ended = (fatal: ClientErrorCode | undefined, why: string): void => {
        if (handled || done) return;
        handled = true;
        clearTimeout(idleTimer);
        if (openedAt !== undefined && Date.now() - openedAt >= STABLE_MS) failures = 0;
        if (fatal === 'unauthorized' && url.searchParams.has('token') && ctx.apiKey) {
          // The short-lived token expired while we were away: the API key still works.
          url.searchParams.delete('token');
          connect();
          return;
        }
        if (fatal) finish(new ClientError(fatal, `events connection refused: ${why}`));
        else retry(why);
      };

      ws.on('open', () => {
        openedAt = Date.now();
        armIdle();
      });
      ws.on('ping', armIdle);
      ws.on('message', (data, isBinary) => {
        if (done) return;
        armIdle();
        try {
          if (isBinary) throw new ClientError('invalid_response', 'binary events frame');
          onFrame(frameText(data));
        } catch (error) {
          finish(error);
        }
      });
      ws.on('unexpected-response', (req, res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        req.destroy();
        ended(FATAL_STATUS[status], `HTTP ${status} on upgrade`);
      });
      ws.on('error', (error) => {
        lastError = error;
      });
      ws.on('close', (code, reason) => {
        const text = reason.toString() || lastError?.message || 'no reason given';
        ended(FATAL_CLOSE[code], `close ${code} (${text})`);
      });
    }

    connect();
  });
}
