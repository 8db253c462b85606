// The baseline: a bare `ws` server with the best-known broadcast — each WebSocket frame
// built once (header and payload in one Buffer), written to every subscriber's TCP socket,
// all sockets corked for the whole batch and then uncorked — subscribers grouped by the
// `jobId` of their URL. No auth, no database, no broker. (`socket.send(buffer)` per
// client costs more: ws frames the payload again for each one.)
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type * as Ws from 'ws';
import type { WebSocket } from 'ws';
import type { BareCommand, BareMessage } from './protocol.js';
import { textFrame } from '../../services/notifier/dist/text-frame.js';

// `ws` is the notifier's dependency: borrowed from there rather than added at the root.
const require = createRequire(new URL('../../services/notifier/package.json', import.meta.url));
const { WebSocketServer } = require('ws') as typeof Ws;

const wss = new WebSocketServer({
  port: 0,
  host: '127.0.0.1',
  perMessageDeflate: false,
  maxPayload: 4096,
  clientTracking: false,
});
const rooms = new Map<string, Set<WebSocket>>();
let size = 0;
wss.on('connection', (socket, req) => {
  const jobId = new URL(req.url ?? '/', 'http://localhost').searchParams.get('jobId') ?? '';
  let room = rooms.get(jobId);
  if (!room) rooms.set(jobId, (room = new Set()));
  room.add(socket);
  size++;
  socket.on('close', () => {
    room.delete(socket);
    size--;
  });
});
const send = (m: BareMessage) => process.send!(m);
wss.on('listening', () => {
  const address = wss.address();
  if (address && typeof address === 'object') send({ kind: 'listening', port: address.port });
});
const raw = (socket: WebSocket) => (socket as unknown as { _socket: Duplex })._socket;
process.on('message', (command: BareCommand) => {
  if (command.cmd === 'size') {
    send({ kind: 'size', size });
    return;
  }
  const room = rooms.get(command.jobId);
  if (!room) return;
  const frames = command.frames.map((f) => textFrame(Buffer.from(f)));
  for (const socket of room) raw(socket).cork();
  for (const frame of frames) for (const socket of room) raw(socket).write(frame);
  for (const socket of room) raw(socket).uncork();
});
process.on('disconnect', () => process.exit(0));
