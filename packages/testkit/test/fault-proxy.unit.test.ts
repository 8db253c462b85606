// The fault proxy against a real echo server on loopback: each mode does what the fault
// suite relies on, quickly.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { startFaultProxy, type FaultProxy } from '../src/fault-proxy.js';
import { waitFor } from '../src/wait-for.js';

let echo: Server;
const echoSockets = new Set<Socket>();
let echoPort: number;
let proxy: FaultProxy;
const sockets: Socket[] = [];

beforeAll(async () => {
  echo = createServer((socket) => {
    echoSockets.add(socket);
    socket.on('close', () => echoSockets.delete(socket));
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const address = echo.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  echoPort = address.port;
});

beforeEach(async () => {
  proxy = await startFaultProxy({ host: '127.0.0.1', port: echoPort });
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await proxy.close();
});

afterAll(async () => {
  for (const socket of echoSockets) socket.destroy();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

/** A client socket through the proxy that records what comes back and how it ended. */
async function open() {
  const socket = connect({ host: proxy.host, port: proxy.port });
  sockets.push(socket);
  const state = { received: '', closed: false, error: undefined as string | undefined };
  socket.on('data', (chunk: Buffer) => (state.received += chunk.toString()));
  socket.on('error', (err: NodeJS.ErrnoException) => (state.error = err.code ?? err.message));
  socket.on('close', () => (state.closed = true));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, state };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('passes bytes both ways and counts connections', async () => {
  const { socket, state } = await open();
  socket.write('hello');
  await waitFor(() => state.received === 'hello');
  await waitFor(() => proxy.stats().open === 1);
  expect(proxy.stats()).toMatchObject({ accepted: 1, open: 1, refused: 0, cut: 0 });
  socket.end();
  await waitFor(() => state.closed);
  await waitFor(() => proxy.stats().open === 0);
});

it('cut() resets open connections and lets new ones through', async () => {
  const first = await open();
  first.socket.write('a');
  await waitFor(() => first.state.received === 'a');
  proxy.cut();
  await waitFor(() => first.state.closed);
  expect(first.state.error).toBe('ECONNRESET');
  expect(proxy.stats().cut).toBe(1);

  const second = await open();
  second.socket.write('b');
  await waitFor(() => second.state.received === 'b');
  expect(proxy.mode).toBe('pass');
});

it('refuse() resets new connections on arrival and cuts open ones until restore()', async () => {
  const before = await open();
  proxy.refuse();
  await waitFor(() => before.state.closed);

  const during = connect({ host: proxy.host, port: proxy.port });
  sockets.push(during);
  const ended = await new Promise<string>((resolve) => {
    during.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    during.on('close', () => resolve('closed'));
  });
  expect(['ECONNRESET', 'closed']).toContain(ended);
  expect(proxy.stats().refused).toBe(1);

  proxy.restore();
  const after = await open();
  after.socket.write('c');
  await waitFor(() => after.state.received === 'c');
});

it('blackhole() forwards nothing and holds connections; restore() delivers what was held', async () => {
  const open1 = await open();
  await waitFor(() => proxy.stats().open === 1);
  proxy.blackhole();
  open1.socket.write('held');
  const fresh = await open();
  fresh.socket.write('waiting');
  await sleep(300);
  expect(open1.state).toMatchObject({ received: '', closed: false });
  expect(fresh.state).toMatchObject({ received: '', closed: false });
  expect(proxy.stats().open).toBe(2);

  proxy.restore();
  await waitFor(() => open1.state.received === 'held' && fresh.state.received === 'waiting');
});

it('delay(ms) holds every chunk back, in order', async () => {
  const { socket, state } = await open();
  proxy.delay(150);
  const started = Date.now();
  socket.write('1');
  await sleep(20);
  socket.write('2');
  await waitFor(() => state.received === '12');
  // Out and back: two delays.
  expect(Date.now() - started).toBeGreaterThanOrEqual(290);

  // restore() ends the delay: with one of ten minutes in force until then, '3' comes back
  // within the wait only because of it.
  proxy.delay(600_000);
  proxy.restore();
  socket.write('3');
  await waitFor(() => state.received === '123', { what: "'3' after restore()" });
});

it('close() resets what is open and stops listening', async () => {
  const { state } = await open();
  await proxy.close();
  await waitFor(() => state.closed);
  await expect(
    new Promise((resolve, reject) => {
      const s = connect({ host: proxy.host, port: proxy.port });
      s.once('connect', () => resolve(s.destroy()));
      s.once('error', reject);
    }),
  ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  // afterEach closes again: closing twice must be harmless.
  proxy = await startFaultProxy({ host: '127.0.0.1', port: echoPort });
});
