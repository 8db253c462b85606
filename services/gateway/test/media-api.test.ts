// `GET /v1/jobs/:id/media`: a presigned GET of the job's recording for the web app's player,
// on real Postgres, RabbitMQ and S3: the link reads the very bytes uploaded; another
// tenant's job is a 404; a recording no longer stored is a 410 rather than a dead link.
import { readFileSync } from 'node:fs';
import { CreateJobResponse, JobMedia } from '@transcribe/contracts';
import { audioFixture } from '@transcribe/testkit';
import { expectError, startGatewayHarness, type GatewayHarness } from './support/harness.js';

let h: GatewayHarness;

beforeAll(async () => {
  h = await startGatewayHarness();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

it('links to the recording, for its tenant only, and says when it is gone', async () => {
  const upload = await h.uploadJfk(h.keyA);
  const created = await h.createJob(upload.uploadId, h.keyA);
  expect(created.status).toBe(202);
  const job = CreateJobResponse.parse(created.json);

  const res = await h.api(`/v1/jobs/${job.id}/media`);
  expect(res.status).toBe(200);
  const media = JobMedia.parse(res.json);
  expect(media.contentType).toBe('audio/wav');
  expect(new Date(media.expiresAt).getTime()).toBeGreaterThan(Date.now() + 3600_000);
  const bytes = Buffer.from(await (await fetch(media.url)).arrayBuffer());
  expect(bytes.equals(readFileSync(audioFixture('jfk.wav')))).toBe(true);

  expectError(await h.api(`/v1/jobs/${job.id}/media`, { key: h.keyB }), 404, 'not_found');

  const row = await h.env.db
    .selectFrom('jobs')
    .select('object_key')
    .where('id', '=', job.id)
    .executeTakeFirstOrThrow();
  await h.storage.delete(row.object_key);
  expectError(await h.api(`/v1/jobs/${job.id}/media`), 410, 'object_missing');
});
