// The frames the hub builds once per event and writes to every subscriber's socket, read
// back by ws's own client-side parser: each of the three length encodings of RFC 6455.
import type { Writable } from 'node:stream';
import WebSocket from 'ws';
import { textFrame } from '../src/text-frame.js';

/** ws's frame parser: exported at run time, absent from @types/ws. */
const { Receiver } = WebSocket as unknown as {
  Receiver: new (options: { isServer: boolean }) => Writable;
};

function parse(frame: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer: false });
    receiver.on('message', (data: Buffer, isBinary: boolean) =>
      isBinary ? reject(new Error('binary frame')) : resolve(data.toString()),
    );
    receiver.on('error', reject);
    receiver.write(frame);
  });
}

describe('textFrame', () => {
  it.each([5, 125, 126, 300, 65_535, 65_536, 70_000])(
    'a %i-byte payload is one final, unmasked text frame',
    async (length) => {
      const text = 'é'.repeat(Math.floor(length / 2)) + (length % 2 ? 'x' : '');
      const payload = Buffer.from(text);
      expect(payload.length).toBe(length);
      await expect(parse(textFrame(payload))).resolves.toBe(text);
    },
  );
});
