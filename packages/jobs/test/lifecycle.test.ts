// Every edge of the lifecycle table on a real Postgres, and every (state, event) pair the
// table does not list refused: no row change, no job event, no outbox row.
import { JobStatus } from '@transcribe/contracts';
import { ensureTenant, findJobById, type Db, type JobRow } from '@transcribe/db';
import { sql } from 'kysely';
import { createTestEnv, jobFields, type TestEnv } from '../../testkit/src/index.js';
import {
  cancelJob,
  claimAttempt,
  deferClaim,
  fanOutChunks,
  insertQueuedJob,
  LIFECYCLE_EVENTS,
  markCompleted,
  markDeadLettered,
  markFailed,
  nextState,
  reportProgress,
  republishQueued,
  requeueExpiredLease,
  requeueForHandover,
  requeueForRetry,
  retryJob,
  TRANSITIONS,
  type LifecycleEvent,
} from '../src/index.js';

let env: TestEnv;
let tenantId: string;

beforeAll(async () => {
  env = await createTestEnv();
  tenantId = await ensureTenant(env.db, 'tenant-lifecycle');
}, 60_000);

afterAll(async () => {
  await env?.close();
});

const LEASE_MS = 60_000;

/** Each event's edge function, called as its callers call it; truthy when it applied. */
function apply(db: Db, event: LifecycleEvent, job: JobRow): Promise<unknown> {
  switch (event) {
    case 'claim':
      return claimAttempt(db, job.id, { leaseMs: LEASE_MS });
    case 'defer':
      return deferClaim(db, job, { delayMs: 1000 });
    case 'republish':
      return republishQueued(db, job);
    case 'progress':
      return reportProgress(db, job, { progress: 42, stage: 'transcribing', leaseMs: LEASE_MS });
    case 'fan_out':
      return fanOutChunks(db, job, { indexes: [0, 1], leaseMs: LEASE_MS });
    case 'complete':
      return markCompleted(db, job, {
        text: 'and so my fellow americans',
        segments: [{ start: 0, end: 2, text: 'and so my fellow americans' }],
        durationS: 11,
        processingMs: 500,
        model: 'en-us',
      });
    case 'fail':
      return markFailed(db, job, { code: 'invalid_media', message: 'not audio' });
    case 'dead_letter':
      return markDeadLettered(db, job, { code: 'engine_failed', message: 'gave up' });
    case 'requeue':
      return requeueForRetry(db, job, { level: 1, delayMs: 1000 });
    case 'hand_over':
      return requeueForHandover(db, job);
    case 'expire':
      return requeueExpiredLease(db, job);
    case 'cancel':
      return cancelJob(db, job.tenant_id, job.id);
    case 'retry':
      return retryJob(db, job.tenant_id, job.id);
  }
}

/** The job event each edge appends (none: the edge only writes messages or the lease). */
const EVENT_TYPE: Record<LifecycleEvent, string | null> = {
  claim: 'processing',
  defer: null,
  republish: null,
  progress: 'progress',
  fan_out: null,
  complete: 'completed',
  fail: 'failed',
  dead_letter: 'failed',
  requeue: 'queued',
  hand_over: 'queued',
  expire: 'queued',
  cancel: 'canceled',
  retry: 'queued',
};

/** Routing keys of the `jobs` messages each edge queues. */
const JOB_MESSAGES: Record<LifecycleEvent, string[]> = {
  claim: [],
  defer: ['retry.1'],
  republish: ['transcribe'],
  progress: [],
  fan_out: ['transcribe', 'transcribe'],
  complete: [],
  fail: [],
  dead_letter: ['dead'],
  requeue: ['retry.1'],
  hand_over: [],
  expire: ['transcribe'],
  cancel: [],
  retry: ['transcribe'],
};

