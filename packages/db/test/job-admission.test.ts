// Job creation in one statement (issue 18) against a real Postgres: the queued-jobs cap
// holds exactly when many creations race from far below it (side by side, under the
// tenant's shared admission lock) across into the exclusive lock near it; a spent upload
// makes no second job; without a cap nothing is counted or refused.
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { createTestEnv, type TestEnv } from '../../testkit/src/index.js';
import {
  createDb,
  ensureTenant,
  insertQueuedJobAdmitted,
  insertUpload,
  setTenantMaxQueuedJobs,
  type Db,
  type QueuedJobOutcome,
} from '../src/index.js';

let env: TestEnv;
/** A pool as wide as a busy gateway's, so creations really run at once. */
let wide: Db;

beforeAll(async () => {
  env = await createTestEnv();
  wide = createDb(env.databaseUrl, { max: 20 });
}, 60_000);

afterAll(async () => {
  await wide?.destroy();
  await env?.close();
});

async function upload(tenantId: string): Promise<string> {
  const id = uuidv7();
  await insertUpload(env.db, {
    id,
    tenant_id: tenantId,
    object_key: `${tenantId}/${id}/a.wav`,
    filename: 'a.wav',
    content_type: 'audio/wav',
    size_bytes: 1234,
    method: 'PUT',
    expires_at: new Date(Date.now() + 60_000),
  });
  return id;
}

function create(db: Db, tenantId: string, uploadId: string, deploymentMaxQueued: number) {
  const job = {
    id: uuidv7(),
    tenant_id: tenantId,
    upload_id: uploadId,
    priority: 'default' as const,
    object_key: `${tenantId}/${uploadId}/a.wav`,
    filename: 'a.wav',
    content_type: 'audio/wav',
    size_bytes: 1234,
    language: 'en',
    engine: 'sphinx',
  };
  return insertQueuedJobAdmitted(db, {
    job,
    uploadId,
    deploymentMaxQueued,
    event: { type: 'queued', payload: { type: 'queued', jobId: job.id, seq: 1 } },
    outbox: [
      { topic: 'events', routingKey: `${tenantId}.${job.id}.queued`, payload: {}, priority: null },
      { topic: 'jobs', routingKey: 'transcribe', payload: { jobId: job.id }, priority: 1 },
    ],
  });
}

const kinds = (outcomes: QueuedJobOutcome[]) => outcomes.map((o) => o.kind);

it('admits exactly the cap when racing creations start far below it and cross into the exclusive lock', async () => {
  const tenantId = await ensureTenant(env.db, 'admission-race');
  const { rows } = await sql<{ max_connections: string }>`SHOW max_connections`.execute(env.db);
  // Shared while fewer than 5 are queued, exclusive from there up to the cap.
  const cap = Number(rows[0]!.max_connections) + 5;
  await setTenantMaxQueuedJobs(env.db, tenantId, cap);
  const uploads = await Promise.all(Array.from({ length: cap + 20 }, () => upload(tenantId)));
  const outcomes = await Promise.all(uploads.map((u) => create(wide, tenantId, u, 1000)));
  expect(kinds(outcomes).filter((k) => k === 'created')).toHaveLength(cap);
  expect(kinds(outcomes).filter((k) => k === 'over_cap')).toHaveLength(20);
  const counted = await env.db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'queued')
    .executeTakeFirstOrThrow();
  expect(Number(counted.n)).toBe(cap);
  // Every created job has its event, its two outbox rows and a spent upload; refused ones nothing.
  const created = outcomes.flatMap((o) => (o.kind === 'created' ? [o.job] : []));
  expect(created.every((j) => j.last_event_seq === 1)).toBe(true);
  const events = await env.db
    .selectFrom('job_events')
    .select('job_id')
    .where(
      'job_id',
      'in',
      created.map((j) => j.id),
    )
    .execute();
  expect(events).toHaveLength(cap);
  const spent = await env.db
    .selectFrom('uploads')
    .select('status')
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'used')
    .execute();
  expect(spent).toHaveLength(cap);
}, 60_000);

it('makes one job of an upload however many creations race for it', async () => {
  const tenantId = await ensureTenant(env.db, 'admission-upload');
  const uploadId = await upload(tenantId);
  const outcomes = await Promise.all(
    Array.from({ length: 8 }, () => create(wide, tenantId, uploadId, 1000)),
  );
  expect(kinds(outcomes).sort()).toEqual(['created', ...Array(7).fill('upload_used')]);
});

it('refuses nothing and counts nothing without a cap', async () => {
  const tenantId = await ensureTenant(env.db, 'admission-none');
  const outcomes = await Promise.all(
    Array.from({ length: 5 }, async () => create(wide, tenantId, await upload(tenantId), 0)),
  );
  expect(kinds(outcomes)).toEqual(Array(5).fill('created'));
  const usage = await env.db
    .selectFrom('tenant_usage_days')
    .select('jobs_submitted')
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow();
  expect(usage.jobs_submitted).toBe(5);
});
