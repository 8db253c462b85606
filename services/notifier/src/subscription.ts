import type { JobEvent } from '@transcribe/contracts';

const RETRY_MS = 1000;
/** What `live` returns on its fast path: no promise allocated per subscriber per event. */
const DELIVERED: Promise<void> = Promise.resolve();

export type LoadEvents = (jobId: string, after: number) => Promise<JobEvent[]>;

/**
 * Delivers one job's events to one client exactly once and in seq order, whatever order
 * they arrive in: stored events first (replay from `after`), then live ones. Any gap —
 * a live event ahead of what was sent, a broker reconnect — is filled from Postgres,
 * where every event is committed before it is published.
 */
export class JobSubscription {
  private lastSeq: number;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  /** Tasks enqueued and not finished. */
  private pending = 0;

  constructor(
    readonly jobId: string,
    after: number,
    private readonly send: (event: JobEvent) => void,
    private readonly load: LoadEvents,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {
    this.lastSeq = after;
  }

  /** The highest seq delivered so far. */
  get seq(): number {
    return this.lastSeq;
  }

  /** Replays stored events; live ones that arrive meanwhile wait their turn. */
  start(): Promise<void> {
    return this.enqueue(() => this.catchUp());
  }

  live(event: JobEvent): Promise<void> {
    // The common case — nothing queued, the next seq — skips the promise chain: with
    // thousands of subscribers per event that chain is most of the fan-out's cost.
    if (this.pending === 0 && event.seq === this.lastSeq + 1) {
      this.deliver(event);
      return DELIVERED;
    }
    return this.enqueue(async () => {
      if (event.seq <= this.lastSeq) return; // already delivered (replay or duplicate publish)
      if (event.seq === this.lastSeq + 1) this.deliver(event);
      else await this.catchUp();
    });
  }

  /** Re-reads from the last delivered seq, e.g. after missing live events. */
  resync(): Promise<void> {
    return this.enqueue(() => this.catchUp());
  }

  close(): void {
    this.closed = true;
  }

  private async catchUp(): Promise<void> {
    for (;;) {
      const events = await this.load(this.jobId, this.lastSeq);
      for (const event of events) this.deliver(event);
      if (events.length === 0 || this.closed) return;
    }
  }

  private deliver(event: JobEvent): void {
    if (this.closed || event.seq !== this.lastSeq + 1) return;
    this.lastSeq = event.seq;
    this.send(event);
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    this.pending++;
    this.queue = this.queue
      .then(() => (this.closed ? undefined : task()))
      .finally(() => this.pending--)
      .catch((error: unknown) => {
        this.onError(error);
        // A failed read may have swallowed the event that revealed a gap (maybe the
        // terminal one): read again shortly rather than wait for an event that won't come.
        const retry = setTimeout(() => void this.resync(), RETRY_MS);
        retry.unref();
      });
    return this.queue;
  }
}
