// Progress pacing on jest's fake clock: no services, no sleeps.
import { throttleProgress } from '../src/progress-throttle.js';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

function recorder() {
  const written: { at: number; progress: number; stage: string }[] = [];
  const throttle = throttleProgress<string>({
    minIntervalMs: 500,
    now: () => Date.now(),
    write: async (progress, stage) => {
      written.push({ at: Date.now(), progress, stage });
    },
  });
  return { written, throttle };
}

it('writes at most one report per 500 ms, keeping every stage and its last value', async () => {
  const { written, throttle } = recorder();
  const start = Date.now();
  // The first stages change within milliseconds; decoding then reports every 100 ms.
  throttle.report(0, 'downloading');
  throttle.report(3, 'probing');
  throttle.report(4, 'normalizing');
  for (let i = 1; i <= 30; i++) {
    await jest.advanceTimersByTimeAsync(100);
    throttle.report(4 + (5 * i) / 30, 'normalizing');
  }
  throttle.report(9, 'splitting');
  throttle.report(10, 'transcribing');
  // Long enough for everything pending to go out at its pace.
  await jest.advanceTimersByTimeAsync(5_000);

  expect(written.map((w) => w.stage)).toEqual([
    'downloading',
    'probing',
    ...written.slice(2, -2).map(() => 'normalizing'),
    'splitting',
    'transcribing',
  ]);
  // Decoding's 100 % (9) was written, and nothing came closer than 500 ms to the last.
  expect(written.filter((w) => w.stage === 'normalizing').at(-1)!.progress).toBe(9);
  for (let i = 1; i < written.length; i++) {
    expect(written[i]!.at - written[i - 1]!.at).toBeGreaterThanOrEqual(500);
  }
  // 3.2 s of reports at 2/s at most: no more than 9 writes, though 35 reports came in.
  expect(written.length).toBeLessThanOrEqual(Math.ceil((Date.now() - start) / 500) + 1);
  expect(written.length).toBeLessThan(12);
});

it('stop drops what is pending and resolves after the write in flight', async () => {
  const { written, throttle } = recorder();
  throttle.report(0, 'downloading');
  throttle.report(3, 'probing');
  throttle.report(4, 'normalizing');
  await throttle.stop();
  await jest.advanceTimersByTimeAsync(2_000);
  expect(written.map((w) => w.stage)).toEqual(['downloading']);
  throttle.report(50, 'transcribing');
  await jest.advanceTimersByTimeAsync(2_000);
  expect(written).toHaveLength(1);
});

it('finish writes what is pending at once, in order, and nothing after', async () => {
  const { written, throttle } = recorder();
  throttle.report(0, 'downloading');
  throttle.report(3, 'probing');
  throttle.report(97, 'transcribing');
  throttle.report(98, 'transcribing');
  // No clock advance: nothing waits for its 500 ms slot.
  await throttle.finish();
  expect(written.map((w) => [w.stage, w.progress])).toEqual([
    ['downloading', 0],
    ['probing', 3],
    ['transcribing', 98],
  ]);
  throttle.report(99, 'transcribing');
  await jest.advanceTimersByTimeAsync(2_000);
  expect(written).toHaveLength(3);
});

it('counts the interval from the end of a slow write, so stamps inside writes stay 500 ms apart', async () => {
  // Each write stamps its time at a varying point inside it, as an event row does after
  // waiting for the job's lock: 300 ms late, then 0, then 300 again.
  const stamps: number[] = [];
  const delays = [300, 0, 300, 0, 300, 0];
  const throttle = throttleProgress<string>({
    minIntervalMs: 500,
    now: () => Date.now(),
    write: async () => {
      await new Promise((resolve) => setTimeout(resolve, delays[stamps.length] ?? 0));
      stamps.push(Date.now());
    },
  });
  for (let i = 0; i < 30; i++) {
    throttle.report(i, i % 2 ? 'a' : 'b');
    await jest.advanceTimersByTimeAsync(100);
  }
  await jest.advanceTimersByTimeAsync(10_000);
  expect(stamps.length).toBeGreaterThanOrEqual(delays.length);
  for (let i = 1; i < stamps.length; i++) {
    expect(stamps[i]! - stamps[i - 1]!).toBeGreaterThanOrEqual(500);
  }
});
