// The SDK's multipart path against the real gateway and S3 API: a file over the threshold
// goes up in checksummed parts and arrives byte for byte; a failed upload is aborted.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type TranscribeClient } from '@transcribe/client';
import {
  startGatewayHarness,
  type GatewayHarness,
} from '../../../services/gateway/test/support/harness.js';
import { audioFixture } from '../../testkit/src/fixtures.js';

const PART = 5 * 1024 * 1024;
let h: GatewayHarness;
let client: TranscribeClient;
let dir: string;
let file: string;
let size: number;

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

beforeAll(async () => {
  h = await startGatewayHarness({ settings: { maxUploadBytes: 64 * 1024 * 1024 } });
  client = createClient({ baseUrl: h.base, apiKey: h.keyA });
  dir = await mkdtemp(join(tmpdir(), 'multipart-'));
  // Real speech, long enough for three parts (the last one short).
  const copies = Math.ceil((2 * PART + 300_000) / h.jfk.length);
  const body = Buffer.concat(Array.from({ length: copies }, () => h.jfk));
  file = join(dir, 'long.wav');
  await writeFile(file, body);
  size = body.length;
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await h?.close();
});

it('uploads a large file in parts that S3 reassembles byte for byte, and a job can use it', async () => {
  const progress: number[] = [];
  const uploaded = await client.uploadFile(file, {
    multipartThresholdBytes: PART,
    partSizeBytes: PART,
    onProgress: (sent, total) => {
      expect(total).toBe(size);
      progress.push(sent);
    },
  });
  expect(uploaded.sizeBytes).toBe(size);
  const row = await h.env.db
    .selectFrom('uploads')
    .selectAll()
    .where('id', '=', uploaded.uploadId)
    .executeTakeFirstOrThrow();
  expect(row).toMatchObject({ method: 'multipart', multipart_id: null, part_size_bytes: PART });
  const copy = join(dir, 'copy.wav');
  await h.storage.download(row.object_key, copy);
  expect(await sha256File(copy)).toBe(await sha256File(file));
  expect(progress.at(-1)).toBe(size);
  const job = await client.createJob({ uploadId: uploaded.uploadId });
  expect(job.status).toBe('queued');
});

it('keeps small files on a single PUT', async () => {
  const uploaded = await client.uploadFile(audioFixture('jfk.wav'), {
    multipartThresholdBytes: PART,
  });
  const row = await h.env.db
    .selectFrom('uploads')
    .select('method')
    .where('id', '=', uploaded.uploadId)
    .executeTakeFirstOrThrow();
  expect(row.method).toBe('PUT');
});

it('aborts the upload when sending fails part-way, leaving no upload behind', async () => {
  const before = await h.env.db.selectFrom('uploads').select('id').execute();
  const controller = new AbortController();
  const error = await client
    .uploadFile(file, {
      multipartThresholdBytes: PART,
      partSizeBytes: PART,
      signal: controller.signal,
      onProgress: (sent) => {
        if (sent > PART / 2) controller.abort(new Error('stop'));
      },
    })
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(Error);
  const after = await h.env.db.selectFrom('uploads').select('id').execute();
  expect(after.map((r) => r.id).sort()).toEqual(before.map((r) => r.id).sort());
});
