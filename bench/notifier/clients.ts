// A client process of the notifier suite: opens `count` raw WebSockets to one target with
// at most `window` handshakes in flight, and records for every stamped frame now − its
// stamp. Never sends anything but pongs.
import type { Socket } from 'node:net';
import { openRaw, upgradeRequest } from './raw-client.js';
import { nowMs, STAMP_PREFIX, type ClientCommand, type ClientMessage } from './protocol.js';

const send = (m: ClientMessage) => process.send!(m);
const sockets: Socket[] = [];
let latencies: number[] = [];
let firstRecvMs = 0;
let lastRecvMs = 0;
let closed = 0;

function onMessage(payload: Buffer): void {
  const t = nowMs();
  const i = payload.indexOf(STAMP_PREFIX);
  if (i < 0) return;
  const start = i + STAMP_PREFIX.length;
  const end = payload.indexOf(34, start); // the closing quote
  latencies.push(t - Number(payload.toString('latin1', start, end)));
  if (!firstRecvMs) firstRecvMs = t;
  lastRecvMs = t;
}

function openAll(target: Extract<ClientCommand, { cmd: 'open' }>['target']): void {
  const request = upgradeRequest('127.0.0.1', target.port, target.path);
  let started = 0;
  let open = 0;
  let failed = 0;
  const next = () => {
    if (open + failed === target.count) {
      send({ kind: 'opened', open, failed });
      return;
    }
    if (started === target.count) return;
    started++;
    sockets.push(
      openRaw(target.port, target.localAddress, request, {
        onOpen: () => {
          open++;
          next();
        },
        onFail: () => {
          failed++;
          next();
        },
        onMessage,
        onClose: () => closed++,
      }),
    );
  };
  for (let i = 0; i < Math.min(target.window, target.count); i++) next();
}

process.on('message', (command: ClientCommand) => {
  switch (command.cmd) {
    case 'open':
      openAll(command.target);
      break;
    case 'count':
      send({ kind: 'count', received: latencies.length, closed });
      break;
    case 'report':
      send({ kind: 'report', latencies, firstRecvMs, lastRecvMs });
      break;
    case 'reset':
      latencies = [];
      firstRecvMs = 0;
      lastRecvMs = 0;
      break;
    case 'close':
      for (const socket of sockets) socket.destroy();
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
send({ kind: 'ready' });
