// Issue 17's "done when", on a running stack (built gateway, notifier and a worker as
// processes, pocketsphinx on real speech, SCHEDULER=fair): tenant A floods the queue, then
// tenant B submits one job. B's job starts before every A job still queued when B
// submitted, and B waits at most about one of A's jobs (the one running when it came).
import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import {
  audioFixture,
  createTestEnv,
  seedTenant,
  startStack,
  submitRecording,
  waitFor,
  type SeededTenant,
  type Stack,
  type TestEnv,
} from '../../../packages/testkit/src/index.js';

const N = 6;
let env: TestEnv;
let stack: Stack;
let a: SeededTenant;
let b: SeededTenant;

beforeAll(async () => {
  env = await createTestEnv();
  a = await seedTenant(env.db, 'tenant-flood');
  b = await seedTenant(env.db, 'tenant-small');
  // One worker taking one job at a time: every wait is a wait for the queue.
  stack = await startStack({
    env: { ...env.env, SCHEDULER: 'fair', WORKER_CONCURRENCY: '1' },
    workers: 1,
  });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await env?.close();
});

const submit = (tenant: SeededTenant, audio: Buffer) =>
  submitRecording(stack.gatewayUrl, tenant.apiKey, {
    bytes: audio,
    name: 'jfk.wav',
    type: 'audio/wav',
  });

const rows = () =>
  env.db
    .selectFrom('jobs')
    .select(['id', 'tenant_id', 'status', 'created_at', 'started_at', 'finished_at'])
    .execute();

test('a small tenant behind a flood waits for at most one of the flood’s jobs', async () => {
  const audio = await readFile(audioFixture('jfk.wav'));
  const flood: string[] = [];
  for (let i = 0; i < N; i++) flood.push(await submit(a, audio));
  // B comes once A's first job is running.
  await waitFor(async () => (await rows()).some((r) => r.status === 'processing'), {
    timeoutMs: 120_000,
  });
  const bJob = await submit(b, audio);
  // B's job is committed by now. A claim whose transaction starts later (its started_at is
  // that transaction's now(), same host clock) ranks with B's job in view, so every A job
  // started after this instant must come after B. One whose claim was already under way
  // when B committed (A's first job ending just then, on a loaded machine) may not.
  const bCommittedBy = Date.now();
  await waitFor(
    async () => (await rows()).every((r) => r.status === 'completed' || r.status === 'failed'),
    { timeoutMs: 300_000, intervalMs: 500 },
  );
  const all = await rows();
  expect(all.every((r) => r.status === 'completed')).toBe(true);
  const bRow = all.find((r) => r.id === bJob)!;
  const aRows = all.filter((r) => r.tenant_id === a.id);
  const durationsMs = aRows.map((r) => r.finished_at!.getTime() - r.started_at!.getTime());
  const bWaitMs = bRow.started_at!.getTime() - bRow.created_at.getTime();
  const afterB = aRows.filter((r) => r.started_at!.getTime() > bCommittedBy);
  // At most one A job can start while B waits, and only one whose claim was under way as
  // B committed: then B also waits for it, so its bound is two of A's jobs, not one.
  const overtook = aRows.filter(
    (r) =>
      r.started_at!.getTime() > bRow.created_at.getTime() &&
      r.started_at!.getTime() < bRow.started_at!.getTime(),
  );
  const at = (d: Date | null) => (d ? d.getTime() - bCommittedBy : null);
  console.log(
    `fair stack: N=${N} jobs of tenant A (${afterB.length} claimed after B was in, ` +
      `${overtook.length} started while B waited); A durations ms ${JSON.stringify(durationsMs)}; ` +
      `B waited ${bWaitMs} ms; ms from B's commit [created, started, finished]: ` +
      JSON.stringify(
        [...aRows, bRow].map((r) => [
          r.id === bJob ? 'B' : 'A',
          at(r.created_at),
          at(r.started_at),
          at(r.finished_at),
        ]),
      ),
  );
  expect(afterB.length).toBeGreaterThanOrEqual(N - 2);
  for (const r of afterB) {
    expect(bRow.started_at!.getTime()).toBeLessThan(r.started_at!.getTime());
  }
  expect(overtook.length).toBeLessThanOrEqual(1);
  expect(bWaitMs).toBeLessThanOrEqual((1 + overtook.length) * Math.max(...durationsMs));
  // The round-robin mark was kept.
  const served = await sql<{ n: string }>`
    SELECT count(*) AS n FROM tenants WHERE last_served_at IS NOT NULL`.execute(env.db);
  expect(Number(served.rows[0]!.n)).toBe(2);
});
