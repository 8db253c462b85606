// Resuming from a point that no longer exists, on real Postgres and RabbitMQ: a job deleted
// since (as retention deletes it: its row, cascading to its events), a tenant cursor from
// before events that were deleted since. Either way the stream says so with a typed
// discontinuity frame (WebSocket) / event (SSE), never a silent gap.
import {
  CloseCode,
  DiscontinuityFrame,
  ServerFrame,
  TenantServerFrame,
  type JobEvent,
} from '@transcribe/contracts';
import { findTenantEventHorizon } from '@transcribe/db';
import { createTestEnv, type TestEnv } from '../../../packages/testkit/src/index.js';
import { Harness, waitFor, type RunningNotifier, type Tenant } from './support/harness.js';

let env: TestEnv;
let h: Harness;
let notifier: RunningNotifier;
let tenant: Tenant;

beforeAll(async () => {
  env = await createTestEnv();
  h = new Harness(env);
  await h.start();
  notifier = await h.startNotifier();
  tenant = await h.createTenant();
});

afterAll(async () => {
  await h?.stop();
  await env?.close();
});

const bearer = () => ({ authorization: `Bearer ${tenant.apiKey}` });

/** Every frame of a WebSocket stream (validated as a tenant stream's, a superset), and its close. */
function collect(url: string) {
  const socket = h.socket(url, { headers: bearer() });
  const frames: TenantServerFrame[] = [];
  socket.on('message', (data) => frames.push(TenantServerFrame.parse(JSON.parse(String(data)))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const events = () => frames.flatMap((f) => (f.kind === 'event' ? [f] : []));
  return { socket, frames, events, closed };
}

/** An SSE stream read to its end (or `untilCount` events), as `{id, type, data}`. */
async function readSse(url: string, untilCount = Infinity) {
  const controller = new AbortController();
  const res = await fetch(url, { headers: bearer(), signal: controller.signal });
  const events: { id?: string; type: string; data: unknown }[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (events.length < untilCount) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.startsWith(':')) continue;
      const fields = Object.fromEntries(
        block
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
      );
      events.push({ id: fields.id, type: fields.event!, data: JSON.parse(fields.data!) });
    }
  }
  controller.abort();
  return { status: res.status, events };
}

/** Deletes a job as the retention sweep does (its row; events, chunks go with it). */
const deleteJob = (jobId: string) => env.db.deleteFrom('jobs').where('id', '=', jobId).execute();

describe('one-job streams', () => {
  it('a resume of a deleted job gets a job_deleted discontinuity frame, then 4404', async () => {
    const job = await h.createJob(tenant);
    await h.append(job, { type: 'queued' }, { type: 'processing', attempt: 1 });
    const first = await h.follow(notifier.eventsUrl(job.id), { headers: bearer(), stopAfter: 2 })
      .finished;
    expect(first.seqs).toEqual([1, 2]);
    await deleteJob(job.id);

    const resumed = collect(notifier.eventsUrl(job.id, { after: 2 }));
    expect(await resumed.closed).toMatchObject({ code: CloseCode.NotFound });
    expect(resumed.frames).toHaveLength(1);
    const frame = DiscontinuityFrame.parse(ServerFrame.parse(resumed.frames[0]));
    expect(frame).toMatchObject({ reason: 'job_deleted', jobId: job.id, after: 2 });
    expect(frame.message).toMatch(/no longer exists/);
  });

  it('a live subscriber of a job that is deleted gets job_deleted at its position, then 4404', async () => {
    const job = await h.createJob(tenant);
    await h.append(job, { type: 'queued' }, { type: 'completed', durationS: 1, processingMs: 5 });
    const watching = collect(notifier.eventsUrl(job.id));
    await waitFor(() => watching.events().length === 2);
    await deleteJob(job.id);
    expect(await watching.closed).toMatchObject({ code: CloseCode.NotFound });
    const frame = DiscontinuityFrame.parse(ServerFrame.parse(watching.frames.at(-1)));
    expect(frame).toMatchObject({ reason: 'job_deleted', jobId: job.id, after: 2 });
  });

  it('a job head kept for later admissions is dropped when the job is deleted', async () => {
    // Kept for a minute: only the deletion's announcement can make the next resume see it.
    const keeping = await h.startNotifier({ headKeepMs: 60_000 });
    const job = await h.createJob(tenant);
    await h.append(job, { type: 'queued' }, { type: 'processing', attempt: 1 });
    const first = collect(keeping.eventsUrl(job.id, { after: 2 }));
    await waitFor(() => keeping.notifier.hub.size === 1);
    await deleteJob(job.id);
    expect(await first.closed).toMatchObject({ code: CloseCode.NotFound });

    const resumed = collect(keeping.eventsUrl(job.id, { after: 2 }));
    expect(await resumed.closed).toMatchObject({ code: CloseCode.NotFound });
    expect(DiscontinuityFrame.parse(ServerFrame.parse(resumed.frames[0]))).toMatchObject({
      reason: 'job_deleted',
      after: 2,
    });
  });

  it('a fresh subscription (after=0) to a missing job is still a plain 4404', async () => {
    const job = await h.createJob(tenant);
    await deleteJob(job.id);
    const fresh = collect(notifier.eventsUrl(job.id));
    expect(await fresh.closed).toMatchObject({ code: CloseCode.NotFound });
    expect(fresh.frames).toHaveLength(0);
  });

  it('over SSE: event "discontinuity", then the close event with 4404', async () => {
    const job = await h.createJob(tenant);
    await h.append(job, { type: 'queued' });
    await deleteJob(job.id);
    const got = await readSse(notifier.sseUrl({ jobId: job.id, after: 1 }));
    expect(got.status).toBe(200);
    expect(got.events.map((e) => e.type)).toEqual(['discontinuity', 'close']);
    expect(DiscontinuityFrame.parse(got.events[0]!.data)).toMatchObject({
      reason: 'job_deleted',
      jobId: job.id,
      after: 1,
    });
    expect(got.events[0]!.id).toBe('1');
    expect(got.events[1]!.data).toMatchObject({ code: CloseCode.NotFound });
  });
});

