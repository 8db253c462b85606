// The SDK's job management (list, cancel, retry, delete) and its ApiError (stable code,
// HTTP status, request id) against the real gateway on Postgres, RabbitMQ and S3.
import { ApiError, createClient, type TranscribeClient } from '@transcribe/client';
import {
  JFK,
  startGatewayHarness,
  type GatewayHarness,
} from '../../../services/gateway/test/support/harness.js';

let h: GatewayHarness;
let client: TranscribeClient;

beforeAll(async () => {
  h = await startGatewayHarness();
  client = createClient({ baseUrl: h.base, apiKey: h.keyA });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

async function newJob(): Promise<string> {
  const upload = await client.uploadFile(JFK);
  return (await client.createJob({ uploadId: upload.uploadId })).id;
}

it('lists jobs newest first, page by page, filtered by status', async () => {
  const [a, b, c] = [await newJob(), await newJob(), await newJob()];
  const first = await client.listJobs({ limit: 2 });
  expect(first.data.map((j) => j.id)).toEqual([c, b]);
  expect(first.nextCursor).toEqual(expect.any(String));
  const second = await client.listJobs({ limit: 2, cursor: first.nextCursor! });
  expect(second.data.map((j) => j.id)).toEqual([a]);
  expect(second.nextCursor).toBeNull();

  await client.cancelJob(b);
  const canceled = await client.listJobs({ status: ['canceled', 'failed'] });
  expect(canceled.data.map((j) => j.id)).toEqual([b]);
  expect((await client.listJobs({ status: 'queued' })).data.map((j) => j.id)).toEqual([c, a]);
  expect((await client.listJobs({ createdAfter: new Date(Date.now() + 60_000) })).data).toEqual([]);
});

it('cancels, retries and deletes a job', async () => {
  const id = await newJob();
  expect((await client.cancelJob(id)).status).toBe('canceled');
  // Canceling a canceled job answers it as it is.
  expect((await client.cancelJob(id)).status).toBe('canceled');
  const retried = await client.retryJob(id);
  expect(retried).toMatchObject({ id, status: 'queued' });

  await client.deleteJob(id);
  await expect(client.getJob(id)).rejects.toMatchObject({ code: 'not_found', status: 404 });
  // Deleting what is gone already succeeds.
  await expect(client.deleteJob(id)).resolves.toBeUndefined();
});

it('throws ApiError with the stable code, the HTTP status, details and the request id', async () => {
  const id = await newJob();
  const error: unknown = await client.retryJob(id).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ApiError);
  const apiError = error as ApiError;
  expect(apiError).toMatchObject({
    code: 'invalid_job_state',
    status: 409,
    details: { status: 'queued' },
  });
  expect(apiError.requestId).toMatch(/^[\w.-]{1,128}$/);

  const unauthorized = createClient({ baseUrl: h.base, apiKey: 'tk_wrong' });
  await expect(unauthorized.listJobs()).rejects.toMatchObject({
    code: 'unauthorized',
    status: 401,
    requestId: expect.any(String),
  });
});
