// The per-origin circuit breaker's state machine on a fake clock (the end-to-end test with
// real receivers is webhook-breaker.test.ts).
import { CircuitBreaker, originOf } from '../src/webhooks/circuit-breaker.js';

function breaker(threshold = 3) {
  let now = 0;
  const b = new CircuitBreaker(
    { threshold, cooldownMs: 10_000, probeWaitMs: 2000 },
    () => now,
    () => 0,
  );
  return { b, advance: (ms: number) => (now += ms) };
}

describe('CircuitBreaker', () => {
  it('opens after `threshold` consecutive failures, then defers until the cooldown ends', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 2; i++) b.record('http://a', 'unhealthy', false);
    expect(b.admit('http://a')).toEqual({ go: true, probe: false });
    b.record('http://a', 'unhealthy', false);
    expect(b.state('http://a')).toBe('open');
    expect(b.admit('http://a')).toEqual({ go: false, retryInMs: 10_000 });
    advance(4000);
    expect(b.admit('http://a')).toEqual({ go: false, retryInMs: 6000 });
    // Other origins are not affected.
    expect(b.admit('http://b')).toEqual({ go: true, probe: false });
  });

  it('lets one probe through after the cooldown; others wait for it', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.record('http://a', 'unhealthy', false);
    advance(10_000);
    expect(b.admit('http://a')).toEqual({ go: true, probe: true });
    expect(b.state('http://a')).toBe('half-open');
    expect(b.admit('http://a')).toEqual({ go: false, retryInMs: 2000 });
  });

  it('closes on a successful probe', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.record('http://a', 'unhealthy', false);
    advance(10_000);
    b.admit('http://a');
    b.record('http://a', 'healthy', true);
    expect(b.state('http://a')).toBe('closed');
    expect(b.admit('http://a')).toEqual({ go: true, probe: false });
  });

  it('reopens for another cooldown on a failed probe', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.record('http://a', 'unhealthy', false);
    advance(10_000);
    b.admit('http://a');
    b.record('http://a', 'unhealthy', true);
    expect(b.state('http://a')).toBe('open');
    expect(b.admit('http://a')).toEqual({ go: false, retryInMs: 10_000 });
  });

  it('frees the probe slot when the probe was never sent', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.record('http://a', 'unhealthy', false);
    advance(10_000);
    b.admit('http://a');
    b.record('http://a', 'unsent', true);
    expect(b.admit('http://a')).toEqual({ go: true, probe: true });
  });

  it('counts consecutive failures only: an answer resets the count', () => {
    const { b } = breaker();
    b.record('http://a', 'unhealthy', false);
    b.record('http://a', 'unhealthy', false);
    b.record('http://a', 'healthy', false);
    b.record('http://a', 'unhealthy', false);
    expect(b.state('http://a')).toBe('closed');
  });

  it('never opens with threshold 0', () => {
    const { b } = breaker(0);
    for (let i = 0; i < 10; i++) b.record('http://a', 'unhealthy', false);
    expect(b.admit('http://a')).toEqual({ go: true, probe: false });
  });

  it('keys by origin', () => {
    expect(originOf('https://Hooks.Example.com:443/a?b')).toBe('https://hooks.example.com');
    expect(originOf('http://127.0.0.1:8080/x')).toBe('http://127.0.0.1:8080');
    expect(originOf('nope')).toBeUndefined();
  });
});
