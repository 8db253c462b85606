// Issue 17's cap on a tenant's queued jobs, at admission on every creation path: over the
// cap is 429 quota_exceeded with {quota, limit, used, resetsAt}; the cap holds exactly
// under concurrent requests; a refused form upload leaves no object; nothing accepted is
// dropped, and a place freed (a job canceled or taken) admits the next. Real Postgres,
// RabbitMQ and S3.
import { randomBytes } from 'node:crypto';
import {
  CreateJobResponse,
  ErrorBody,
  OpenAIErrorBody,
  QuotaExceededDetails,
} from '@transcribe/contracts';
import { setTenantMaxQueuedJobs } from '@transcribe/db';
import { createRegistry } from '@transcribe/telemetry';
import { seedTenant } from '../../../packages/testkit/src/index.js';
import {
  expectError,
  recordingUploads,
  startGatewayHarness,
  type GatewayHarness,
} from './support/harness.js';

let h: GatewayHarness;
/** A second gateway on the same deps whose storage remembers every key it uploaded. */
let recordingBase: string;
const uploadedKeys: string[] = [];

beforeAll(async () => {
  // The deployment's default is generous; each test gives its own tenant a small cap.
  h = await startGatewayHarness({ settings: { tenantMaxQueuedJobs: 1000 } });
  recordingBase = await h.listen({
    ...h.deps,
    storage: recordingUploads(h.deps.storage, uploadedKeys),
    registry: createRegistry('gateway'),
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

/** A tenant of its own with `max` queued jobs at most. */
async function tenantWithCap(max: number | null): Promise<{ id: string; key: string }> {
  const name = `quota-${randomBytes(4).toString('hex')}`;
  const { id, apiKey } = await seedTenant(h.env.db, name, {
    apiKey: `tk_test_q_${randomBytes(12).toString('hex')}`,
  });
  await setTenantMaxQueuedJobs(h.env.db, id, max);
  return { id, key: apiKey };
}

async function statusesOf(tenantId: string): Promise<string[]> {
  const rows = await h.env.db
    .selectFrom('jobs')
    .select('status')
    .where('tenant_id', '=', tenantId)
    .execute();
  return rows.map((r) => r.status);
}

function form(): FormData {
  const body = new FormData();
  body.append('file', new Blob([h.jfk], { type: 'audio/wav' }), 'jfk.wav');
  return body;
}

function quotaDetails(res: { json: unknown }): QuotaExceededDetails {
  return QuotaExceededDetails.parse(ErrorBody.parse(res.json).error.details);
}

it('refuses the job over the cap with 429 quota_exceeded; accepted jobs stay queued; a freed place admits the next', async () => {
  const tenant = await tenantWithCap(3);
  const accepted: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await h.createJob((await h.uploadJfk(tenant.key)).uploadId, tenant.key);
    expect(res.status).toBe(202);
    accepted.push(CreateJobResponse.parse(res.json).id);
  }
  const upload = await h.uploadJfk(tenant.key);
  const refused = await h.createJob(upload.uploadId, tenant.key);
  const error = expectError(refused, 429, 'quota_exceeded');
  expect(error.message).toMatch(/3 jobs queued, its limit is 3/);
  expect(quotaDetails(refused)).toEqual({
    quota: 'queued_jobs',
    limit: 3,
    used: 3,
    resetsAt: null,
  });
  // Frees up when the tenant's jobs leave the queue, at no time anyone can promise.
  expect(refused.headers.get('retry-after')).toBeNull();
  // The refused request spent nothing: the upload can still become a job later.
  const uploadRow = await h.env.db
    .selectFrom('uploads')
    .select('status')
    .where('id', '=', upload.uploadId)
    .executeTakeFirstOrThrow();
  expect(uploadRow.status).toBe('pending');
  expect(await statusesOf(tenant.id)).toEqual(['queued', 'queued', 'queued']);

  // Other tenants are not affected by this one's full queue.
  expect((await h.createJob((await h.uploadJfk(h.keyB)).uploadId, h.keyB)).status).toBe(202);

  // One canceled: its place is free, and the upload refused before is accepted now.
  const cancel = await h.api(`/v1/jobs/${accepted[0]}/cancel`, { method: 'POST', key: tenant.key });
  expect(cancel.status).toBe(200);
  expect((await h.createJob(upload.uploadId, tenant.key)).status).toBe(202);
  expectError(
    await h.createJob((await h.uploadJfk(tenant.key)).uploadId, tenant.key),
    429,
    'quota_exceeded',
  );
  // One taken by a worker (processing is not queued): again a place.
  await h.env.db
    .updateTable('jobs')
    .set({ status: 'processing', stage: 'transcribing' })
    .where('id', '=', accepted[1]!)
    .execute();
  expect((await h.createJob((await h.uploadJfk(tenant.key)).uploadId, tenant.key)).status).toBe(
    202,
  );
  expect((await statusesOf(tenant.id)).sort()).toEqual([
    'canceled',
    'processing',
    'queued',
    'queued',
    'queued',
  ]);

  // Back to the deployment's default (1000): room again.
  await setTenantMaxQueuedJobs(h.env.db, tenant.id, null);
  expect((await h.createJob((await h.uploadJfk(tenant.key)).uploadId, tenant.key)).status).toBe(
    202,
  );
});

it('admits exactly the cap out of 20 concurrent creations', async () => {
  const tenant = await tenantWithCap(5);
  const uploads = await Promise.all(Array.from({ length: 20 }, () => h.uploadJfk(tenant.key)));
  const results = await Promise.all(uploads.map((u) => h.createJob(u.uploadId, tenant.key)));
  const statuses = results.map((r) => r.status);
  expect(statuses.filter((s) => s === 202)).toHaveLength(5);
  expect(statuses.filter((s) => s === 429)).toHaveLength(15);
  for (const res of results.filter((r) => r.status === 429)) {
    expect(quotaDetails(res)).toMatchObject({ quota: 'queued_jobs', limit: 5 });
  }
  expect(await statusesOf(tenant.id)).toEqual(Array(5).fill('queued'));
});

it('admits exactly the cap out of concurrent form uploads, and a refused one leaves no object or upload row', async () => {
  const tenant = await tenantWithCap(2);
  const keysBefore = uploadedKeys.length;
  const results = await Promise.all(
    Array.from({ length: 6 }, () =>
      h.api('/v1/jobs/upload', { method: 'POST', key: tenant.key, rawBody: form() }, recordingBase),
    ),
  );
  expect(results.filter((r) => r.status === 202)).toHaveLength(2);
  for (const res of results.filter((r) => r.status !== 202)) {
    expectError(res, 429, 'quota_exceeded');
  }
  const jobs = results
    .filter((r) => r.status === 202)
    .map((r) => CreateJobResponse.parse(r.json).id);
  const kept = await h.env.db
    .selectFrom('uploads')
    .select('object_key')
    .where('tenant_id', '=', tenant.id)
    .execute();
  // Only the admitted jobs' uploads exist; whatever a refused request had stored is gone.
  expect(kept).toHaveLength(2);
  const keptKeys = new Set(kept.map((k) => k.object_key));
  for (const key of uploadedKeys.slice(keysBefore)) {
    if (keptKeys.has(key)) continue;
    expect(await h.storage.head(key)).toBeUndefined();
  }
  expect(jobs).toHaveLength(2);

  // Now over the cap, a form upload is refused before its file is stored at all.
  const before = uploadedKeys.length;
  const refused = await h.api(
    '/v1/jobs/upload',
    { method: 'POST', key: tenant.key, rawBody: form() },
    recordingBase,
  );
  expectError(refused, 429, 'quota_exceeded');
  expect(quotaDetails(refused)).toMatchObject({ quota: 'queued_jobs', limit: 2, used: 2 });
  expect(uploadedKeys.length).toBe(before);
});

it('refuses the OpenAI-compatible route over the cap in its own shape, storing nothing', async () => {
  const tenant = await tenantWithCap(1);
  expect((await h.createJob((await h.uploadJfk(tenant.key)).uploadId, tenant.key)).status).toBe(
    202,
  );
  const body = form();
  body.append('model', 'sphinx');
  const before = uploadedKeys.length;
  const res = await h.api(
    '/v1/audio/transcriptions',
    { method: 'POST', key: tenant.key, rawBody: body },
    recordingBase,
  );
  expect(res.status).toBe(429);
  expect(OpenAIErrorBody.parse(res.json).error).toMatchObject({
    type: 'insufficient_quota',
    code: 'quota_exceeded',
  });
  expect(uploadedKeys.length).toBe(before);
  expect(await statusesOf(tenant.id)).toEqual(['queued']);
});

it('counts a retry as a new place in the queue: cancel-and-retry cannot get round the cap', async () => {
  const tenant = await tenantWithCap(1);
  const create = async () => h.createJob((await h.uploadJfk(tenant.key)).uploadId, tenant.key);
  const first = CreateJobResponse.parse((await create()).json).id;
  const cancel = (id: string) =>
    h.api(`/v1/jobs/${id}/cancel`, { method: 'POST', key: tenant.key });
  const retry = (id: string) => h.api(`/v1/jobs/${id}/retry`, { method: 'POST', key: tenant.key });
  expect((await cancel(first)).status).toBe(200);
  const second = CreateJobResponse.parse((await create()).json).id;

  const refused = await retry(first);
  expectError(refused, 429, 'quota_exceeded');
  expect(quotaDetails(refused)).toMatchObject({ quota: 'queued_jobs', limit: 1, used: 1 });
  expect((await statusesOf(tenant.id)).sort()).toEqual(['canceled', 'queued']);
  // A job in a state a retry does not apply to is still 409, whatever the queue.
  expectError(await retry(second), 409, 'invalid_job_state');

  expect((await cancel(second)).status).toBe(200);
  expect((await retry(first)).status).toBe(202);
  expect((await statusesOf(tenant.id)).sort()).toEqual(['canceled', 'queued']);
});
