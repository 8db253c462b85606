export interface CircuitBreakerSettings {
  /** Consecutive failed attempts to one origin that open its circuit; 0 turns breaking off. */
  threshold: number;
  /** How long an open circuit defers deliveries before one probe attempt is let through. */
  cooldownMs: number;
  /** How long deliveries wait while the probe is under way (about one attempt's timeout). */
  probeWaitMs: number;
}

/** How an attempt went, for the breaker: only a receiver that does not answer counts against it. */
export type AttemptHealth = 'healthy' | 'unhealthy' | 'unsent';

export type Admission =
  | { go: true; /** This attempt decides whether the circuit closes again. */ probe: boolean }
  | { go: false; retryInMs: number };

export type CircuitState = 'closed' | 'open' | 'half-open';

interface Circuit {
  failures: number;
  openUntil: number;
  probing: boolean;
}

/**
 * A circuit breaker per receiver origin (scheme://host:port), so one dead receiver does not
 * take the sender's concurrency with attempts that each wait for a timeout: after
 * `threshold` consecutive failures its deliveries are deferred — rescheduled, neither
 * dropped nor counted as attempts — until, `cooldownMs` later, one probe attempt succeeds.
 *
 * The state is per process, on purpose: it is a load-shedding hint, not a record. With R
 * notifier replicas a dead origin costs at most R × threshold attempts to open everywhere
 * and R probes per cooldown; sharing it in Postgres would add a write per attempt on a hot
 * row to save a handful of timeouts, and a replica that restarts merely relearns it.
 */
export class CircuitBreaker {
  private readonly circuits = new Map<string, Circuit>();

  constructor(
    private readonly settings: CircuitBreakerSettings,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** Whether an attempt to `origin` may go now, or how long its delivery should wait. */
  admit(origin: string): Admission {
    const circuit = this.circuits.get(origin);
    if (!circuit || this.settings.threshold === 0 || circuit.failures < this.settings.threshold)
      return { go: true, probe: false };
    if (circuit.probing) return { go: false, retryInMs: this.spread(this.settings.probeWaitMs) };
    const wait = circuit.openUntil - this.now();
    if (wait > 0) return { go: false, retryInMs: this.spread(wait) };
    circuit.probing = true;
    return { go: true, probe: true };
  }

  /** The end of an admitted attempt; `probe` as `admit` said. */
  record(origin: string, health: AttemptHealth, probe: boolean): void {
    if (this.settings.threshold === 0) return;
    const circuit = this.circuits.get(origin);
    if (health === 'healthy') {
      this.circuits.delete(origin);
      return;
    }
    if (health === 'unsent') {
      if (circuit && probe) circuit.probing = false; // let another delivery probe
      return;
    }
    const failed = circuit ?? { failures: 0, openUntil: 0, probing: false };
    failed.failures += 1;
    if (probe) failed.probing = false;
    if (failed.failures >= this.settings.threshold && !failed.probing)
      failed.openUntil = this.now() + this.settings.cooldownMs;
    this.circuits.set(origin, failed);
  }

  state(origin: string): CircuitState {
    const circuit = this.circuits.get(origin);
    if (!circuit || this.settings.threshold === 0 || circuit.failures < this.settings.threshold)
      return 'closed';
    return circuit.probing || circuit.openUntil <= this.now() ? 'half-open' : 'open';
  }

  /** Up to 10 % later, so deferred deliveries do not all come due in the same poll. */
  private spread(ms: number): number {
    return Math.round(ms * (1 + 0.1 * this.random()));
  }
}

/** The breaker's key for a URL: its origin; undefined when it does not parse. */
export function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
