// The failed-API-key throttle on its own, with its clock as an argument: per address and per
// key prefix, refilled evenly over a minute, bounded in memory.
import { createAuthThrottle } from '../src/auth-throttle.js';

function throttle(perMinute: number, maxEntries?: number) {
  let t = 1_000_000;
  const th = createAuthThrottle({ perMinute, maxEntries, now: () => t });
  return { th, advance: (ms: number) => (t += ms) };
}

it('blocks an address after its failures, whatever keys it tries', () => {
  const { th } = throttle(3);
  for (let i = 0; i < 3; i++) {
    expect(th.blockedFor('10.0.0.1', `tk_${i}aaaa`)).toBeUndefined();
    th.failed('10.0.0.1', `tk_${i}aaaa`);
  }
  expect(th.blockedFor('10.0.0.1', 'tk_9aaaa')).toBeGreaterThanOrEqual(1);
  expect(th.blockedFor('10.0.0.2', 'tk_9aaaa')).toBeUndefined();
});

it('blocks a key prefix after its failures, from however many addresses', () => {
  const { th } = throttle(3);
  for (let i = 0; i < 3; i++) th.failed(`10.0.1.${i}`, 'tk_Abcde');
  expect(th.blockedFor('10.9.9.9', 'tk_Abcde')).toBeGreaterThanOrEqual(1);
  expect(th.blockedFor('10.9.9.9', 'tk_Other')).toBeUndefined();
});

it('refills evenly: one more attempt every 60/perMinute seconds, and says how long to wait', () => {
  const { th, advance } = throttle(6);
  for (let i = 0; i < 6; i++) th.failed('a', undefined);
  expect(th.blockedFor('a', undefined)).toBe(10);
  advance(9_000);
  expect(th.blockedFor('a', undefined)).toBe(1);
  advance(1_000);
  expect(th.blockedFor('a', undefined)).toBeUndefined();
});

it('forgets the least recently seen entries past its bound', () => {
  const { th } = throttle(1, 100);
  th.failed('first', undefined);
  expect(th.blockedFor('first', undefined)).toBeDefined();
  for (let i = 0; i < 100; i++) th.failed(`other-${i}`, undefined);
  expect(th.blockedFor('first', undefined)).toBeUndefined();
});
