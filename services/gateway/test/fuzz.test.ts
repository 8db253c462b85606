// Property-based fuzzing of every route in the gateway's OpenAPI document, on real Postgres,
// RabbitMQ and an S3 API server: random methods, path ids (own, another tenant's, unknown,
// garbage), query strings, JSON and multipart bodies, content types and keys. Whatever comes
// in, the gateway never answers 5xx, and every 4xx is the JSON error shape.
import fc from 'fast-check';
import { ErrorBody, CreateJobResponse, OpenAIErrorBody } from '@transcribe/contracts';
import { openApiDocument } from '../src/openapi.js';
import { startGatewayHarness, type GatewayHarness } from './support/harness.js';

let h: GatewayHarness;
/** Real ids: the calling tenant's and another tenant's (which must look unknown). */
const ids = { own: [] as string[], other: [] as string[] };

beforeAll(async () => {
  // No worker here: an OpenAI-compatible request that made a job answers 202 after 1 s.
  h = await startGatewayHarness({ settings: { maxFormUploadBytes: 256 * 1024, syncWaitS: 1 } });
  const own = await h.uploadJfk();
  const ownJob = CreateJobResponse.parse((await h.createJob(own.uploadId)).json);
  const other = await h.uploadJfk(h.keyB);
  const otherJob = CreateJobResponse.parse((await h.createJob(other.uploadId, h.keyB)).json);
  const ownUpload = await h.createUpload({ sizeBytes: 1000 });
  ids.own.push(ownJob.id, ownUpload.uploadId, own.uploadId);
  ids.other.push(otherJob.id, other.uploadId);
}, 60_000);

afterAll(async () => {
  await h?.close();
});

type Operation = { method: string; template: string };

const doc = openApiDocument() as unknown as { paths: Record<string, Record<string, unknown>> };
const operations: Operation[] = Object.entries(doc.paths).flatMap(([template, ops]) =>
  Object.keys(ops).map((method) => ({ method: method.toUpperCase(), template })),
);
const templates = [...new Set(operations.map((o) => o.template))];

/** Every property and parameter name anywhere in the document: what a body or query may hold. */
function fieldNames(node: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => fieldNames(n, into));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'properties' && value && typeof value === 'object')
        Object.keys(value).forEach((k) => into.add(k));
      if (key === 'name' && typeof value === 'string') into.add(value);
      fieldNames(value, into);
    }
  }
  return into;
}
const names = [...fieldNames(openApiDocument())];

const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    '\u0000',
    'a\u0000b',
    '%00',
    '%',
    '%ZZ',
    '..',
    '../../etc/passwd',
    'null',
    '-1',
    '0',
    '1e309',
    'NaN',
    '[]',
    '{}',
    '__proto__',
    'constructor',
    '\uD800',
    '😀'.repeat(10),
    'x'.repeat(5000),
    'x'.repeat(70_000),
  ),
  fc.integer().map(String),
  fc.uuid(),
);
const id = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .constantFrom(...(['own', 'other'] as const))
      .chain((k) => fc.constantFrom(...ids[k])),
  },
  { weight: 2, arbitrary: fc.uuid() },
  { weight: 3, arbitrary: nasty },
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  any: fc.oneof(
    { depthSize: 'small' },
    nasty,
    id,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('any'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom(...names), tie('any'), { maxKeys: 4 }),
  ),
})).any;

const jsonBody = fc.oneof(
  fc.dictionary(fc.constantFrom(...names), value, { maxKeys: 8 }).map((o) => JSON.stringify(o)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('{', '{"a":', 'null', '[]', '""', `{"x":"${'y'.repeat(70_000)}"}`),
);

/** A multipart body: random fields and file parts, sometimes broken on purpose. */
const multipartBody = fc
  .record({
    boundary: fc.constantFrom('b0undary', 'x', 'a'.repeat(71)),
    declared: fc.constantFrom('b0undary', 'other', ''),
    parts: fc.array(
      fc.record({
        name: fc.oneof(fc.constantFrom('file', ...names), nasty),
        filename: fc.option(fc.oneof(fc.constantFrom('jfk.wav', 'a.mp3', 'x.exe'), nasty)),
        type: fc.constantFrom('audio/wav', 'application/octet-stream', 'text/plain', '\u0000'),
        data: fc.oneof(fc.string({ maxLength: 100 }), nasty, fc.constant('RIFF....WAVEfmt ')),
      }),
      { maxLength: 4 },
    ),
    closed: fc.boolean(),
    trailingGarbage: fc.option(fc.string({ unit: 'binary', maxLength: 30 })),
  })
  .map(({ boundary, declared, parts, closed, trailingGarbage }) => {
    const chunks = parts.map(
      (p) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"` +
        (p.filename === null ? '' : `; filename="${p.filename}"`) +
        `\r\nContent-Type: ${p.type}\r\n\r\n${p.data}\r\n`,
    );
    const body = chunks.join('') + (closed ? `--${boundary}--\r\n` : '') + (trailingGarbage ?? '');
    const contentType = declared
      ? `multipart/form-data; boundary=${declared === 'b0undary' ? boundary : declared}`
      : 'multipart/form-data';
    return { body: Buffer.from(body, 'latin1'), contentType };
  });

const contentTypes = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=bogus',
  'application/json; charset=utf-16',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  undefined,
);