describe('tenant streams', () => {
  /**
   * Four events in four transactions — kept (k1), gone (g1, g2: a job that retention then
   * deletes), kept (k2) — seen live by a first connection; their cursors, and the ready
   * cursor from before all of them.
   */
  async function history() {
    const live = collect(notifier.tenantUrl());
    await waitFor(() => live.frames[0]?.kind === 'ready', { what: 'ready frame' });
    const ready = live.frames[0]!.kind === 'ready' ? live.frames[0]!.cursor : '';
    const kept = await h.createJob(tenant);
    const gone = await h.createJob(tenant);
    await h.append(kept, { type: 'queued' });
    await h.append(gone, { type: 'queued' });
    await h.append(gone, { type: 'canceled' });
    await h.append(kept, { type: 'processing', attempt: 1 });
    await waitFor(() => live.events().length === 4, { what: 'four live events' });
    live.socket.close();
    const cursors = live.events().map((f) => f.cursor!);
    await deleteJob(gone.id);
    return { ready, cursors, kept, gone };
  }

  it('a cursor from before deleted events gets events_deleted, then every event that remains', async () => {
    const { ready, cursors, kept } = await history();
    const horizon = await findTenantEventHorizon(env.db, tenant.id);
    expect(horizon && `${horizon.tx}-${horizon.id}`).toBe(cursors[2]);

    for (const after of [ready, cursors[0]!, cursors[1]!]) {
      const resumed = collect(notifier.tenantUrl({ after }));
      await waitFor(() => resumed.frames.length >= 2, { what: 'frames after the resume' });
      const [first, ...rest] = resumed.frames;
      expect(DiscontinuityFrame.parse(first)).toMatchObject({
        reason: 'events_deleted',
        after,
        through: cursors[2],
      });
      const remaining = rest.flatMap((f) => (f.kind === 'event' ? [f.event] : []));
      const expected = after === ready ? [1, 2] : [2];
      expect(remaining.map((e: JobEvent) => [e.jobId, e.seq])).toEqual(
        expected.map((seq) => [kept.id, seq]),
      );
      resumed.socket.close();
    }
  });

  it('a cursor at or past every deleted event resumes without a discontinuity', async () => {
    const { cursors, kept } = await history();
    const resumed = collect(notifier.tenantUrl({ after: cursors[2]! }));
    await waitFor(() => resumed.frames.length >= 1, { what: 'the remaining event' });
    expect(resumed.frames.map((f) => f.kind)).toEqual(['event']);
    expect(resumed.events()[0]!.event).toMatchObject({ jobId: kept.id, seq: 2 });
    resumed.socket.close();
  });

  it('over SSE: event "discontinuity" first, its id the cursor asked for', async () => {
    const { cursors } = await history();
    const got = await readSse(notifier.sseUrl({ after: cursors[0]! }), 2);
    expect(got.events.map((e) => e.type)).toEqual(['discontinuity', 'processing']);
    expect(got.events[0]!.id).toBe(cursors[0]);
    expect(DiscontinuityFrame.parse(got.events[0]!.data)).toMatchObject({
      reason: 'events_deleted',
      through: cursors[2],
    });
  });
});
