import type { IncomingMessage, ServerResponse } from 'node:http';
import { CloseCode, type ErrorBody } from '@transcribe/contracts';
import type { Logger } from '@transcribe/telemetry';
import { readEventsRequest, type Admission, type EventsRequest } from './authenticate.js';
import { failureClose, type Hub, type Transport } from './hub.js';

/** Before the stream starts, refusals are HTTP answers (EventSource cannot read close codes). */
const STATUS: Record<number, { status: number; code: ErrorBody['error']['code'] }> = {
  [CloseCode.BadRequest]: { status: 400, code: 'bad_request' },
  [CloseCode.Unauthorized]: { status: 401, code: 'unauthorized' },
  [CloseCode.NotFound]: { status: 404, code: 'not_found' },
  [CloseCode.TooManyConnections]: { status: 429, code: 'rate_limited' },
  [CloseCode.TryAgainLater]: { status: 503, code: 'dependency_unavailable' },
  1001: { status: 503, code: 'not_ready' },
};

export interface SseOptions {
  hub: Hub;
  admit: (request: EventsRequest) => Promise<Admission>;
  logger: Logger;
}

/**
 * `GET /v1/events/sse`: the WebSocket stream's semantics over Server-Sent Events. Each event
 * is `id: <seq or cursor>`, `event: <type>`, `data: <the WebSocket frame>`; EventSource
 * resumes by itself with Last-Event-ID. Heartbeats are comment lines. An application close
 * (too slow, shutdown) is an `event: close` with `{code, reason}`, then the end of the body.
 */
export async function serveSse(req: IncomingMessage, res: ServerResponse, options: SseOptions) {
  const refuse = (closeCode: number, message: string) => {
    const { status, code } = STATUS[closeCode] ?? { status: 500, code: 'internal_error' };
    const body: ErrorBody = { error: { code, message } };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    // The same pause the gateway asks for when a dependency is down.
    if (status === 503) headers['retry-after'] = '5';
    res.writeHead(status, headers).end(JSON.stringify(body));
  };
  if (req.method !== 'GET') {
    res.writeHead(405, { allow: 'GET', 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'bad_request', message: 'use GET' } }));
    return;
  }
  let admission: Admission;
  try {
    admission = await options.admit(readEventsRequest(req));
  } catch (err) {
    options.logger.error({ err }, 'admission failed');
    return refuse(...failureClose(err));
  }
  if (!admission.ok) return refuse(admission.code, admission.reason);
  if (res.destroyed) return;

  const transport = sseTransport(res);
  // Every write of a subscription comes after a database read, so the status line below
  // still goes first; a refusal here (connection limit, shutdown) is an HTTP answer.
  const attached = options.hub.attach(admission, transport);
  if (!attached.ok) return refuse(attached.code, attached.reason);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // Proxies such as nginx would otherwise hold events back in their buffers.
    'x-accel-buffering': 'no',
  });
  res.write(': connected\n\n');
  const detach = () => options.hub.detach(transport);
  res.on('close', detach);
  res.on('error', detach);
}

function sseTransport(res: ServerResponse): Transport {
  const isOpen = () => !res.writableEnded && !res.destroyed;
  return {
    send: (frame, id, type) => void res.write(`id: ${id}\nevent: ${type}\ndata: ${frame.text}\n\n`),
    buffered: () => res.writableLength,
    close(code, reason) {
      if (!isOpen()) return;
      res.end(`event: close\ndata: ${JSON.stringify({ code, reason })}\n\n`);
    },
    isOpen,
    // A dead peer makes these writes fail, and 'close' detaches it.
    heartbeat: () => (isOpen() ? res.write(': ping\n\n') || true : false),
    terminate: () => res.destroy(),
  };
}
