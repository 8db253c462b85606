// The write batch on real TCP sockets over loopback: what stays corked, and until when.
// Assertions read the sockets' cork state and the bytes that arrived, never the clock.
import { once } from 'node:events';
import net from 'node:net';
import { setImmediate as endOfTurn } from 'node:timers/promises';
import { WriteBatch, type Corkable } from '../src/write-batch.js';
import { waitFor } from '../../../packages/testkit/src/wait-for.js';

interface Pair {
  /** The server's side, written through the batch. */
  out: net.Socket;
  /** Everything the client side has read, one entry per read. */
  reads: string[];
}

let server: net.Server;
let accepted: net.Socket[] = [];
const clients: net.Socket[] = [];

beforeAll(async () => {
  server = net.createServer((socket) => accepted.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});

afterAll(async () => {
  for (const socket of [...clients, ...accepted]) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

async function pairs(n: number): Promise<Pair[]> {
  accepted = [];
  const made: Array<{ reads: string[] }> = [];
  for (let i = 0; i < n; i++) {
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    clients.push(client);
    const reads: string[] = [];
    client.on('data', (chunk: Buffer) => reads.push(chunk.toString()));
    await once(client, 'connect');
    made.push({ reads });
  }
  await waitFor(() => accepted.length === n);
  return made.map((m, i) => ({ out: accepted[i]!, reads: m.reads }));
}

/** A socket as the hub's transport holds it: corked once per batch. */
function corkable(socket: net.Socket): Corkable & { held: boolean } {
  const wrapped = {
    held: false,
    cork: () => {
      wrapped.held = true;
      socket.cork();
    },
    uncork: () => {
      wrapped.held = false;
      socket.uncork();
    },
  };
  return wrapped;
}

function write(
  batch: WriteBatch,
  targets: Array<{ pair: Pair; c: ReturnType<typeof corkable> }>,
  text: string,
) {
  for (const { pair, c } of targets) {
    if (!c.held) batch.hold(c);
    pair.out.write(text);
  }
}

describe('WriteBatch', () => {
  it('writes a small fan-out at the end of the loop turn, whatever the delay', async () => {
    const targets = (await pairs(2)).map((pair) => ({ pair, c: corkable(pair.out) }));
    const batch = new WriteBatch(60_000, 3);
    write(batch, targets, 'a');
    write(batch, targets, 'b');
    expect(targets.every(({ pair }) => pair.out.writableCorked === 1)).toBe(true);
    await endOfTurn();
    expect(targets.every(({ pair }) => pair.out.writableCorked === 0)).toBe(true);
    await waitFor(() => targets.every(({ pair }) => pair.reads.join('') === 'ab'));
    // Both frames of the turn left in one write: the client read them together.
    expect(targets.map(({ pair }) => pair.reads)).toEqual([['ab'], ['ab']]);
  });

  it('holds a large fan-out for the delay, so later events join the same write', async () => {
    const targets = (await pairs(3)).map((pair) => ({ pair, c: corkable(pair.out) }));
    const batch = new WriteBatch(60_000, 3);
    write(batch, targets, 'a');
    await endOfTurn();
    await endOfTurn();
    // Past the end of the turn and still corked: the delay is running.
    expect(targets.every(({ pair }) => pair.out.writableCorked === 1)).toBe(true);
    write(batch, targets, 'b');
    expect(targets.every(({ pair }) => pair.reads.length === 0)).toBe(true);
    batch.flush();
    await waitFor(() => targets.every(({ pair }) => pair.reads.join('') === 'ab'));
    expect(targets.map(({ pair }) => pair.reads)).toEqual([['ab'], ['ab'], ['ab']]);
  });

  it('flushes a large fan-out when the delay ends, and starts the next batch afresh', async () => {
    const targets = (await pairs(3)).map((pair) => ({ pair, c: corkable(pair.out) }));
    const batch = new WriteBatch(20, 3);
    write(batch, targets, 'a');
    await waitFor(() => targets.every(({ pair }) => pair.reads.join('') === 'a'));
    expect(targets.every(({ pair }) => pair.out.writableCorked === 0)).toBe(true);
    write(batch, targets.slice(0, 1), 'b');
    await endOfTurn();
    expect(targets[0]!.pair.out.writableCorked).toBe(0);
    await waitFor(() => targets[0]!.pair.reads.join('') === 'ab');
  });

  it('with no delay, writes even a large fan-out at the end of the turn', async () => {
    const targets = (await pairs(3)).map((pair) => ({ pair, c: corkable(pair.out) }));
    const batch = new WriteBatch(0, 3);
    write(batch, targets, 'a');
    await endOfTurn();
    expect(targets.every(({ pair }) => pair.out.writableCorked === 0)).toBe(true);
    await waitFor(() => targets.every(({ pair }) => pair.reads.join('') === 'a'));
  });

  it('leaves the event loop’s own immediates alone after a delayed flush', async () => {
    // A delayed flush once cleared its timeout with clearImmediate too, which corrupts
    // Node's immediate queue: later setImmediate callbacks never ran.
    const targets = (await pairs(3)).map((pair) => ({ pair, c: corkable(pair.out) }));
    const batch = new WriteBatch(10, 3);
    write(batch, targets, 'a');
    await waitFor(() => targets.every(({ pair }) => pair.reads.join('') === 'a'));
    let ran = 0;
    for (let i = 0; i < 3; i++) setImmediate(() => ran++);
    await waitFor(() => ran === 3);
  });
});
