// The notifier's ETA: the worker's own measured `etaS` when the progress event carries one
// (issue 16), the estimate from event timestamps only for events without.
import type { JobEvent } from '@transcribe/contracts';
import { EtaEstimator } from '../src/eta.js';

const jobId = '0191d7a6-0000-7000-8000-000000000001';
const tenantId = '0191d7a6-0000-7000-8000-000000000002';
const progress = (seq: number, atS: number, value: number, etaS?: number): JobEvent => ({
  v: 1,
  type: 'progress',
  jobId,
  tenantId,
  seq,
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, atS)).toISOString(),
  progress: value,
  stage: 'transcribing',
  ...(etaS !== undefined ? { etaS, attempt: 1 } : {}),
});

it("prefers the event's own etaS", () => {
  const eta = new EtaEstimator();
  expect(eta.observe(progress(1, 0, 10, 42))).toBe(42);
  expect(eta.observe(progress(2, 10, 20, 37.5))).toBe(37.5);
});

it('falls back to the rate of progress for events without one', () => {
  const eta = new EtaEstimator();
  expect(eta.observe(progress(1, 0, 10))).toBeUndefined();
  // 10 points in 10 s, 80 left.
  expect(eta.observe(progress(2, 10, 20))).toBe(80);
});
