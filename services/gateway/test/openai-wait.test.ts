// How `POST /v1/audio/transcriptions` learns that its job ended, on real Postgres, RabbitMQ
// and S3 with no worker: the test finishes the job itself. Completion is pushed through the
// events exchange; a missed event is caught by the re-read on (re)subscription; past
// SYNC_WAIT_S the answer is 202 with the job.
import { listJobs } from '@transcribe/db';
import { createRegistry } from '@transcribe/telemetry';
import { claimAttempt, markCompleted } from '@transcribe/jobs';
import { waitFor } from '../../../packages/testkit/src/index.js';
import { createJobEventFeed } from '../src/job-event-feed.js';
import { startGatewayHarness, type GatewayHarness } from './support/harness.js';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGatewayHarness();
}, 60_000);
afterAll(async () => {
  await h?.close();
});

function transcribe(base: string): Promise<Response> {
  const form = new FormData();
  form.set('model', 'whisper-1');
  form.set('file', new Blob([h.jfk], { type: 'audio/wav' }), 'jfk.wav');
  return fetch(`${base}/v1/audio/transcriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.keyA}` },
    body: form,
  });
}

/** The job the request made, once it is in Postgres. */
async function queuedJob(seen: Set<string>): Promise<string> {
  const id = await waitFor(
    async () =>
      (await listJobs(h.env.db, { tenantId: h.tenantA, limit: 50 })).find((j) => !seen.has(j.id))
        ?.id,
    { what: 'the job of the request' },
  );
  seen.add(id);
  return id;
}

async function complete(id: string): Promise<void> {
  const claimed = await claimAttempt(h.env.db, id, { leaseMs: 60_000 });
  // Through the lifecycle: the row, its `completed` event and the event's outbox row.
  await markCompleted(h.env.db, claimed!, {
    text: 'ask not',
    segments: [{ start: 0, end: 1, text: 'ask not' }],
    durationS: 1,
    processingMs: 5,
    model: null,
  });
}

const seen = new Set<string>();

test('the completion event, pushed through the events exchange, answers the request', async () => {
  const events = createJobEventFeed(h.deps.logger);
  await h.broker.consumeAllEvents(events.onBrokerEvent, events.onSubscribed);
  const base = await h.listen({
    ...h.deps,
    registry: createRegistry('gateway'),
    jobEvents: events.feed,
  });
  const answer = transcribe(base);
  const id = await queuedJob(seen);
  await complete(id);
  const completedAt = Date.now();
  h.relay.kick();
  const res = await answer;
  expect(res.status).toBe(200);
  expect(res.headers.get('x-transcribe-job-id')).toBe(id);
  expect(await res.json()).toEqual({ text: 'ask not', usage: { type: 'duration', seconds: 1 } });
  // Pushed, not found by the 15 s safety re-read (generous: the machine is shared).
  expect(Date.now() - completedAt).toBeLessThan(10_000);
});

test('an event missed while unsubscribed is caught by the re-read on resubscription', async () => {
  // A feed that never hears the broker: only its onSubscribed (a reconnect) can wake it.
  const events = createJobEventFeed(h.deps.logger);
  const base = await h.listen({
    ...h.deps,
    registry: createRegistry('gateway'),
    jobEvents: events.feed,
  });
  const answer = transcribe(base);
  const id = await queuedJob(seen);
  await complete(id);
  const resubscribedAt = Date.now();
  events.onSubscribed();
  const res = await answer;
  expect(res.status).toBe(200);
  expect(Date.now() - resubscribedAt).toBeLessThan(10_000);
});

test('past SYNC_WAIT_S: 202 with the job and where to follow it', async () => {
  const events = createJobEventFeed(h.deps.logger);
  const base = await h.listen({
    ...h.deps,
    registry: createRegistry('gateway'),
    jobEvents: events.feed,
    settings: { ...h.deps.settings, syncWaitS: 1 },
  });
  const res = await transcribe(base);
  expect(res.status).toBe(202);
  const body = (await res.json()) as { id: string; status: string; links: { self: string } };
  seen.add(body.id);
  expect(body).toMatchObject({
    status: 'queued',
    links: { self: expect.stringContaining(body.id) },
  });
  expect(res.headers.get('location')).toBe(body.links.self);
});
