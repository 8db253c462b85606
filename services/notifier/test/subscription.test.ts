// JobSubscription against a real Postgres: `load` is the notifier's own listJobEvents query,
// events are appended the way workers append them (appendJobEvent in a transaction).
import { randomUUID } from 'node:crypto';
import type { JobEvent, JobEventInput } from '@transcribe/contracts';
import { appendJobEvent, ensureTenant, insertJob, listJobEvents } from '@transcribe/db';
import { createTestEnv, type TestEnv } from '../../../packages/testkit/src/index.js';
import { JobSubscription, type LoadEvents } from '../src/subscription.js';

let env: TestEnv;
let tenantId: string;

beforeAll(async () => {
  env = await createTestEnv();
  tenantId = await ensureTenant(env.db, `sub-${randomUUID()}`);
});
afterAll(() => env.close());

async function createJob(): Promise<{ id: string; tenantId: string }> {
  const id = randomUUID();
  await insertJob(env.db, {
    id,
    tenant_id: tenantId,
    status: 'processing',
    priority: 'default',
    object_key: `${tenantId}/${id}/a.wav`,
    filename: 'a.wav',
    content_type: 'audio/wav',
    size_bytes: 1024,
    language: 'en',
    engine: 'sphinx',
  });
  return { id, tenantId };
}

/** Commits `count` progress events; returns them as stored (and as the broker carries them). */
async function append(job: { id: string; tenantId: string }, count: number): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  for (let i = 0; i < count; i++) {
    const input: JobEventInput = { type: 'progress', progress: i, stage: 'transcribing' };
    events.push(await env.db.transaction().execute((trx) => appendJobEvent(trx, job, input)));
  }
  return events;
}

/** A subscription whose load is the real query; counts how often it went to the database. */
function subscribe(jobId: string, after: number) {
  const delivered: JobEvent[] = [];
  const errors: unknown[] = [];
  const calls = { load: 0 };
  const load: LoadEvents = (id, from) => {
    calls.load++;
    return listJobEvents(env.db, id, from);
  };
  const sub = new JobSubscription(
    jobId,
    after,
    (e) => delivered.push(e),
    load,
    (e) => errors.push(e),
  );
  return { sub, delivered, errors, calls, seqs: () => delivered.map((e) => e.seq) };
}

function at(events: JobEvent[], seq: number): JobEvent {
  const event = events.find((e) => e.seq === seq);
  if (!event) throw new Error(`no event ${seq}`);
  return event;
}

