import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorBody } from '@transcribe/contracts';
import type { Logger } from '@transcribe/telemetry';

/** Node's own refusals (before express sees a request), by parser error code. */
function refusal(code: string | undefined): { status: number; body: ErrorBody } {
  if (code === 'HPE_HEADER_OVERFLOW')
    return bodyOf(431, 'payload_too_large', 'request headers too large');
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT')
    return bodyOf(408, 'bad_request', 'request timeout');
  return bodyOf(400, 'bad_request', 'malformed HTTP request');
}

function bodyOf(status: number, code: ErrorBody['error']['code'], message: string) {
  return { status, body: { error: { code, message } } };
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/**
 * Answers what Node refuses itself (431 headers too large, 400 malformed request line or
 * header, 408 timeout) with the API's JSON error shape instead of an empty body, where the
 * socket still allows it; then closes the connection, as Node's default handler does.
 */
export function handleClientErrors(server: Server, logger?: Logger): void {
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    // A response already started on this socket (keep-alive) cannot be followed by another.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const { status, body } = refusal(error.code);
    logger?.debug({ code: error.code, status }, 'client error');
    const payload = JSON.stringify(body);
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(payload)}\r\n` +
        'Connection: close\r\n\r\n' +
        payload,
    );
  });
}
