// The wedge detector and bounded readiness checks, on the real event loop and real timers.
import { runReadyChecks, startLivenessMonitor } from '../src/index.js';
import { waitFor } from '../../testkit/src/wait-for.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function blockLoop(ms: number) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: the event loop cannot run anything
  }
}

describe('startLivenessMonitor', () => {
  it('reports a stalled event loop, then live again once it runs freely', async () => {
    const monitor = startLivenessMonitor({ stallMs: 300 });
    try {
      expect(monitor.check()).toEqual({ ok: true });
      blockLoop(600);
      const report = monitor.check();
      expect(report.ok).toBe(false);
      expect(!report.ok && report.reasons.join()).toMatch(/event loop stalled/);
      await waitFor(() => monitor.check().ok);
    } finally {
      monitor.stop();
    }
  });

  it('reports a pool with waiters and no progress past the bound, not a busy one', async () => {
    let waiting = 0;
    let progress = 0;
    // A bound well above timer jitter on a loaded machine.
    const monitor = startLivenessMonitor({
      stallMs: 500,
      pools: [{ name: 'db', waiting: () => waiting, progress: () => progress }],
    });
    try {
      waiting = 3;
      // Busy but moving: never wedged.
      const busyUntil = Date.now() + 1200;
      while (Date.now() < busyUntil) {
        progress++;
        await sleep(50);
        expect(monitor.check()).toEqual({ ok: true });
      }
      // Stuck: wedged once the bound has passed.
      await waitFor(() => !monitor.check().ok);
      const report = monitor.check();
      expect(!report.ok && report.reasons.join()).toMatch(/db pool: 3 callers waiting/);
      waiting = 0;
      await waitFor(() => monitor.check().ok);
    } finally {
      monitor.stop();
    }
  });
});

describe('runReadyChecks', () => {
  it('bounds each check: a hanging one times out, the others still report', async () => {
    // A check that never settles is ended by the bound: the report arriving at all, with
    // the hanging check timed out, is the proof (no wall-clock guess).
    const report = await runReadyChecks(
      {
        fine: () => Promise.resolve(),
        flag: () => true,
        down: () => false,
        broken: () => Promise.reject(new Error('connection refused')),
        hanging: () => new Promise(() => undefined),
      },
      200,
    );
    expect(report).toEqual({
      ok: false,
      checks: {
        fine: 'ok',
        flag: 'ok',
        down: 'failed',
        broken: 'connection refused',
        hanging: 'timed out after 200 ms',
      },
    });
  });
});
