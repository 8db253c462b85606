// The transition table on its own, no database: every state and event accounted for,
// finished jobs only leave through a manual retry, and every job can end.
import { JobStatus, TERMINAL_STATUSES } from '@transcribe/contracts';
import {
  INITIAL_STATE,
  LIFECYCLE_EVENTS,
  TRANSITIONS,
  nextState,
  sourcesOf,
  type LifecycleEvent,
} from '../src/lifecycle.js';

const STATES = JobStatus.options;
const edges = STATES.flatMap((from) =>
  LIFECYCLE_EVENTS.flatMap((event) => {
    const to = nextState(from, event);
    return to ? [{ from, event, to }] : [];
  }),
);

function reachableFrom(start: JobStatus): Set<JobStatus> {
  const seen = new Set<JobStatus>([start]);
  for (let grew = true; grew;) {
    grew = false;
    for (const { from, to } of edges) {
      if (seen.has(from) && !seen.has(to)) {
        seen.add(to);
        grew = true;
      }
    }
  }
  return seen;
}

it('has a row for every job state, and only known events leading to known states', () => {
  expect(Object.keys(TRANSITIONS).sort()).toEqual([...STATES].sort());
  for (const [, row] of Object.entries(TRANSITIONS)) {
    for (const [event, to] of Object.entries(row)) {
      expect(LIFECYCLE_EVENTS).toContain(event as LifecycleEvent);
      expect(STATES).toContain(to);
    }
  }
});

it('uses every event somewhere', () => {
  for (const event of LIFECYCLE_EVENTS) expect(sourcesOf(event).length).toBeGreaterThan(0);
});

it('lets finished jobs out only through a manual retry, and completed ones not at all', () => {
  expect(Object.keys(TRANSITIONS.completed)).toEqual([]);
  for (const state of TERMINAL_STATUSES) {
    for (const { event, to } of edges.filter((e) => e.from === state)) {
      expect([event, to]).toEqual(['retry', 'queued']);
    }
  }
  expect(sourcesOf('retry').sort()).toEqual(['canceled', 'failed']);
});

it('starts every job queued, reaches every state from there, and can end from anywhere', () => {
  expect(INITIAL_STATE).toBe('queued');
  expect([...reachableFrom(INITIAL_STATE)].sort()).toEqual([...STATES].sort());
  for (const state of STATES) {
    const ends = [...reachableFrom(state)].filter((s) => TERMINAL_STATUSES.includes(s));
    expect(ends.length).toBeGreaterThan(0);
  }
});

it('only cancels unfinished jobs and only settles processing ones', () => {
  expect(sourcesOf('cancel').sort()).toEqual(['processing', 'queued']);
  for (const event of [
    'complete',
    'fail',
    'dead_letter',
    'requeue',
    'hand_over',
    'expire',
  ] as const) {
    expect(sourcesOf(event)).toEqual(['processing']);
  }
});

it('refuses pairs the table does not list', () => {
  expect(nextState('completed', 'cancel')).toBeUndefined();
  expect(nextState('queued', 'complete')).toBeUndefined();
  expect(nextState('failed', 'claim')).toBeUndefined();
  expect(nextState('processing', 'retry')).toBeUndefined();
});
