// The fault suite's bookkeeping, without a stack: probe log parsing, the rules a row is
// judged by, the seeded soak plan and the resumed-stream comparison.
import { parseRuns, summarizeRuns } from '../src/chunk-run-probe.js';
import { ruleBreaks, type ScenarioResult } from '../src/fault-report.js';
import { planSoak } from '../src/soak.js';
import { streamMismatch, type ResumedStream } from '../src/ws-resume.js';

const clean: ScenarioResult = {
  scenario: 's',
  accepted: 3,
  completed: 2,
  failed: 1,
  stuck: 0,
  duplicates: 0,
  concurrentChunkRuns: 0,
  kills: 1,
  restarts: 0,
  recoveryMs: 1000,
  wallMs: 5000,
  problems: [],
  notes: [],
};

it('reads the probe log and counts concurrent runs and reruns in a window', () => {
  const runs = parseRuns(
    [
      'start 1000 aaaa 11 1 0',
      'start 1500 aaaa 12 2 1',
      'garbage',
      'start 3000 bbbb 13 1 0',
      'start 4000 aaaa 14 3 0',
    ].join('\n'),
  );
  expect(runs).toHaveLength(4);
  expect(runs[1]).toEqual({ at: 1500, key: 'aaaa', pid: 12, workerPid: 2, concurrent: true });
  expect(summarizeRuns(runs)).toMatchObject({ runs: 4, reruns: 2 });
  expect(summarizeRuns(runs).concurrent.map((r) => r.pid)).toEqual([12]);
  // A run before the window still makes a later one a rerun.
  expect(summarizeRuns(runs, 2000)).toMatchObject({ runs: 2, reruns: 1, concurrent: [] });
});

it('judges a row by its counts', () => {
  expect(ruleBreaks(clean)).toEqual([]);
  expect(ruleBreaks({ ...clean, completed: 1 })).toEqual([
    'accepted 3 ≠ completed 1 + failed-with-reason 1 + stuck 0',
  ]);
  expect(ruleBreaks({ ...clean, completed: 1, stuck: 1 })).toEqual(['1 job(s) stuck']);
  expect(ruleBreaks({ ...clean, concurrentChunkRuns: 2, restarts: 1, recoveryMs: null })).toEqual([
    '2 concurrent chunk run(s)',
    '1 service crash(es) (restarted by the harness)',
    'no job completed after the fault',
  ]);
});

it('plans the same soak for the same seed, and another for another', () => {
  expect(planSoak(20, 7)).toEqual(planSoak(20, 7));
  expect(planSoak(20, 7)).not.toEqual(planSoak(20, 8));
  for (const { action, pauseMs } of planSoak(50, 1)) {
    expect(pauseMs).toBeGreaterThanOrEqual(3000);
    if (action.kind === 'blip') expect(action.ms).toBeLessThanOrEqual(8000);
  }
});

it('compares a resumed stream with the stored events, duplicates dropped', () => {
  const event = (seq: number, type: 'queued' | 'processing' | 'completed') =>
    ({ seq, type }) as ResumedStream['received'][number];
  const stored = [
    { seq: 1, type: 'queued' },
    { seq: 2, type: 'processing' },
    { seq: 3, type: 'completed' },
  ];
  const stream = (seqs: [number, 'queued' | 'processing' | 'completed'][]): ResumedStream => ({
    received: seqs.map(([s, t]) => event(s, t)),
    duplicates: 0,
    gaps: 0,
    reconnects: 0,
  });
  expect(
    streamMismatch(
      stream([
        [1, 'queued'],
        [2, 'processing'],
        [2, 'processing'],
        [3, 'completed'],
      ]),
      stored,
    ),
  ).toBeUndefined();
  expect(
    streamMismatch(
      stream([
        [1, 'queued'],
        [3, 'completed'],
      ]),
      stored,
    ),
  ).toBe('client saw [1:queued 3:completed], stored [1:queued 2:processing 3:completed]');
});
