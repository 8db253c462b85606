// A client process of the fan-out benchmark: opens N WebSockets to one URL and records, for
// every frame, now − the send time stamped in it. Never sends anything.
import WebSocket from 'ws';
import { nowMs, type ClientCommand, type ClientMessage } from './protocol.js';

const [url = '', countArg] = process.argv.slice(2);
const count = Number(countArg);
const send = (m: ClientMessage) => process.send!(m);

let latencies: number[] = [];
let firstRecvMs = 0;
let lastRecvMs = 0;
let closed = 0;
const sockets: WebSocket[] = [];

function onMessage(data: WebSocket.RawData) {
  const t = nowMs();
  const text = String(data);
  // `"stage":"t:<ms>"` — a scan is cheaper than a parse, and every frame has it.
  const i = text.indexOf('"stage":"t:');
  if (i < 0) return;
  const sent = Number.parseFloat(text.slice(i + 11));
  latencies.push(t - sent);
  if (!firstRecvMs) firstRecvMs = t;
  lastRecvMs = t;
}

async function openAll() {
  let open = 0;
  let failed = 0;
  // In waves, so the server's accept queue and admission never see thousands at once.
  const wave = 250;
  for (let start = 0; start < count; start += wave) {
    const batch = Array.from({ length: Math.min(wave, count - start) }, () => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      sockets.push(socket);
      socket.on('message', onMessage);
      socket.on('close', () => closed++);
      return new Promise<void>((resolve) => {
        socket.once('open', () => {
          open++;
          resolve();
        });
        socket.once('error', () => {
          failed++;
          resolve();
        });
      });
    });
    await Promise.all(batch);
  }
  send({ kind: 'opened', open, failed });
}

process.on('message', (command: ClientCommand) => {
  if (command.cmd === 'count') {
    send({ kind: 'count', received: latencies.length });
  } else if (command.cmd === 'report') {
    send({
      kind: 'report',
      received: latencies.length,
      latencies,
      firstRecvMs,
      lastRecvMs,
      closed,
    });
  } else if (command.cmd === 'reset') {
    latencies = [];
    firstRecvMs = 0;
    lastRecvMs = 0;
  } else if (command.cmd === 'close') {
    for (const socket of sockets) socket.terminate();
    process.exit(0);
  }
});

void openAll();
