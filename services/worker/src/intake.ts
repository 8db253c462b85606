// How many deliveries this process runs at once, counted here rather than trusted to the
// broker's prefetch: prefetch is per channel, and a channel that dies while its jobs run
// is replaced by one with a full window of its own.
import type { MessageHandler } from '@transcribe/queue';

export interface Intake {
  /** Wraps the job handler: counts it in and out; over the limit, hands the message back. */
  handle: MessageHandler;
  /** Resolves once nothing runs (the broker's `beforeSubscribe`: a new channel waits for the old one's jobs). */
  idle(): Promise<void>;
  /** Resolves when nothing runs, or after `ms`. */
  idleWithin(ms: number): Promise<void>;
  inFlight(): number;
}

export function createIntake(options: {
  concurrency: number;
  handler: MessageHandler;
  /** A delivery beyond the limit (should not happen while subscriptions wait on idle()). */
  onOverflow: (inFlight: number) => void;
}): Intake {
  let running = 0;
  let waiters: (() => void)[] = [];
  const settle = () => {
    if (running > 0) return;
    const ready = waiters;
    waiters = [];
    ready.forEach((resolve) => resolve());
  };
  const idle = () =>
    running === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve));
  return {
    async handle(body, ctx) {
      if (running >= options.concurrency) {
        options.onOverflow(running);
        // Back to the queue for another consumer; a short pause keeps a lone consumer from
        // spinning on it (the delivery counts against this channel's prefetch meanwhile).
        await new Promise((resolve) => setTimeout(resolve, 1000));
        ctx.nack(true);
        return;
      }
      running++;
      try {
        await options.handler(body, ctx);
      } finally {
        running--;
        settle();
      }
    },
    idle,
    idleWithin: (ms) =>
      Promise.race([idle(), new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]),
    inFlight: () => running,
  };
}
