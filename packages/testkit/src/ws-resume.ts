// A WebSocket client that follows one job across notifier deaths: when its connection
// drops it reconnects (to the next notifier in turn) with `after=<last seq seen>`. Unlike
// the product client, it keeps every frame as received, duplicates included, so the
// fault suite can tell whether the notifiers delivered each event exactly once, in order.
import WebSocket from 'ws';
import { CloseCode, ServerFrame, TERMINAL_EVENT_TYPES, type JobEvent } from '@transcribe/contracts';

export interface ResumedStream {
  /** Every event received, in arrival order, duplicates included. */
  received: JobEvent[];
  /** Events whose seq was not above the last one seen. */
  duplicates: number;
  /** Times a seq jumped by more than one. */
  gaps: number;
  reconnects: number;
  terminal?: JobEvent;
}

export interface FollowResumingOptions {
  /** ws:// base URLs of the notifiers, tried in turn. */
  notifierUrls: readonly string[];
  jobId: string;
  token: string;
  timeoutMs?: number;
  /** Reconnections allowed in all (default 50). */
  maxReconnects?: number;
  retryDelayMs?: number;
  /** Called on every event as it arrives. */
  onEvent?: (event: JobEvent) => void;
}

const FATAL: readonly number[] = [CloseCode.Unauthorized, CloseCode.NotFound, CloseCode.BadRequest];

export function followResuming(options: FollowResumingOptions): Promise<ResumedStream> {
  const timeoutMs = options.timeoutMs ?? 180_000;
  const maxReconnects = options.maxReconnects ?? 50;
  const retryDelayMs = options.retryDelayMs ?? 300;
  const stream: ResumedStream = { received: [], duplicates: 0, gaps: 0, reconnects: 0 };
  let last = 0;
  let turn = 0;

  return new Promise((resolve, reject) => {
    let socket: WebSocket | undefined;
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket?.terminate();
      if (error) reject(error);
      else resolve(stream);
    };
    const timer = setTimeout(
      () =>
        finish(
          new Error(
            `job ${options.jobId}: no terminal event within ${timeoutMs} ms (seqs ${stream.received.map((e) => e.seq).join(',')})`,
          ),
        ),
      timeoutMs,
    );

    const connect = () => {
      if (done) return;
      const base = options.notifierUrls[turn++ % options.notifierUrls.length]!;
      const url = `${base}/v1/events?jobId=${options.jobId}&token=${encodeURIComponent(options.token)}&after=${last}`;
      const ws = new WebSocket(url);
      socket = ws;
      ws.on('message', (data) => {
        const frame = ServerFrame.parse(JSON.parse(String(data)));
        // A discontinuity means events this client needed are gone: a gap, and the end.
        if (frame.kind !== 'event') {
          stream.gaps++;
          ws.close(1000);
          finish();
          return;
        }
        const event = frame.event;
        stream.received.push(event);
        options.onEvent?.(event);
        if (event.seq <= last) stream.duplicates++;
        else {
          if (event.seq > last + 1) stream.gaps++;
          last = event.seq;
        }
        if (TERMINAL_EVENT_TYPES.includes(event.type)) {
          stream.terminal = event;
          ws.close(1000);
          finish();
        }
      });
      ws.on('error', () => undefined);
      ws.on('close', (code) => {
        if (done) return;
        if (FATAL.includes(code)) return finish(new Error(`job ${options.jobId}: closed ${code}`));
        if (++stream.reconnects > maxReconnects) {
          return finish(
            new Error(`job ${options.jobId}: gave up after ${maxReconnects} reconnects`),
          );
        }
        setTimeout(connect, retryDelayMs);
      });
    };
    connect();
  });
}

/**
 * What differs between what a resuming client received (duplicates dropped) and the
 * job's stored events, as one line; undefined when they agree exactly.
 */
export function streamMismatch(
  stream: ResumedStream,
  stored: readonly { seq: number; type: string }[],
): string | undefined {
  const label = (e: { seq: number; type: string }) => `${e.seq}:${e.type}`;
  const seen = [...new Map(stream.received.map((e) => [e.seq, label(e)])).values()];
  const want = stored.map(label);
  if (seen.join(' ') === want.join(' ')) return undefined;
  return `client saw [${seen.join(' ')}], stored [${want.join(' ')}]`;
}
