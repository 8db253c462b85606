// The tenant stream's order on a real Postgres: an event whose transaction is still open
// holds back every event written after that transaction started, so a client's cursor never
// passes an event that commits late (a bigserial id alone would allow exactly that).
import {
  TenantServerFrame,
  type JobEvent,
  type TenantServerFrame as Frame,
} from '@transcribe/contracts';
import { appendJobEvent, currentTenantCursor, listTenantEvents } from '@transcribe/db';
import { createTestEnv, type TestEnv } from '../../../packages/testkit/src/index.js';
import { Harness, waitFor, type Job, type Tenant } from './support/harness.js';

let env: TestEnv;
let h: Harness;
let tenant: Tenant;

beforeAll(async () => {
  env = await createTestEnv();
  h = new Harness(env);
  await h.start();
  tenant = await h.createTenant();
});

afterAll(async () => {
  await h?.stop();
  await env?.close();
});

/** Appends an event in a transaction that stays open until the returned commit() is called. */
async function openTransaction(job: Job, progress: number) {
  let commit!: () => void;
  const gate = new Promise<void>((resolve) => (commit = resolve));
  let written!: () => void;
  const wrote = new Promise<void>((resolve) => (written = resolve));
  const done = env.db.transaction().execute(async (trx) => {
    await appendJobEvent(trx, job, { type: 'progress', progress, stage: 'held' });
    written();
    await gate;
  });
  await wrote;
  return {
    commit: async () => {
      commit();
      await done;
    },
  };
}

it('holds back events behind a still-open transaction, then returns both in commit-safe order', async () => {
  const [early, late] = [await h.createJob(tenant), await h.createJob(tenant)];
  const start = await currentTenantCursor(env.db);
  const held = await openTransaction(early, 10); // smaller id, commits last
  await h.progress(late, 20); // committed now

  const before = await listTenantEvents(env.db, tenant.id, start);
  expect(before.events).toEqual([]);
  expect(before.pending).toBe(true);

  await held.commit();
  // Writing transactions of other databases on this server count too (xids are server-wide),
  // and parallel test files run some: wait for the horizon to pass rather than assume it.
  let after = await listTenantEvents(env.db, tenant.id, start);
  for (let i = 0; i < 200 && (after.pending || after.events.length < 2); i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    after = await listTenantEvents(env.db, tenant.id, start);
  }
  expect(after.pending).toBe(false);
  expect(after.events.map((e) => [e.event.jobId, e.event.seq])).toEqual([
    [early.id, 1],
    [late.id, 1],
  ]);
  // Nothing is left behind the last cursor.
  const rest = await listTenantEvents(env.db, tenant.id, after.events.at(-1)!.cursor);
  expect(rest.events).toEqual([]);
});

it('a tenant-stream client sees a late-committing event before the ones written after it', async () => {
  const notifier = await h.startNotifier();
  const [early, late] = [await h.createJob(tenant), await h.createJob(tenant)];
  const socket = h.socket(notifier.tenantUrl(), {
    headers: { authorization: `Bearer ${tenant.apiKey}` },
  });
  const frames: Frame[] = [];
  socket.on('message', (data) => frames.push(TenantServerFrame.parse(JSON.parse(String(data)))));
  await waitFor(() => frames.length === 1, { what: 'ready frame' });

  const held = await openTransaction(early, 10);
  await h.progress(late, 20);
  await h.progress(late, 30);
  // The live events of `late` arrive, but may not overtake the open transaction.
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(frames.filter((f) => f.kind === 'event')).toEqual([]);

  await held.commit();
  h.relayKick();
  await waitFor(() => frames.length === 4, { what: 'three events' });
  const events = frames.flatMap((f) => (f.kind === 'event' ? [f.event] : [])) as JobEvent[];
  expect(events.map((e) => [e.jobId === early.id ? 'early' : 'late', e.seq])).toEqual([
    ['early', 1],
    ['late', 1],
    ['late', 2],
  ]);
  socket.close();
  await notifier.stop();
});
