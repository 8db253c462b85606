// The baseline: a bare `ws` server that broadcasts what it is handed to every client, the
// simplest fan-out there is (no auth, no subscriptions, no database, no broker).
import { WebSocketServer, type WebSocket } from 'ws';
import type { BaselineCommand, BaselineMessage } from './protocol.js';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
const clients = new Set<WebSocket>();
wss.on('connection', (socket) => {
  clients.add(socket);
  socket.on('close', () => clients.delete(socket));
});
const send = (m: BaselineMessage) => process.send!(m);
wss.on('listening', () => {
  const address = wss.address();
  if (address && typeof address === 'object') send({ kind: 'listening', port: address.port });
});
process.on('message', (command: BaselineCommand) => {
  if (command.cmd === 'broadcast') for (const client of clients) client.send(command.data);
  else if (command.cmd === 'size') send({ kind: 'size', size: clients.size });
});
process.on('disconnect', () => process.exit(0));