describe('JobSubscription (real database as load)', () => {
  it('delivers the next live event directly, without a database read', async () => {
    const job = await createJob();
    const events = await append(job, 2);
    const s = subscribe(job.id, 0);
    await s.sub.live(at(events, 1));
    await s.sub.live(at(events, 2));
    expect(s.seqs()).toEqual([1, 2]);
    expect(s.delivered[0]).toBe(at(events, 1));
    expect(s.calls.load).toBe(0);
  });

  it('delivers out-of-order, duplicate and gapped live events exactly once, in seq order', async () => {
    const job = await createJob();
    const first = await append(job, 3);
    const s = subscribe(job.id, 0);

    // 3 arrives before 1 and 2: the gap is filled from Postgres, then 2 and 1 are stale.
    await s.sub.live(at(first, 3));
    await s.sub.live(at(first, 2));
    await s.sub.live(at(first, 1));
    expect(s.seqs()).toEqual([1, 2, 3]);

    const more = await append(job, 4); // seqs 4..7
    // Duplicate publishes of the same event.
    await s.sub.live(at(more, 4));
    await s.sub.live(at(more, 4));
    await s.sub.live(at(first, 3));
    expect(s.seqs()).toEqual([1, 2, 3, 4]);

    // 5 and 6 were lost in transit: 7 reveals the gap, which is read back from the database.
    const loadsBefore = s.calls.load;
    await s.sub.live(at(more, 7));
    expect(s.calls.load).toBeGreaterThan(loadsBefore);
    await s.sub.live(at(more, 6));
    await s.sub.live(at(more, 5));
    await s.sub.live(at(more, 7));
    expect(s.seqs()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(s.sub.seq).toBe(7);
    expect(s.errors).toEqual([]);
  });

  it('keeps order when live events are fired concurrently, out of order and repeated', async () => {
    const job = await createJob();
    const events = await append(job, 20);
    const s = subscribe(job.id, 0);
    const shuffled = [...events].reverse().concat(events, [...events].reverse());
    await Promise.all(shuffled.map((e) => s.sub.live(e)));
    expect(s.seqs()).toEqual(events.map((e) => e.seq));
  });

  it('start() replays the stored events after `after`, then live ones follow', async () => {
    const job = await createJob();
    const events = await append(job, 5);
    const s = subscribe(job.id, 2);
    const started = s.sub.start();
    // Arrives while the replay is reading: it must wait its turn, not jump ahead or repeat.
    const [sixth] = await append(job, 1);
    const live = s.sub.live(sixth!);
    await Promise.all([started, live]);
    expect(s.seqs()).toEqual([3, 4, 5, 6]);
    expect(s.delivered.slice(0, 3)).toEqual(events.slice(2));
  });

  it('start() with after beyond the last event delivers nothing until newer events exist', async () => {
    const job = await createJob();
    await append(job, 3);
    const s = subscribe(job.id, 3);
    await s.sub.start();
    expect(s.seqs()).toEqual([]);
    const [fourth] = await append(job, 1);
    await s.sub.live(fourth!);
    expect(s.seqs()).toEqual([4]);
  });

  it('resync() picks up events that were never delivered live', async () => {
    const job = await createJob();
    const s = subscribe(job.id, 0);
    await s.sub.start();
    await append(job, 3);
    expect(s.seqs()).toEqual([]);
    await s.sub.resync();
    expect(s.seqs()).toEqual([1, 2, 3]);
  });

  it('replays more than one page of stored events', async () => {
    const job = await createJob();
    // One transaction keeps this fast; listJobEvents pages at 1000.
    await env.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 1005; i++) {
        await appendJobEvent(trx, job, { type: 'progress', progress: 50, stage: 'transcribing' });
      }
    });
    const s = subscribe(job.id, 0);
    await s.sub.start();
    expect(s.seqs()).toEqual(Array.from({ length: 1005 }, (_, i) => i + 1));
  });

  it('close() stops delivery, including in the middle of a replay', async () => {
    const job = await createJob();
    const events = await append(job, 5);
    const delivered: number[] = [];
    const sub: JobSubscription = new JobSubscription(
      job.id,
      0,
      (e) => {
        delivered.push(e.seq);
        if (e.seq === 2) sub.close();
      },
      (id, after) => listJobEvents(env.db, id, after),
    );
    await sub.start();
    expect(delivered).toEqual([1, 2]);

    await sub.live(at(events, 3));
    await sub.resync();
    await sub.start();
    await append(job, 1);
    await sub.resync();
    expect(delivered).toEqual([1, 2]);
  });

  it('reports a failed load and keeps serving afterwards', async () => {
    const job = await createJob();
    const events = await append(job, 3);
    const delivered: number[] = [];
    const errors: unknown[] = [];
    let failNext = true;
    const sub = new JobSubscription(
      job.id,
      0,
      (e) => delivered.push(e.seq),
      async (id, after) => {
        if (failNext) {
          failNext = false;
          throw new Error('connection reset');
        }
        return listJobEvents(env.db, id, after);
      },
      (e) => errors.push(e),
    );
    await sub.start();
    expect(errors).toHaveLength(1);
    expect(delivered).toEqual([]);
    await sub.live(at(events, 3));
    expect(delivered).toEqual([1, 2, 3]);
  });
});
