// The tenant's daily audio quota at job creation: a tenant that used it up today gets
// 429 quota_exceeded naming the limit, the use and the reset; others are unaffected.
import { sql } from 'kysely';
import { CreateJobResponse, ErrorBody, QuotaExceededDetails } from '@transcribe/contracts';
import { setTenantMaxAudioPerDay } from '@transcribe/db';
import { expectError, startGatewayHarness, type GatewayHarness } from './support/harness.js';

let h: GatewayHarness;

beforeAll(async () => {
  h = await startGatewayHarness({ settings: { tenantMaxAudioSPerDay: 60 } });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

it('refuses a job with 429 quota_exceeded once the tenant used its daily audio', async () => {
  const first = await h.createJob((await h.uploadJfk()).uploadId);
  expect(first.status).toBe(202);
  const job = CreateJobResponse.parse(first.json);
  // The worker admitted it today with 11 s of decoded audio; the tenant's own limit is 10 s.
  await h.env.db
    .updateTable('jobs')
    .set({ duration_s: 11, started_at: sql<Date>`now()` })
    .where('id', '=', job.id)
    .execute();
  await setTenantMaxAudioPerDay(h.env.db, h.tenantA, 10);

  const refused = await h.createJob((await h.uploadJfk()).uploadId);
  const error = expectError(refused, 429, 'quota_exceeded');
  expect(error.message).toMatch(/quota of 10 s .*11 s today.*resets at \d{4}-\d\d-\d\dT00:00:00/);
  const details = QuotaExceededDetails.parse(ErrorBody.parse(refused.json).error.details);
  // Issue 17's shape, with the older names kept for existing clients.
  expect(details).toMatchObject({
    quota: 'audio_s_per_day',
    limit: 10,
    used: 11,
    limitS: 10,
    usedS: 11,
  });
  const resetsAt = new Date(String(details.resetsAt)).getTime();
  expect(resetsAt).toBeGreaterThan(Date.now());
  // Retry-After: the seconds until the UTC day ends.
  const retryAfter = Number(refused.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThan(0);
  expect(Math.abs(retryAfter * 1000 - (resetsAt - Date.now()))).toBeLessThan(5_000);

  // Another tenant, under the deployment's 60 s default, is not affected.
  const other = await h.createJob((await h.uploadJfk(h.keyB)).uploadId, h.keyB);
  expect(other.status).toBe(202);
  // Back to the default (60 s): 11 s used leaves room.
  await setTenantMaxAudioPerDay(h.env.db, h.tenantA, null);
  expect((await h.createJob((await h.uploadJfk()).uploadId)).status).toBe(202);
});
