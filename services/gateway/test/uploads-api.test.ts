// Every way bytes reach S3 (presigned POST form, presigned multipart with part checksums,
// and streaming through the gateway), and what the gateway checks before queuing a job:
// real Postgres, RabbitMQ, an S3 API server and real audio.
import { createHash } from 'node:crypto';
import {
  CreateJobResponse,
  MultipartUploadResponse,
  PostUploadResponse,
  Upload,
  UploadPartsResponse,
} from '@transcribe/contracts';
import { createRegistry } from '@transcribe/telemetry';
import { expectError, startGatewayHarness, type GatewayHarness } from './support/harness.js';

let h: GatewayHarness;

beforeAll(async () => {
  h = await startGatewayHarness({ settings: { maxFormUploadBytes: 2 * 1024 * 1024 } });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('base64');

async function objectExists(key: string) {
  return (await h.storage.head(key)) !== undefined;
}

async function uploadRow(uploadId: string) {
  return h.env.db.selectFrom('uploads').selectAll().where('id', '=', uploadId).executeTakeFirst();
}

describe('presigned POST (browser form upload)', () => {
  async function createPost(sizeBytes: number) {
    const res = await h.api('/v1/uploads', {
      method: 'POST',
      body: { filename: 'jfk.wav', contentType: 'audio/wav', sizeBytes, method: 'POST' },
    });
    expect(res.status).toBe(201);
    return PostUploadResponse.parse(res.json);
  }

  async function postForm(upload: PostUploadResponse, bytes: Buffer) {
    const form = new FormData();
    for (const [k, v] of Object.entries(upload.fields)) form.append(k, v);
    form.append('file', new Blob([bytes], { type: 'audio/wav' }), 'jfk.wav');
    const res = await fetch(upload.url, { method: 'POST', body: form });
    await res.arrayBuffer();
    return res.status;
  }

  it('returns a URL and signed policy fields that S3 accepts, and the job is created', async () => {
    const upload = await createPost(h.jfk.length);
    expect(upload.fields).toMatchObject({ 'Content-Type': 'audio/wav' });
    expect(Object.keys(upload.fields)).toEqual(
      expect.arrayContaining(['key', 'Policy', 'X-Amz-Signature']),
    );
    const policy = JSON.parse(Buffer.from(upload.fields.Policy!, 'base64').toString()) as {
      conditions: unknown[];
    };
    expect(policy.conditions).toContainEqual(['content-length-range', h.jfk.length, h.jfk.length]);
    expect([200, 201, 204]).toContain(await postForm(upload, h.jfk));
    const job = await h.createJob(upload.uploadId);
    expect(job.status).toBe(202);
    CreateJobResponse.parse(job.json);
  });

  it('refuses a text file sent with a tampered policy, at S3 or else at job creation', async () => {
    const upload = await createPost(h.jfk.length);
    const fake = Buffer.alloc(h.jfk.length, 'not audio ');
    const tampered = {
      ...upload,
      fields: { ...upload.fields, Policy: Buffer.from('{"conditions":[]}').toString('base64') },
    };
    const status = await postForm(tampered, fake);
    if (status === 403) return; // S3 (and MinIO) verify the policy's signature
    // The embedded test server does not: the gateway's own check must catch the content.
    const key = await h.objectKeyOf(upload.uploadId);
    expectError(await h.createJob(upload.uploadId), 415, 'unsupported_media_type');
    expect(await objectExists(key)).toBe(false);
  });

  it('checks the size itself when the S3 server does not enforce the policy', async () => {
    const upload = await createPost(h.jfk.length);
    const status = await postForm(upload, h.jfk.subarray(0, 1000));
    if (status >= 400) return; // this S3 server enforces content-length-range itself
    const key = await h.objectKeyOf(upload.uploadId);
    expectError(await h.createJob(upload.uploadId), 422, 'upload_size_mismatch');
    expect(await objectExists(key)).toBe(false);
  });
});

describe('presigned multipart upload', () => {
  const PART = 5 * 1024 * 1024;
  /** Real speech, made longer than one part: jfk.wav repeated past 5 MiB, as a WAV stream. */
  let big: Buffer;

  beforeAll(() => {
    const copies = Math.ceil((PART + 200_000) / h.jfk.length);
    big = Buffer.concat(Array.from({ length: copies }, () => h.jfk));
  });

  async function createMultipart(sizeBytes: number, partSizeBytes = PART) {
    const res = await h.api('/v1/uploads', {
      method: 'POST',
      body: {
        filename: 'long.wav',
        contentType: 'audio/wav',
        sizeBytes,
        method: 'multipart',
        partSizeBytes,
      },
    });
    expect(res.status).toBe(201);
    return MultipartUploadResponse.parse(res.json);
  }

  function partsOf(bytes: Buffer, size: number) {
    const parts: { partNumber: number; bytes: Buffer; checksumSha256: string }[] = [];
    for (let i = 0; i * size < bytes.length; i++) {
      const slice = bytes.subarray(i * size, (i + 1) * size);
      parts.push({ partNumber: i + 1, bytes: slice, checksumSha256: sha256(slice) });
    }
    return parts;
  }

  async function putParts(upload: MultipartUploadResponse, bytes: Buffer) {
    const parts = partsOf(bytes, upload.partSizeBytes);
    const res = await h.api(`/v1/uploads/${upload.uploadId}/parts`, {
      method: 'POST',
      body: {
        parts: parts.map(({ partNumber, checksumSha256 }) => ({ partNumber, checksumSha256 })),
      },
    });
    expect(res.status).toBe(200);
    const urls = UploadPartsResponse.parse(res.json);
    const done = [];
    for (const part of parts) {
      const target = urls.parts.find((p) => p.partNumber === part.partNumber)!;
      expect(target.headers['x-amz-checksum-sha256']).toBe(part.checksumSha256);
      const put = await fetch(target.url, {
        method: 'PUT',
        headers: target.headers,
        body: part.bytes,
      });
      await put.arrayBuffer();
      expect(put.status).toBe(200);
      done.push({
        partNumber: part.partNumber,
        etag: put.headers.get('etag')!,
        checksumSha256: part.checksumSha256,
      });
    }
    return done;
  }

  it('creates, presigns parts with their checksums, completes, and the job is created', async () => {
    const upload = await createMultipart(big.length);
    expect(upload.partCount).toBe(2);
    expect(upload.links.complete).toBe(`${h.base}/v1/uploads/${upload.uploadId}/complete`);
    const parts = await putParts(upload, big);
    // Not completed yet: no object, so no job.
    expectError(await h.createJob(upload.uploadId), 409, 'upload_missing');
    const done = await h.api(upload.links.complete.replace(h.base, ''), {
      method: 'POST',
      body: { parts },
    });
    expect(done.status).toBe(200);
    expect(Upload.parse(done.json)).toMatchObject({ method: 'multipart', sizeBytes: big.length });
    expect((await h.storage.head(await h.objectKeyOf(upload.uploadId)))?.sizeBytes).toBe(
      big.length,
    );
    expect((await h.createJob(upload.uploadId)).status).toBe(202);
  });

  it('refuses bad part requests with 400 upload_parts_invalid or validation_failed', async () => {
    const upload = await createMultipart(big.length);
    const path = `/v1/uploads/${upload.uploadId}`;
    const goodSum = sha256(Buffer.from('x'));
    expectError(
      await h.api(`${path}/parts`, {
        method: 'POST',
        body: { parts: [{ partNumber: 3, checksumSha256: goodSum }] },
      }),
      400,
      'upload_parts_invalid',
    );
    expectError(
      await h.api(`${path}/parts`, {
        method: 'POST',
        body: { parts: [{ partNumber: 1, checksumSha256: 'nope' }] },
      }),
      400,
      'validation_failed',
    );
    expectError(
      await h.api(`${path}/parts`, {
        method: 'POST',
        body: { parts: [{ partNumber: 0, checksumSha256: goodSum }] },
      }),
      400,
      'validation_failed',
    );
    // Completing with a part missing, or twice the same part.
    expectError(
      await h.api(`${path}/complete`, {
        method: 'POST',
        body: { parts: [{ partNumber: 1, etag: '"x"', checksumSha256: goodSum }] },
      }),
      400,
      'upload_parts_invalid',
    );
    expectError(
      await h.api(`${path}/complete`, {
        method: 'POST',
        body: {
          parts: [
            { partNumber: 1, etag: '"x"', checksumSha256: goodSum },
            { partNumber: 1, etag: '"x"', checksumSha256: goodSum },
          ],
        },
      }),
      400,
      'upload_parts_invalid',
    );
  });

  it('refuses part sizes under 5 MiB and too many parts', async () => {
    expectError(
      await h.api('/v1/uploads', {
        method: 'POST',
        body: {
          filename: 'a.wav',
          contentType: 'audio/wav',
          sizeBytes: 10,
          method: 'multipart',
          partSizeBytes: 1024,
        },
      }),
      400,
      'validation_failed',
    );
  });

  it('refuses a single PUT over 5 GiB, pointing at multipart', async () => {
    const at = await h.listen({
      ...h.deps,
      registry: createRegistry('gateway'),
      settings: { ...h.deps.settings, maxUploadBytes: 10 * 1024 ** 3 },
    });
    const res = await h.api(
      '/v1/uploads',
      {
        method: 'POST',
        body: { filename: 'a.mp4', contentType: 'video/mp4', sizeBytes: 6 * 1024 ** 3 },
      },
      at,
    );
    expect(expectError(res, 400, 'validation_failed').message).toMatch(/multipart/);
  });

  // Where the S3 server implements AbortMultipartUpload (S3, MinIO) the parts are discarded
  // too; the embedded test server has no such call, and the gateway tolerates that.
  it('aborts with DELETE: the row and any object go, and it is idempotent', async () => {
    const upload = await createMultipart(big.length);
    await putParts(upload, big);
    const row = await uploadRow(upload.uploadId);
    expect(row?.multipart_id).toBeTruthy();
    expect((await h.api(`/v1/uploads/${upload.uploadId}`, { method: 'DELETE' })).status).toBe(204);
    expect(await uploadRow(upload.uploadId)).toBeUndefined();
    expect(await objectExists(row!.object_key)).toBe(false);
    expect((await h.api(`/v1/uploads/${upload.uploadId}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('keeps other tenants out: 404 on parts, complete and get; DELETE does nothing', async () => {
    const upload = await createMultipart(big.length);
    const path = `/v1/uploads/${upload.uploadId}`;
    const sum = sha256(Buffer.from('x'));
    expectError(await h.api(path, { key: h.keyB }), 404, 'upload_not_found');
    expectError(
      await h.api(`${path}/parts`, {
        method: 'POST',
        key: h.keyB,
        body: { parts: [{ partNumber: 1, checksumSha256: sum }] },
      }),
      404,
      'upload_not_found',
    );
    expect((await h.api(path, { method: 'DELETE', key: h.keyB })).status).toBe(204);
    expect(await uploadRow(upload.uploadId)).toBeDefined();
  });
});

describe('POST /v1/jobs/upload (through the gateway)', () => {
  function form(
    bytes: Buffer,
    filename: string,
    type: string,
    fields: Record<string, string> = {},
  ) {
    const body = new FormData();
    for (const [k, v] of Object.entries(fields)) body.append(k, v);
    body.append('file', new Blob([bytes], { type }), filename);
    return body;
  }

  async function objectCount() {
    const keys = await h.env.db.selectFrom('uploads').select('object_key').execute();
    const present = await Promise.all(keys.map((k) => objectExists(k.object_key)));
    return { rows: keys.length, objects: present.filter(Boolean).length };
  }

  it('streams the file to S3 and queues the job with its options', async () => {
    const res = await h.api('/v1/jobs/upload', {
      method: 'POST',
      rawBody: form(h.jfk, 'jfk.wav', 'audio/wav', {
        language: 'en-US',
        priority: 'high',
        metadata: JSON.stringify({ source: 'form' }),
      }),
    });
    expect(res.status).toBe(202);
    const job = CreateJobResponse.parse(res.json);
    expect(job).toMatchObject({
      status: 'queued',
      filename: 'jfk.wav',
      sizeBytes: h.jfk.length,
      language: 'en-US',
      priority: 'high',
      metadata: { source: 'form' },
    });
    const row = await h.env.db
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', job.id)
      .executeTakeFirstOrThrow();
    expect((await h.storage.head(row.object_key))?.sizeBytes).toBe(h.jfk.length);
  });

  it('declares the type from the extension when the part says only octet-stream (as curl does)', async () => {
    const res = await h.api('/v1/jobs/upload', {
      method: 'POST',
      rawBody: form(h.jfk, 'JFK.WAV', 'application/octet-stream'),
    });
    expect(res.status).toBe(202);
    expect(CreateJobResponse.parse(res.json).contentType).toBe('audio/wav');
  });

  it('answers 413 payload_too_large over the limit and leaves no object or row', async () => {
    const before = await objectCount();
    const big = Buffer.concat(Array.from({ length: 7 }, () => h.jfk)); // ~2.4 MB > 2 MiB
    const res = await h.api('/v1/jobs/upload', {
      method: 'POST',
      rawBody: form(big, 'big.wav', 'audio/wav'),
    });
    expectError(res, 413, 'payload_too_large');
    expect(await objectCount()).toEqual(before);
  });

  it('answers 415 for a format it does not take, by type and name', async () => {
    const res = await h.api('/v1/jobs/upload', {
      method: 'POST',
      rawBody: form(Buffer.from('%PDF-1.4'), 'doc.pdf', 'application/pdf'),
    });
    expectError(res, 415, 'unsupported_media_type');
  });

  it('answers 415 for a fake media file (text named .wav) and deletes it', async () => {
    const before = await objectCount();
    const res = await h.api('/v1/jobs/upload', {
      method: 'POST',
      rawBody: form(Buffer.from('this is not audio at all\n'.repeat(100)), 'fake.wav', 'audio/wav'),
    });
    expectError(res, 415, 'unsupported_media_type');
    expect(await objectCount()).toEqual(before);
  });

  it('answers 400 for bad options, a missing file, an empty file, or not a form — and stores nothing', async () => {
    const before = await objectCount();
    expectError(
      await h.api('/v1/jobs/upload', {
        method: 'POST',
        rawBody: form(h.jfk, 'jfk.wav', 'audio/wav', { priority: 'urgent' }),
      }),
      400,
      'validation_failed',
    );
    expectError(
      await h.api('/v1/jobs/upload', {
        method: 'POST',
        rawBody: form(h.jfk, 'jfk.wav', 'audio/wav', { metadata: '{not json' }),
      }),
      400,
      'validation_failed',
    );
    const noFile = new FormData();
    noFile.append('language', 'en');
    expectError(
      await h.api('/v1/jobs/upload', { method: 'POST', rawBody: noFile }),
      400,
      'validation_failed',
    );
    expectError(
      await h.api('/v1/jobs/upload', {
        method: 'POST',
        rawBody: form(Buffer.alloc(0), 'empty.wav', 'audio/wav'),
      }),
      400,
      'validation_failed',
    );
    expectError(
      await h.api('/v1/jobs/upload', { method: 'POST', body: { file: 'x' } }),
      400,
      'validation_failed',
    );
    const wrongField = new FormData();
    wrongField.append('audio', new Blob([h.jfk]), 'jfk.wav');
    expectError(
      await h.api('/v1/jobs/upload', { method: 'POST', rawBody: wrongField }),
      400,
      'bad_request',
    );
    expect(await objectCount()).toEqual(before);
  });

  it('needs an API key', async () => {
    expectError(
      await h.api('/v1/jobs/upload', {
        method: 'POST',
        key: null,
        rawBody: form(h.jfk, 'jfk.wav', 'audio/wav'),
      }),
      401,
      'unauthorized',
    );
  });
});

describe('what the gateway checks before it queues a job', () => {
  it('refuses a text file uploaded as audio/wav with 415 and deletes the object', async () => {
    const fake = Buffer.from('hello, I am a text file pretending to be a recording\n');
    const upload = await h.uploadBytes('fake.wav', 'audio/wav', fake);
    const key = await h.objectKeyOf(upload.uploadId);
    expectError(await h.createJob(upload.uploadId), 415, 'unsupported_media_type');
    expect(await objectExists(key)).toBe(false);
    expect(h.jobMessages.some((m) => m.body.jobId === upload.uploadId)).toBe(false);
  });

  it('deletes the object when its size does not match, so nothing is orphaned', async () => {
    const upload = await h.createUpload({ sizeBytes: h.jfk.length });
    const key = await h.objectKeyOf(upload.uploadId);
    await h.storage.upload(key, h.jfk.subarray(0, 5000), 'audio/wav');
    expectError(await h.createJob(upload.uploadId), 422, 'upload_size_mismatch');
    expect(await objectExists(key)).toBe(false);
  });

  it('refuses an object stored with another content type than declared', async () => {
    const upload = await h.createUpload({ sizeBytes: h.jfk.length });
    const key = await h.objectKeyOf(upload.uploadId);
    await h.storage.upload(key, h.jfk, 'text/html');
    expectError(await h.createJob(upload.uploadId), 415, 'unsupported_media_type');
  });

  it('answers 410 upload_expired for an upload past its claim window', async () => {
    const upload = await h.uploadJfk();
    await h.env.db
      .updateTable('uploads')
      .set({ expires_at: new Date(Date.now() - 2 * 3600_000) })
      .where('id', '=', upload.uploadId)
      .execute();
    expectError(await h.createJob(upload.uploadId), 410, 'upload_expired');
  });
});
