// The bounded scrape-time read behind the gateway's Postgres gauges, with reads the test
// answers, fails or leaves hanging: shared by concurrent callers, never longer than its
// bound, never a second read while one hangs, the last good value kept.
import { boundedSnapshot } from '../src/scrape-snapshot.js';

function controlledReads() {
  const pending: { resolve: (v: number) => void; reject: (e: Error) => void }[] = [];
  const read = () =>
    new Promise<number>((resolve, reject) => {
      pending.push({ resolve, reject });
    });
  return { read, pending };
}

it('gives concurrent callers one read, and reads again on the next call', async () => {
  const { read, pending } = controlledReads();
  const snapshot = boundedSnapshot(read, { timeoutMs: 5000, maxAgeMs: 0 });
  const calls = [snapshot(), snapshot(), snapshot()];
  expect(pending).toHaveLength(1);
  pending[0]!.resolve(7);
  for (const got of await Promise.all(calls)) expect(got).toMatchObject({ value: 7, fresh: true });
  const next = snapshot();
  expect(pending).toHaveLength(2);
  pending[1]!.resolve(8);
  expect(await next).toMatchObject({ value: 8, fresh: true });
});

it('answers within its bound with the last good value while a read hangs, without piling reads up', async () => {
  const { read, pending } = controlledReads();
  const snapshot = boundedSnapshot(read, { timeoutMs: 50, maxAgeMs: 0 });
  const first = snapshot();
  pending[0]!.resolve(1);
  expect(await first).toMatchObject({ value: 1, fresh: true });

  const started = Date.now();
  expect(await snapshot()).toMatchObject({ value: 1, fresh: false });
  expect(await snapshot()).toMatchObject({ value: 1, fresh: false });
  expect(Date.now() - started).toBeLessThan(1000);
  // The hanging read is the only one: later calls wait on it rather than start another.
  expect(pending).toHaveLength(2);
  pending[1]!.resolve(2);
  await new Promise((r) => setImmediate(r));
  const after = snapshot();
  expect(pending).toHaveLength(3);
  pending[2]!.resolve(3);
  expect(await after).toMatchObject({ value: 3, fresh: true });
});

it('reports a failed read as not fresh, with no value before any read succeeded', async () => {
  const { read, pending } = controlledReads();
  const snapshot = boundedSnapshot(read, { timeoutMs: 5000, maxAgeMs: 0 });
  const failed = snapshot();
  pending[0]!.reject(new Error('connection refused'));
  expect(await failed).toEqual({ value: undefined, fresh: false, readAt: undefined });
});

it('serves a recent answer again within maxAgeMs', async () => {
  const { read, pending } = controlledReads();
  let clock = 1000;
  const snapshot = boundedSnapshot(read, { timeoutMs: 5000, maxAgeMs: 500, now: () => clock });
  const first = snapshot();
  pending[0]!.resolve(1);
  await first;
  clock += 499;
  expect(await snapshot()).toMatchObject({ value: 1, readAt: 1000 });
  expect(pending).toHaveLength(1);
  clock += 1;
  const next = snapshot();
  expect(pending).toHaveLength(2);
  pending[1]!.resolve(2);
  expect(await next).toMatchObject({ value: 2 });
});