/** A new job, walked to `state` through the lifecycle; `leaseMs` of a processing one may be negative (expired). */
async function jobIn(state: JobStatus, leaseMs = LEASE_MS): Promise<JobRow> {
  const queued = await insertQueuedJob(env.db, jobFields(tenantId));
  if (state === 'queued') return queued;
  if (state === 'canceled') return (await cancelJob(env.db, tenantId, queued.id))!;
  const processing = (await claimAttempt(env.db, queued.id, { leaseMs }))!;
  if (state === 'processing') return processing;
  if (state === 'completed') await apply(env.db, 'complete', processing);
  else await apply(env.db, 'fail', processing);
  return (await findJobById(env.db, queued.id))!;
}

async function snapshot(jobId: string) {
  const row = await findJobById(env.db, jobId);
  const events = await env.db
    .selectFrom('job_events')
    .select(['seq', 'type'])
    .where('job_id', '=', jobId)
    .orderBy('seq')
    .execute();
  const outbox = await env.db
    .selectFrom('outbox')
    .select(['id', 'topic', 'routing_key'])
    .where(sql<boolean>`payload->>'jobId' = ${jobId}`)
    .orderBy('id')
    .execute();
  return { row, events, outbox };
}

const allowed = Object.entries(TRANSITIONS).flatMap(([from, row]) =>
  Object.entries(row).map(
    ([event, to]) => [from, event, to] as [JobStatus, LifecycleEvent, JobStatus],
  ),
);
const refused = JobStatus.options.flatMap((state) =>
  LIFECYCLE_EVENTS.filter((event) => !nextState(state, event)).map(
    (event) => [state, event] as [JobStatus, LifecycleEvent],
  ),
);

it('creates a job queued, with its queued event and its message', async () => {
  const job = await jobIn('queued');
  const { row, events, outbox } = await snapshot(job.id);
  expect(row).toMatchObject({ status: 'queued', stage: 'queued' });
  expect(events.map((e) => e.type)).toEqual(['queued']);
  expect(outbox.map((o) => [o.topic, o.routing_key])).toEqual([
    ['events', `${tenantId}.${job.id}.queued`],
    ['jobs', 'transcribe'],
  ]);
});

describe.each(allowed)('%s × %s → %s', (from, event, to) => {
  it('moves the job, with its event and messages, in one step', async () => {
    // A processing job is taken over (claimed again) only once its lease has run out.
    const job = await jobIn(from, from === 'processing' && event === 'claim' ? -1000 : LEASE_MS);
    const before = await snapshot(job.id);
    expect(await apply(env.db, event, job)).toBeTruthy();
    const after = await snapshot(job.id);
    expect(after.row?.status).toBe(to);
    const newEvents = after.events.slice(before.events.length).map((e) => e.type);
    const newOutbox = after.outbox.slice(before.outbox.length);
    const type = EVENT_TYPE[event];
    expect(newEvents).toEqual(type ? [type] : []);
    expect(newOutbox.filter((o) => o.topic === 'events').map((o) => o.routing_key)).toEqual(
      type ? [`${tenantId}.${job.id}.${type}`] : [],
    );
    expect(newOutbox.filter((o) => o.topic === 'jobs').map((o) => o.routing_key)).toEqual(
      JOB_MESSAGES[event],
    );
  });
});

describe.each(refused)('%s × %s', (state, event) => {
  it('is refused: no row change, no event, no outbox row', async () => {
    const job = await jobIn(state);
    const before = await snapshot(job.id);
    expect(await apply(env.db, event, job)).toBeFalsy();
    expect(await snapshot(job.id)).toEqual(before);
  });
});

it('refuses to take over a processing job whose lease is live', async () => {
  const job = await jobIn('processing');
  const before = await snapshot(job.id);
  expect(await apply(env.db, 'claim', job)).toBeFalsy();
  expect(await snapshot(job.id)).toEqual(before);
});

it("refuses a processing job's edges to a writer of an earlier attempt", async () => {
  const first = await jobIn('processing', -1000);
  await claimAttempt(env.db, first.id, { leaseMs: LEASE_MS });
  const before = await snapshot(first.id);
  for (const event of [
    'progress',
    'fan_out',
    'complete',
    'fail',
    'dead_letter',
    'requeue',
  ] as const) {
    expect(await apply(env.db, event, first)).toBeFalsy();
  }
  expect(await snapshot(first.id)).toEqual(before);
});
