import type { JobEvent } from '@transcribe/contracts';
import type { TenantCursor, TenantEventsPage } from '@transcribe/db';

const RETRY_MS = 1000;
/** Events whose place in the order is not final yet are re-read this soon. */
const PENDING_MS = 25;

export type LoadTenantEvents = (tenantId: string, after: TenantCursor) => Promise<TenantEventsPage>;

/**
 * Delivers a tenant's events to one client exactly once, in the stream's global order
 * (see listTenantEvents). Live events from the broker carry no position in that order, so
 * they only wake the subscription, which reads what is new from Postgres; wake-ups that
 * arrive while a read runs are folded into one more read.
 */
export class TenantSubscription {
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly tenantId: string,
    private cursor: TenantCursor,
    private readonly send: (event: JobEvent, cursor: TenantCursor) => void,
    private readonly load: LoadTenantEvents,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /** The position after the last delivered event. */
  get position(): TenantCursor {
    return this.cursor;
  }

  start(): Promise<void> {
    return this.wake();
  }

  /** Something new may exist (a live event of this tenant, a broker reconnect). */
  wake(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.catchUp();
      } while (this.again && !this.closed);
    } catch (error) {
      this.onError(error);
      this.later(RETRY_MS);
    }
  }

  private async catchUp(): Promise<void> {
    for (;;) {
      const page = await this.load(this.tenantId, this.cursor);
      for (const { event, cursor } of page.events) {
        if (this.closed) return;
        this.cursor = cursor;
        this.send(event, cursor);
      }
      if (page.pending) this.later(PENDING_MS);
      if (page.events.length === 0 || page.pending || this.closed) return;
    }
  }

  private later(ms: number): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.wake();
    }, ms);
    this.timer.unref();
  }
}
