// What fuzzing found at the edges of the gateway: broken multipart bodies, Node's own
// refusals (headers too large, a malformed request line), and API-key guessing. Real
// Postgres, RabbitMQ and an S3 API server; every refusal is the JSON error shape.
import { connect } from 'node:net';
import { ErrorBody } from '@transcribe/contracts';
import type { Storage } from '@transcribe/storage';
import { createRegistry } from '@transcribe/telemetry';
import { createAuthThrottle } from '../src/auth-throttle.js';
import { expectError, startGatewayHarness, type GatewayHarness } from './support/harness.js';

let h: GatewayHarness;

beforeAll(async () => {
  h = await startGatewayHarness({ settings: { maxFormUploadBytes: 2 * 1024 * 1024 } });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const BOUNDARY = 'fuzzboundary1234';

function multipart(filename: string, bytes: Buffer, { close = true } = {}): Buffer {
  return Buffer.concat([
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
        'Content-Type: audio/wav\r\n\r\n',
      'latin1',
    ),
    bytes,
    Buffer.from(close ? `\r\n--${BOUNDARY}--\r\n` : '\r\n', 'latin1'),
  ]);
}

function postForm(body: Buffer, key = h.keyA) {
  return h.api(
    '/v1/jobs/upload',
    {
      method: 'POST',
      key,
      rawBody: body,
      headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    },
    formBase,
  );
}

/** Keys the gateway wrote to S3 (the real bucket, recorded on the way). */
const written: string[] = [];
let formBase: string;

beforeAll(async () => {
  const storage: Storage = {
    ...h.storage,
    upload: (key, body, contentType) => {
      written.push(key);
      return h.storage.upload(key, body, contentType);
    },
  };
  formBase = await h.listen({ ...h.deps, storage, registry: createRegistry('gateway') });
});

/** Nothing of a refused form upload is left: no upload row and no object in the bucket. */
async function expectNothingLeftBehind() {
  const rows = await h.env.db.selectFrom('uploads').select('id').execute();
  expect(rows).toEqual([]);
  // Multer removes what it stored after it answers: wait for it, within a generous bound.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const left: string[] = [];
    for (const key of written) if (await h.storage.head(key)) left.push(key);
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`orphaned objects: ${left.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('POST /v1/jobs/upload with a broken multipart body', () => {
  it('answers 400 malformed_multipart to a body without its closing boundary, leaving nothing', async () => {
    const res = await postForm(multipart('jfk.wav', h.jfk, { close: false }));
    expectError(res, 400, 'malformed_multipart');
    expect(written.length).toBeGreaterThan(0); // the bytes had reached S3 before the end
    await expectNothingLeftBehind();
  });

  it('answers 400 malformed_multipart to a NUL byte in the filename, leaving nothing', async () => {
    const res = await postForm(multipart('a\u0000b.wav', h.jfk.subarray(0, 1000)));
    expectError(res, 400, 'malformed_multipart');
    await expectNothingLeftBehind();
  });

  it('answers 400 malformed_multipart to a missing boundary and to garbage', async () => {
    const noBoundary = await h.api(
      '/v1/jobs/upload',
      { method: 'POST', rawBody: 'x', headers: { 'content-type': 'multipart/form-data' } },
      formBase,
    );
    expectError(noBoundary, 400, 'malformed_multipart');
    const garbage = await postForm(Buffer.from('\u0000\u0001garbage--\r\n\r\n', 'latin1'));
    expect([400, 415]).toContain(garbage.status);
    ErrorBody.parse(garbage.json);
    await expectNothingLeftBehind();
  });
});

/** Sends raw bytes on a fresh socket and reads everything until the server closes it. */
function raw(request: string | Buffer): Promise<{ status: number; headers: string; body: string }> {
  const { hostname, port } = new URL(h.base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', body = ''] = text.split('\r\n\r\n', 2);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body });
    });
    socket.end(request);
  });
}

describe("Node's own refusals carry the JSON error shape", () => {
  it('431 for headers too large', async () => {
    const res = await raw(
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(res.status).toBe(431);
    expect(res.headers).toMatch(/content-type: application\/json/i);
    expect(ErrorBody.parse(JSON.parse(res.body)).error.code).toBe('payload_too_large');
  });

  it('400 for a malformed request line', async () => {
    const res = await raw('GARBAGE\u0000 / HTTP/9\r\n\r\n');
    expect(res.status).toBe(400);
    expect(ErrorBody.parse(JSON.parse(res.body)).error.code).toBe('bad_request');
  });
});

describe('API-key guessing', () => {
  it('refuses a key that cannot exist without asking Postgres', async () => {
    let queries = 0;
    const counting = h.env.db.withPlugin({
      transformQuery: (args) => {
        queries++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const base = await h.listen({ ...h.deps, db: counting, registry: createRegistry('gateway') });
    for (const key of ['short', 'x'.repeat(201), 'tk_with\u00e9accent_0123456789']) {
      expectError(await h.api('/v1/jobs', { key }, base), 401, 'unauthorized');
    }
    expect(queries).toBe(0);
    // A well-formed unknown key is looked up, once.
    expectError(
      await h.api('/v1/jobs', { key: 'tk_unknown_0123456789abcdef' }, base),
      401,
      'unauthorized',
    );
    expect(queries).toBe(1);
  });

  it('answers 429 rate_limited with Retry-After once an address spent its failures', async () => {
    const base = await h.listen({
      ...h.deps,
      registry: createRegistry('gateway'),
      authThrottle: createAuthThrottle({ perMinute: 5 }),
    });
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 8; i++) {
      last = await h.api('/v1/jobs', { key: `tk_guess_${i}_0123456789abcdef` }, base);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    expectError(last!, 429, 'rate_limited');
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('does not believe X-Forwarded-For from peers it does not trust: a guesser cannot rotate it', async () => {
    const base = await h.listen({
      ...h.deps,
      settings: { ...h.deps.settings, trustProxy: false },
      registry: createRegistry('gateway'),
      authThrottle: createAuthThrottle({ perMinute: 5 }),
    });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await fetch(`${base}/v1/jobs`, {
        headers: {
          // Each key its own prefix, so only the address limit can stop this.
          authorization: `Bearer tk_${i}guess_0123456789abcdef`,
          'x-forwarded-for': `203.0.113.${i}`,
        },
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
  });
});
