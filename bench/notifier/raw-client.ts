// A minimal WebSocket client for load (RFC 6455, text frames in, pongs out): a socket and
// a few fields per connection, so tens of thousands fit in a few small processes. The
// same code and the same request bytes go to the notifier and to the bare server.
import { connect, type Socket } from 'node:net';

/** Any valid key will do: the server only hashes it; the client need not check the answer. */
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const HEADER_END = Buffer.from('\r\n\r\n');

export interface RawClientEvents {
  onOpen: () => void;
  onFail: (reason: string) => void;
  onMessage: (payload: Buffer) => void;
  onClose: () => void;
}

export function upgradeRequest(host: string, port: number, path: string): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
}

/** Opens one connection; its frames go to `events` until it closes. */
export function openRaw(
  port: number,
  localAddress: string | undefined,
  request: Buffer,
  events: RawClientEvents,
): Socket {
  const socket = connect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) });
  socket.setNoDelay(true);
  let pending: Buffer | undefined;
  let open = false;
  socket.on('connect', () => socket.write(request));
  socket.on('data', (chunk: Buffer) => {
    let data = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = undefined;
    if (!open) {
      const end = data.indexOf(HEADER_END);
      if (end < 0) {
        pending = data;
        return;
      }
      if (data.toString('latin1', 0, 12) !== 'HTTP/1.1 101') {
        events.onFail(data.toString('latin1', 0, data.indexOf('\r\n')));
        socket.destroy();
        return;
      }
      open = true;
      events.onOpen();
      data = data.subarray(end + 4);
    }
    let offset = 0;
    while (data.length - offset >= 2) {
      const opcode = data[offset]! & 0x0f;
      let length = data[offset + 1]! & 0x7f;
      let header = 2;
      if (length === 126) {
        if (data.length - offset < 4) break;
        length = data.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        if (data.length - offset < 10) break;
        length = Number(data.readBigUInt64BE(offset + 2));
        header = 10;
      }
      if (data.length - offset < header + length) break;
      const payload = data.subarray(offset + header, offset + header + length);
      offset += header + length;
      if (opcode === 0x1 || opcode === 0x2) events.onMessage(payload);
      else if (opcode === 0x9) socket.write(pong(payload));
      else if (opcode === 0x8) socket.end();
    }
    if (offset < data.length) pending = Buffer.from(data.subarray(offset));
  });
  socket.on('error', (err) => {
    if (!open) events.onFail(err.message);
  });
  socket.on('close', () => {
    if (open) events.onClose();
  });
  return socket;
}

/** A masked pong (clients must mask; a zero key leaves the payload as it is). */
function pong(payload: Buffer): Buffer {
  const frame = Buffer.alloc(6 + payload.length);
  frame[0] = 0x8a;
  frame[1] = 0x80 | payload.length;
  payload.copy(frame, 6);
  return frame;
}
