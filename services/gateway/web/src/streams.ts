// WebSocket streams from the notifier (docs/events.md): one job's, resumed by seq, and the
// tenant's, resumed by cursor. Credentials travel as a subprotocol (browsers cannot set
// headers, and a query string may be logged). `close()` is final: a closed stream never
// reconnects and never calls its handler again, whatever its socket does afterwards —
// the fix for the old page, where a switched-away job kept writing into the new panel.
import { storedKey } from './api.js';
import type { Frame, JobEvent } from './types.js';

export interface Stream {
  close(): void;
}

interface Options {
  url: URL;
  credential: string;
  /** The resume point to put in `after` on each (re)connect. */
  after(): string;
  onFrame(frame: Frame): void;
  onDown?(): void;
}

function openStream(options: Options): Stream {
  let closed = false;
  let socket: WebSocket | null = null;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let delay = 1000;
  const connect = () => {
    if (closed) return;
    const url = new URL(options.url);
    url.searchParams.delete('token');
    const after = options.after();
    if (after) url.searchParams.set('after', after);
    const ws = new WebSocket(url, ['transcribe.v1', options.credential]);
    socket = ws;
    ws.onopen = () => (delay = 1000);
    ws.onmessage = (message) => {
      if (closed || socket !== ws) return;
      options.onFrame(JSON.parse(String(message.data)) as Frame);
    };
    ws.onclose = (close) => {
      if (closed || socket !== ws) return;
      // Credentials refused or the job is gone: retrying would not help.
      if (close.code === 4401 || close.code === 4404 || close.code === 4400) {
        options.onDown?.();
        return;
      }
      retry = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15_000);
    };
  };
  connect();
  return {
    close() {
      closed = true;
      clearTimeout(retry);
      socket?.close(1000);
      socket = null;
    },
  };
}

/** Follows one job from `after` (its seq); events arrive in order, each once. */
export function followJob(
  eventsUrl: string,
  eventsToken: string | undefined,
  onEvent: (event: JobEvent, etaS: number | undefined) => void,
): Stream {
  let lastSeq = 0;
  return openStream({
    url: new URL(eventsUrl),
    credential: eventsToken ? `token.${eventsToken}` : `key.${storedKey()}`,
    after: () => String(lastSeq),
    onFrame(frame) {
      if (frame.kind !== 'event' || !frame.event || frame.event.seq <= lastSeq) return;
      lastSeq = frame.event.seq;
      onEvent(frame.event, frame.etaS);
    },
  });
}

/** Follows every job of the key's tenant, from now; `onResync` when events may have been missed. */
export function followTenant(
  notifierBase: string,
  onEvent: (event: JobEvent, etaS: number | undefined) => void,
  onResync: () => void,
): Stream {
  let cursor = '';
  const url = new URL('/v1/events', notifierBase);
  url.protocol = url.protocol.replace(/^http/, 'ws');
  return openStream({
    url,
    credential: `key.${storedKey()}`,
    after: () => cursor,
    onFrame(frame) {
      if (frame.cursor) cursor = frame.cursor;
      if (frame.kind === 'ready' || frame.kind === 'discontinuity') onResync();
      else if (frame.event) onEvent(frame.event, frame.etaS);
    },
  });
}
