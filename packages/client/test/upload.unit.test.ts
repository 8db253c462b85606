import { readFile, stat } from 'node:fs/promises';
import { ApiError, contentTypeFor, createClient, type TranscribeClient } from '@transcribe/client';
import { API_KEY, startFakeApi, type FakeApi } from './support/fake-api.js';
import { audioFixture } from '../../testkit/src/fixtures.js';

const JFK = audioFixture('jfk.wav');

let fake: FakeApi;
let client: TranscribeClient;

beforeAll(async () => {
  fake = await startFakeApi();
  client = createClient({ baseUrl: fake.baseUrl, apiKey: API_KEY });
});
afterAll(() => fake.close());

describe('uploadFile', () => {
  it('streams the file to the presigned URL: identical bytes, signed headers, Content-Length', async () => {
    const progress: [number, number][] = [];
    const size = (await stat(JFK)).size;
    const upload = await client.uploadFile(JFK, { onProgress: (s, t) => progress.push([s, t]) });

    expect(upload).toEqual({
      uploadId: expect.any(String),
      filename: 'jfk.wav',
      contentType: 'audio/wav',
      sizeBytes: size,
    });
    const received = fake.uploads.get(upload.uploadId);
    expect(received?.body.equals(await readFile(JFK))).toBe(true);
    expect(received?.headers).toMatchObject({
      'content-type': 'audio/wav',
      'content-length': String(size),
      'x-amz-meta-test': 'signed-value',
    });
    // Not chunked: presigned S3 PUTs need a length.
    expect(received?.headers['transfer-encoding']).toBeUndefined();

    // Progress comes in pieces as the stream is read, and ends at the total.
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toEqual([size, size]);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]![0]).toBeGreaterThan(progress[i - 1]![0]);
    }
  });

  it('uses the given filename and content type', async () => {
    const upload = await client.uploadFile(JFK, {
      filename: 'speech.mp3',
      contentType: 'audio/wav',
    });
    expect(upload).toMatchObject({ filename: 'speech.mp3', contentType: 'audio/wav' });
  });

  it('turns a refused PUT into ApiError upload_failed with the storage code', async () => {
    const bogus = { url: `${fake.baseUrl}/bucket/unknown`, headers: {} };
    const error = await client.putUpload(bogus, JFK).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 403,
      code: 'upload_failed',
      details: { storageCode: 'SignatureDoesNotMatch' },
    });
  });

  it('fails with ClientError file_error for a missing file, before creating an upload', async () => {
    await expect(client.uploadFile('/nonexistent/a.wav')).rejects.toMatchObject({
      name: 'ClientError',
      code: 'file_error',
    });
  });
});

describe('contentTypeFor', () => {
  it.each([
    ['a.mp3', 'audio/mpeg'],
    ['a.WAV', 'audio/wav'],
    ['a.flac', 'audio/flac'],
    ['a.m4a', 'audio/mp4'],
    ['a.aac', 'audio/aac'],
    ['a.ogg', 'audio/ogg'],
    ['a.opus', 'audio/opus'],
    ['a.webm', 'audio/webm'],
    ['dir.v2/a.mp4', 'video/mp4'],
    ['a.mov', 'video/quicktime'],
    ['a.txt', 'application/octet-stream'],
    ['noext', 'application/octet-stream'],
  ])('%s → %s', (name, type) => {
    expect(contentTypeFor(name)).toBe(type);
  });
});
