// The gateway's REST API in-process, on real Postgres, RabbitMQ and an S3 API server:
// auth, error bodies, presigned uploads, job creation through the outbox, reads.
import { randomBytes } from 'node:crypto';
import { CreateJobResponse, Job, JobEventList } from '@transcribe/contracts';
import { insertApiKey } from '@transcribe/db';
import type { Storage } from '@transcribe/storage';
import { createRegistry } from '@transcribe/telemetry';
import type { TestEnv } from '../../../packages/testkit/src/index.js';
import type { GatewayDeps } from '../src/deps.js';
import {
  MAX_UPLOAD_BYTES,
  expectError,
  startGatewayHarness,
  type GatewayHarness,
} from './support/harness.js';
import { waitFor } from '../../../packages/testkit/src/wait-for.js';

let h: GatewayHarness;
let env: TestEnv;
let storage: Storage;
let deps: GatewayDeps;
let tenantA: string;
let jfk: Buffer;
let base: string;
let KEY_A: string;
let KEY_B: string;
let jobMessages: GatewayHarness['jobMessages'];

beforeAll(async () => {
  h = await startGatewayHarness();
  ({ env, storage, deps, tenantA, jfk, base, jobMessages } = h);
  KEY_A = h.keyA;
  KEY_B = h.keyB;
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const api: GatewayHarness['api'] = (...args) => h.api(...args);
const listen: GatewayHarness['listen'] = (...args) => h.listen(...args);
const put: GatewayHarness['put'] = (...args) => h.put(...args);
const objectKeyOf: GatewayHarness['objectKeyOf'] = (...args) => h.objectKeyOf(...args);
const createUpload = (
  input: { filename?: string; contentType?: string; sizeBytes: number },
  key = KEY_A,
  at = base,
) => h.createUpload(input, key, at);
const uploadJfk = (key = KEY_A) => h.uploadJfk(key);
const createJob = (uploadId: string, key = KEY_A, extra: Record<string, unknown> = {}) =>
  h.createJob(uploadId, key, extra);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('authentication', () => {
  it('answers 401 unauthorized without an Authorization header', async () => {
    expectError(await api('/v1/jobs/x', { key: null }), 401, 'unauthorized');
  });

  it('answers 401 unauthorized for a scheme other than Bearer', async () => {
    const basic = Buffer.from(`user:${KEY_A}`).toString('base64');
    expectError(
      await api('/v1/jobs/x', { key: null, headers: { authorization: `Basic ${basic}` } }),
      401,
      'unauthorized',
    );
    // The key itself, without a scheme, is not accepted either.
    expectError(
      await api('/v1/jobs/x', { key: null, headers: { authorization: KEY_A } }),
      401,
      'unauthorized',
    );
  });

  it('answers 401 unauthorized for an unknown key and for a revoked one', async () => {
    expectError(await api('/v1/jobs/x', { key: `${KEY_A}x` }), 401, 'unauthorized');

    const revoked = `tk_test_r_${randomBytes(12).toString('hex')}`;
    await insertApiKey(env.db, { tenantId: tenantA, name: 'to revoke', key: revoked });
    expectError(await api('/v1/jobs/x', { key: revoked }), 404, 'not_found');
    await env.db
      .updateTable('api_keys')
      .set({ revoked_at: new Date() })
      .where('name', '=', 'to revoke')
      .execute();
    expectError(await api('/v1/jobs/x', { key: revoked }), 401, 'unauthorized');
  });

  it('checks the key before validating the body', async () => {
    const res = await api('/v1/uploads', { method: 'POST', key: 'nope', body: { filename: 1 } });
    expectError(res, 401, 'unauthorized');
  });
});

describe('health, readiness, metrics and plumbing', () => {
  it('serves /healthz without auth', async () => {
    const res = await api('/healthz', { key: null });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok' });
  });

  it('serves /readyz with every dependency ok', async () => {
    const res = await api('/readyz', { key: null });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      status: 'ok',
      checks: { postgres: 'ok', rabbitmq: 'ok', s3: 'ok' },
    });
  });

  it('answers an unknown route with 404 not_found as JSON, inside and outside /v1', async () => {
    const outside = await api('/nope', { key: null });
    expectError(outside, 404, 'not_found');
    expect(outside.headers.get('content-type')).toMatch(/^application\/json/);
    expectError(await api('/v1/nope'), 404, 'not_found');
    expectError(await api('/v1/jobs', { method: 'DELETE' }), 404, 'not_found');
  });

  it('answers a malformed JSON body with 400 bad_request', async () => {
    expectError(
      await api('/v1/uploads', { method: 'POST', rawBody: '{"filename": "a.wav",' }),
      400,
      'bad_request',
    );
  });

  it('answers a body over 64 kB with 413 payload_too_large', async () => {
    const res = await api('/v1/uploads', {
      method: 'POST',
      body: { filename: 'a'.repeat(70 * 1024), contentType: 'audio/wav', sizeBytes: 1 },
    });
    expectError(res, 413, 'payload_too_large');
  });

  it('sets x-request-id, echoing a valid one and replacing an invalid one', async () => {
    const given = await api('/healthz', {
      key: null,
      headers: { 'x-request-id': 'req-abc.123_x' },
    });
    expect(given.headers.get('x-request-id')).toBe('req-abc.123_x');

    const generated = await api('/v1/nope', { key: null });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const invalid = await api('/healthz', {
      key: null,
      headers: { 'x-request-id': 'bad id <script>' },
    });
    expect(invalid.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets security headers and hides the framework', async () => {
    const res = await api('/healthz', { key: null });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('exposes http_request_duration_seconds labelled by route pattern, not URL', async () => {
    const id = '0190a000-0000-7000-8000-00000000beef';
    await api(`/v1/jobs/${id}`);
    await api('/v1/no/such/route');
    const res = await api('/metrics', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const lines = res.text
      .split('\n')
      .filter((l) => l.startsWith('http_request_duration_seconds_count'));
    expect(
      lines.some((l) => l.includes('route="/v1/jobs/:id"') && l.includes('status="404"')),
    ).toBe(true);
    expect(lines.some((l) => l.includes('route="unmatched"'))).toBe(true);
    expect(res.text).not.toContain(id);
  });
});

describe('POST /v1/uploads', () => {
  it('returns a presigned PUT that stores the bytes under <tenant>/<uploadId>/<name>', async () => {
    const before = Date.now();
    const upload = await createUpload({ sizeBytes: jfk.length });
    expect(upload.method).toBe('PUT');
    expect(upload.headers).toEqual({ 'content-type': 'audio/wav' });
    const expires = Date.parse(upload.expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 299_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 301_000);

    const key = await objectKeyOf(upload.uploadId);
    expect(key).toBe(`${tenantA}/${upload.uploadId}/jfk.wav`);
    expect(await storage.head(key)).toBeUndefined();
    expect(await put(upload, jfk)).toBe(200);
    expect(await storage.head(key)).toMatchObject({
      sizeBytes: jfk.length,
      contentType: 'audio/wav',
    });
  });

  it.each([
    ['../../etc/passwd', 'passwd'],
    ['a b?.wav', 'a_b_.wav'],
    ['..\\..\\windows\\evil.wav', 'evil.wav'],
    ['..', 'upload'],
  ])('sanitises the filename %j into the object key', async (filename, safe) => {
    const upload = await createUpload({ filename, sizeBytes: 10 });
    expect(await objectKeyOf(upload.uploadId)).toBe(`${tenantA}/${upload.uploadId}/${safe}`);
    // The presigned URL writes exactly there, nowhere else.
    expect(await put(upload, Buffer.alloc(10, 1))).toBe(200);
    expect(await storage.head(`${tenantA}/${upload.uploadId}/${safe}`)).toMatchObject({
      sizeBytes: 10,
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'sizeBytes as a string',
      { filename: 'a.wav', contentType: 'audio/wav', sizeBytes: '100' },
      'sizeBytes',
    ],
    [
      'negative sizeBytes',
      { filename: 'a.wav', contentType: 'audio/wav', sizeBytes: -1 },
      'sizeBytes',
    ],
    ['zero sizeBytes', { filename: 'a.wav', contentType: 'audio/wav', sizeBytes: 0 }, 'sizeBytes'],
    [
      'float sizeBytes',
      { filename: 'a.wav', contentType: 'audio/wav', sizeBytes: 1.5 },
      'sizeBytes',
    ],
    ['missing filename', { contentType: 'audio/wav', sizeBytes: 100 }, 'filename'],
    ['empty filename', { filename: '', contentType: 'audio/wav', sizeBytes: 100 }, 'filename'],
    [
      'unsupported contentType',
      { filename: 'a.html', contentType: 'text/html', sizeBytes: 100 },
      'contentType',
    ],
  ])('rejects %s with 400 validation_failed naming the field', async (_name, body, field) => {
    const error = expectError(
      await api('/v1/uploads', { method: 'POST', body }),
      400,
      'validation_failed',
    );
    const details = error.details as { path: unknown[]; message: string }[];
    expect(Array.isArray(details)).toBe(true);
    expect(details.map((d) => d.path)).toContainEqual([field]);
  });

  it('rejects an unknown extra field with 400 validation_failed', async () => {
    const res = await api('/v1/uploads', {
      method: 'POST',
      body: { filename: 'a.wav', contentType: 'audio/wav', sizeBytes: 100, bucket: 'other' },
    });
    const error = expectError(res, 400, 'validation_failed');
    expect(error.details).toEqual([
      expect.objectContaining({ message: expect.stringContaining('bucket') }),
    ]);
  });

  it('rejects a filename with a NUL character with 400 validation_failed, not a failed insert', async () => {
    const res = await api('/v1/uploads', {
      method: 'POST',
      body: { filename: 'a\u0000b.wav', contentType: 'audio/wav', sizeBytes: 5 },
    });
    const error = expectError(res, 400, 'validation_failed');
    expect(error.details).toEqual([expect.objectContaining({ path: ['filename'] })]);
  });

  it('rejects a non-object body with 400 validation_failed', async () => {
    const error = expectError(
      await api('/v1/uploads', { method: 'POST', body: [1, 2] }),
      400,
      'validation_failed',
    );
    expect(error.details).toEqual(expect.any(Array));
  });

  it('rejects sizeBytes over the limit with 413 payload_too_large and stores nothing', async () => {
    const count = async () =>
      Number(
        (
          await env.db
            .selectFrom('uploads')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await count();
    const res = await api('/v1/uploads', {
      method: 'POST',
      body: { filename: 'big.wav', contentType: 'audio/wav', sizeBytes: MAX_UPLOAD_BYTES + 1 },
    });
    expectError(res, 413, 'payload_too_large');
    expect(await count()).toBe(before);
    // Exactly the limit is fine.
    await createUpload({ sizeBytes: MAX_UPLOAD_BYTES });
  });

  it('binds the presigned URL to its content type: another one is refused by S3 with 403', async () => {
    const upload = await createUpload({ sizeBytes: jfk.length });
    expect(await put(upload, jfk, { 'content-type': 'audio/mpeg' })).toBe(403);
    expect(await storage.head(await objectKeyOf(upload.uploadId))).toBeUndefined();
  });

  it('binds the presigned URL to its length: fewer bytes than declared are refused with 403', async () => {
    const upload = await createUpload({ sizeBytes: 100 });
    expect(new URL(upload.url).searchParams.get('X-Amz-SignedHeaders')).toContain('content-length');
    expect(await put(upload, Buffer.alloc(50))).toBe(403);
    expect(await storage.head(await objectKeyOf(upload.uploadId))).toBeUndefined();
  });

  it('binds the presigned URL to its key: a tampered path is refused with 403', async () => {
    const upload = await createUpload({ sizeBytes: jfk.length });
    const tampered = {
      ...upload,
      url: upload.url.replace(upload.uploadId, '0190a000-0000-7000-8000-000000000bad'),
    };
    expect(await put(tampered, jfk)).toBe(403);
  });

  it('expires the presigned URL after uploadUrlTtlS', async () => {
    const shortLived = await listen({
      ...deps,
      registry: createRegistry('gateway'),
      settings: { ...deps.settings, uploadUrlTtlS: 1 },
    });
    const upload = await createUpload({ sizeBytes: 10 }, KEY_A, shortLived);
    expect(Date.parse(upload.expiresAt) - Date.now()).toBeLessThanOrEqual(1000);
    expect(new URL(upload.url).searchParams.get('X-Amz-Expires')).toBe('1');
    await sleep(2100);
    expect(await put(upload, Buffer.alloc(10))).toBe(403);
    expect(await storage.head(await objectKeyOf(upload.uploadId))).toBeUndefined();
  });
});

describe('POST /v1/jobs', () => {
  it('creates a queued job: 202, Location, events link with token, event seq 1, message on the queue', async () => {
    const upload = await uploadJfk();
    const res = await createJob(upload.uploadId, KEY_A, { language: 'en-US', priority: 'high' });
    expect(res.status).toBe(202);
    const job = CreateJobResponse.parse(res.json);
    expect(job).toMatchObject({
      status: 'queued',
      progress: 0,
      filename: 'jfk.wav',
      contentType: 'audio/wav',
      sizeBytes: jfk.length,
      language: 'en-US',
      engine: 'sphinx',
      priority: 'high',
      error: null,
      startedAt: null,
      finishedAt: null,
    });
    expect(res.headers.get('location')).toBe(`${base}/v1/jobs/${job.id}`);
    expect(job.links.self).toBe(`${base}/v1/jobs/${job.id}`);
    expect(job.links.transcript).toBe(`${base}/v1/jobs/${job.id}/transcript`);
    expect(job.links.events).toBe(
      `ws://events.test/v1/events?jobId=${job.id}&token=${encodeURIComponent(job.eventsToken)}`,
    );
    expect(Date.parse(job.eventsTokenExpiresAt)).toBeGreaterThan(Date.now() + 590_000);

    const events = await env.db
      .selectFrom('job_events')
      .selectAll()
      .where('job_id', '=', job.id)
      .execute();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ seq: 1, type: 'queued' });

    const row = await env.db
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', job.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      tenant_id: tenantA,
      upload_id: upload.uploadId,
      status: 'queued',
      last_event_seq: 1,
    });

    // Published promptly (the relay polls only every minute: the route kicked it).
    const message = await waitFor(() => jobMessages.find((m) => m.body.jobId === job.id));
    expect(message.body).toEqual({ v: 1, jobId: job.id, tenantId: tenantA });
    // …and the outbox row is gone once the relay's transaction commits.
    await waitFor(async () => {
      const left = await env.db.selectFrom('outbox').select('payload').execute();
      return left.some((r) => JSON.stringify(r.payload).includes(job.id)) ? undefined : true;
    });
  });

  it('refuses a second job for the same upload with 409 upload_already_used', async () => {
    const upload = await uploadJfk();
    expect((await createJob(upload.uploadId)).status).toBe(202);
    expectError(await createJob(upload.uploadId), 409, 'upload_already_used');
  });

  it('makes exactly one job when two requests race for the same upload', async () => {
    const upload = await uploadJfk();
    const results = await Promise.all([
      createJob(upload.uploadId),
      createJob(upload.uploadId),
      createJob(upload.uploadId),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([202, 409, 409]);
    for (const r of results.filter((x) => x.status === 409))
      expectError(r, 409, 'upload_already_used');
    const jobs = await env.db
      .selectFrom('jobs')
      .select('id')
      .where('upload_id', '=', upload.uploadId)
      .execute();
    expect(jobs).toHaveLength(1);
  });

  it('answers 404 upload_not_found for an unknown upload id', async () => {
    expectError(await createJob('0190a000-0000-7000-8000-0000000000aa'), 404, 'upload_not_found');
  });

  it("answers 404 upload_not_found for another tenant's upload, and leaves it usable", async () => {
    const upload = await uploadJfk(KEY_B);
    expectError(await createJob(upload.uploadId, KEY_A), 404, 'upload_not_found');
    expect((await createJob(upload.uploadId, KEY_B)).status).toBe(202);
  });

  it('answers 409 upload_missing when nothing was PUT yet', async () => {
    const upload = await createUpload({ sizeBytes: jfk.length });
    expectError(await createJob(upload.uploadId), 409, 'upload_missing');
    // Once the bytes are there, the same upload works.
    expect(await put(upload, jfk)).toBe(200);
    expect((await createJob(upload.uploadId)).status).toBe(202);
  });

  it('answers 422 upload_size_mismatch when the stored object is not the declared size', async () => {
    const upload = await createUpload({ sizeBytes: jfk.length });
    const key = await objectKeyOf(upload.uploadId);
    await storage.upload(key, jfk.subarray(0, 1000), 'audio/wav');
    const error = expectError(await createJob(upload.uploadId), 422, 'upload_size_mismatch');
    expect(error.message).toContain('1000');
    const jobs = await env.db
      .selectFrom('jobs')
      .select('id')
      .where('upload_id', '=', upload.uploadId)
      .execute();
    expect(jobs).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a bad language', { language: 'english!!' }, 'language'],
    ['a bad priority', { priority: 'urgent' }, 'priority'],
    ['an unknown engine', { engine: 'gpt' }, 'engine'],
    ['a malformed uploadId', { uploadId: 'not-a-uuid' }, 'uploadId'],
    ['an unknown field', { webhook: 'http://x' }, ''],
  ])('rejects %s with 400 validation_failed', async (_name, extra, field) => {
    const res = await api('/v1/jobs', {
      method: 'POST',
      body: { uploadId: '0190a000-0000-7000-8000-0000000000aa', ...extra },
    });
    const error = expectError(res, 400, 'validation_failed');
    const paths = (error.details as { path: unknown[] }[]).map((d) => d.path);
    expect(paths).toContainEqual(field ? [field] : []);
  });
});

describe('reading jobs', () => {
  let job: CreateJobResponse;
  beforeAll(async () => {
    const upload = await uploadJfk();
    const res = await createJob(upload.uploadId);
    job = CreateJobResponse.parse(res.json);
  });

  it('returns the caller’s job', async () => {
    const res = await api(`/v1/jobs/${job.id}`);
    expect(res.status).toBe(200);
    const read = Job.parse(res.json);
    expect(read).toMatchObject({ id: job.id, status: 'queued', createdAt: job.createdAt });
    expect(res.json).not.toHaveProperty('eventsToken');
  });

  it("answers 404 not_found for a malformed id, an unknown id and another tenant's id", async () => {
    expectError(await api('/v1/jobs/not-a-uuid'), 404, 'not_found');
    expectError(await api('/v1/jobs/0190a000-0000-7000-8000-00000000dead'), 404, 'not_found');
    expectError(await api(`/v1/jobs/${job.id}`, { key: KEY_B }), 404, 'not_found');
    expectError(await api(`/v1/jobs/${job.id}/events`, { key: KEY_B }), 404, 'not_found');
    expectError(await api(`/v1/jobs/${job.id}/transcript`, { key: KEY_B }), 404, 'not_found');
  });

  it('answers 409 job_not_completed with the status for a transcript of a queued job', async () => {
    for (const format of ['json', 'txt']) {
      const error = expectError(
        await api(`/v1/jobs/${job.id}/transcript?format=${format}`),
        409,
        'job_not_completed',
      );
      expect(error.details).toEqual({ status: 'queued' });
    }
  });

  it('answers 400 validation_failed for format=xml', async () => {
    expectError(await api(`/v1/jobs/${job.id}/transcript?format=xml`), 400, 'validation_failed');
  });

  it('serves a completed transcript as json and txt', async () => {
    await env.db
      .updateTable('jobs')
      .set({
        status: 'completed',
        text: 'and so my fellow americans',
        segments: JSON.stringify([{ start: 0, end: 2.5, text: 'and so my fellow americans' }]),
      })
      .where('id', '=', job.id)
      .execute();
    try {
      const json = await api(`/v1/jobs/${job.id}/transcript`);
      expect(json.status).toBe(200);
      expect(json.json).toMatchObject({
        jobId: job.id,
        text: 'and so my fellow americans',
        segments: [{ start: 0, end: 2.5, text: 'and so my fellow americans' }],
      });
      const txt = await api(`/v1/jobs/${job.id}/transcript?format=txt`);
      expect(txt.status).toBe(200);
      expect(txt.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(txt.text).toBe('and so my fellow americans\n');
    } finally {
      await env.db
        .updateTable('jobs')
        .set({ status: 'queued', text: null, segments: null })
        .where('id', '=', job.id)
        .execute();
    }
  });

  it('lists events, honours after, and rejects after=-1 with 400', async () => {
    const all = await api(`/v1/jobs/${job.id}/events`);
    expect(all.status).toBe(200);
    const list = JobEventList.parse(all.json);
    expect(list.events).toEqual([
      expect.objectContaining({ seq: 1, type: 'queued', jobId: job.id, tenantId: tenantA }),
    ]);

    const tail = await api(`/v1/jobs/${job.id}/events?after=1`);
    expect(tail.json).toEqual({ events: [] });

    expectError(await api(`/v1/jobs/${job.id}/events?after=-1`), 400, 'validation_failed');
    expectError(await api(`/v1/jobs/${job.id}/events?after=abc`), 400, 'validation_failed');
    // Beyond the seq column's integer range: a validation error, not a failed query (500).
    expectError(await api(`/v1/jobs/${job.id}/events?after=3000000000`), 400, 'validation_failed');
    expect((await api(`/v1/jobs/${job.id}/events?after=2147483647`)).json).toEqual({ events: [] });
  });
});