function encodeSegment(segment: string, raw: boolean): string {
  if (raw) return segment;
  try {
    return encodeURIComponent(segment);
  } catch {
    return segment; // a lone surrogate: sent as the URL parser makes of it
  }
}

const request = (op: Operation) =>
  fc.record({
    method: fc.oneof(
      { weight: 5, arbitrary: fc.constant(op.method) },
      { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS') },
    ),
    params: fc.array(fc.tuple(id, fc.boolean()), { minLength: 2, maxLength: 2 }),
    query: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...names), nasty), fc.oneof(nasty, id)), {
      maxLength: 4,
    }),
    key: fc.constantFrom('own', 'own', 'own', 'own', 'other', 'garbage', 'none'),
    body: fc.oneof(
      fc.record({ body: jsonBody, contentType: contentTypes }),
      multipartBody,
      fc.constant(undefined),
    ),
  });

type Request = ReturnType<typeof request> extends fc.Arbitrary<infer T> ? T : never;

async function send(op: Operation, r: Request) {
  let n = 0;
  const path = op.template.replace(/\{[^}]+\}/g, () => {
    const [segment, raw] = r.params[n++]!;
    return encodeSegment(segment, raw);
  });
  const query = new URLSearchParams();
  for (const [k, v] of r.query) {
    try {
      query.append(k, String(v));
    } catch {
      // unencodable: skip
    }
  }
  const headers: Record<string, string> = {};
  const key = { own: h.keyA, other: h.keyB, garbage: 'tk_garbage_0123456789abcdef', none: '' }[
    r.key
  ];
  if (key) headers.authorization = `Bearer ${key}`;
  let body: string | Buffer | undefined;
  if (r.body && r.method !== 'GET' && r.method !== 'OPTIONS') {
    body = r.body.body;
    if (r.body.contentType) headers['content-type'] = r.body.contentType;
  }
  const qs = query.size ? `?${query}` : '';
  const res = await fetch(`${h.base}${path}${qs}`, { method: r.method, headers, body });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), text, url: res.url };
}

/** Statuses seen, by `METHOD template`: the last test checks the fuzzing reached real handlers. */
const seen = new Map<string, Set<number>>();

/**
 * OpenAI's audio API answers in OpenAI's error shape (by the path as sent: `..` may leave it),
 * except what the HTTP server refuses before any route runs (431: headers too large).
 */
const errorShapeOf = (res: { url: string; status: number }) =>
  res.status !== 431 && /^\/v1\/(audio|models)(\/|$)/.test(new URL(res.url).pathname)
    ? OpenAIErrorBody
    : ErrorBody;

/** The property: no 5xx; a 4xx is `{error: {code, message}}` (OpenAI's routes: theirs) as JSON. */
function check(op: Operation, res: Awaited<ReturnType<typeof send>>, r: unknown) {
  const label = `${op.method} ${op.template}`;
  seen.set(label, (seen.get(label) ?? new Set()).add(res.status));
  const where = () => `${op.method} ${op.template}: ${JSON.stringify(r).slice(0, 500)}`;
  if (res.status >= 500) throw new Error(`${res.status} ${res.text.slice(0, 300)} for ${where()}`);
  if (res.status >= 400) {
    if (!res.contentType?.startsWith('application/json'))
      throw new Error(`${res.status} is ${res.contentType} for ${where()}`);
    const parsed = errorShapeOf(res).safeParse(JSON.parse(res.text));
    if (!parsed.success) throw new Error(`${res.status} ${res.text.slice(0, 300)} for ${where()}`);
  }
}

// ~200 runs per path (its methods together), seeded from the date so failures reproduce
// within a day and coverage moves across days; fast-check prints the seed and the path.
const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 200);

describe.each(templates)('%s', (template) => {
  it('never answers 5xx; every 4xx is the JSON error shape', async () => {
    const ops = operations.filter((o) => o.template === template);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ops).chain((op) => request(op).map((r) => ({ op, r }))),
        async ({ op, r }) => check(op, await send(op, r), r),
      ),
      { numRuns: NUM_RUNS },
    );
  }, 120_000);
});

it('reached past validation: successes, refusals and unknown ids among the answers', () => {
  const all = new Set([...seen.values()].flatMap((s) => [...s]));
  for (const status of [200, 400, 401, 404]) expect(all).toContain(status);
  // The routes that take an id answered both "found" and "not found".
  expect([...(seen.get('GET /v1/jobs/{id}') ?? [])]).toEqual(expect.arrayContaining([200, 404]));
  expect([...(seen.get('POST /v1/uploads') ?? [])]).toEqual(expect.arrayContaining([400]));
});
