// The SDK's enrichment calls (issue 15) against the real gateway on Postgres, RabbitMQ and
// S3: asked at creation and later, listed, read in each format once completed (written
// straight into the row: no workers here), canceled, and the errors' stable codes.
import { ApiError, createClient, type TranscribeClient } from '@transcribe/client';
import {
  JFK,
  startGatewayHarness,
  type GatewayHarness,
} from '../../../services/gateway/test/support/harness.js';

let h: GatewayHarness;
let client: TranscribeClient;

beforeAll(async () => {
  h = await startGatewayHarness({ settings: { enrichmentsAvailable: true } });
  client = createClient({ baseUrl: h.base, apiKey: h.keyA });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

async function newJob(enrich?: Parameters<TranscribeClient['createJob']>[0]['enrich']) {
  const upload = await client.uploadFile(JFK);
  return client.createJob({ uploadId: upload.uploadId, ...(enrich ? { enrich } : {}) });
}

it('creates a job with enrich, asks for one more, and lists them in order', async () => {
  const job = await newJob(['summary', { translate: 'de' }]);
  expect(job.enrichments.map((e) => e.key)).toEqual(['summary', 'translate:de']);
  const notes = await client.requestEnrichment(job.id, 'notes');
  expect(notes).toMatchObject({ key: 'notes', status: 'queued' });
  // Idempotent: the same kind again is the same task.
  expect((await client.requestEnrichment(job.id, 'notes')).id).toBe(notes.id);
  expect((await client.listEnrichments(job.id)).map((e) => e.key)).toEqual([
    'summary',
    'translate:de',
    'notes',
  ]);
});

it('reads a completed enrichment as text and JSON; before that, enrichment_not_completed', async () => {
  const job = await newJob([{ translate: 'de' }]);
  const error = await client.getEnrichment(job.id, 'translate:de').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ApiError);
  expect(error).toMatchObject({
    code: 'enrichment_not_completed',
    status: 409,
    details: { status: 'queued', progress: 0 },
  });
  await h.env.db
    .updateTable('enrichments')
    .set({
      status: 'completed',
      progress: 100,
      text: 'Und so, meine amerikanischen Mitbürger.',
      result: JSON.stringify({
        shape: 'timed',
        segments: [{ start: 0, end: 2.5, text: 'Und so, meine amerikanischen Mitbürger.' }],
        paragraphStarts: [0],
      }),
      finished_at: new Date(),
    })
    .where('job_id', '=', job.id)
    .execute();
  expect(await client.getEnrichment(job.id, 'translate:de')).toBe(
    'Und so, meine amerikanischen Mitbürger.\n',
  );
  expect(await client.getEnrichment(job.id, 'translate:de', 'vtt')).toContain(
    '00:00:00.000 --> 00:00:02.500',
  );
  const json = await client.getEnrichment(job.id, 'translate:de', 'json');
  expect(json).toMatchObject({ jobId: job.id, targetLanguage: 'de', status: 'completed' });
  await expect(client.cancelEnrichment(job.id, 'translate:de')).rejects.toMatchObject({
    code: 'invalid_job_state',
  });
});

it('cancels a queued enrichment; an unknown one is not_found', async () => {
  const job = await newJob(['clean']);
  expect(await client.cancelEnrichment(job.id, 'clean')).toMatchObject({ status: 'canceled' });
  await expect(client.cancelEnrichment(job.id, 'summary')).rejects.toMatchObject({
    code: 'not_found',
    status: 404,
  });
});
