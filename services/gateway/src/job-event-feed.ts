import { JobEvent } from '@transcribe/contracts';
import type { MessageHandler } from '@transcribe/queue';
import type { Logger } from '@transcribe/telemetry';

/**
 * Job events pushed to this gateway, for requests that wait on a job (the OpenAI-compatible
 * route). Events are hints: Postgres has the truth, so a watcher re-reads the job row when
 * told to (`onResync`: the subscription was (re)established and events may have been missed).
 */
export interface JobEventFeed {
  /** Until the returned function is called: `onEvent` for each of the job's events. */
  watch(jobId: string, watcher: JobWatcher): () => void;
}

export interface JobWatcher {
  onEvent(event: JobEvent): void;
  onResync(): void;
}

export interface JobEventSubscription {
  feed: JobEventFeed;
  /** For `broker.consumeAllEvents`: parses, hands to the job's watchers, acks. */
  onBrokerEvent: MessageHandler;
  /** For `broker.consumeAllEvents`' onSubscribed: every watcher re-reads its job. */
  onSubscribed(): void;
}

export function createJobEventFeed(logger: Logger): JobEventSubscription {
  const watchers = new Map<string, Set<JobWatcher>>();
  const each = (set: Iterable<JobWatcher>, call: (w: JobWatcher) => void) => {
    for (const watcher of [...set]) {
      try {
        call(watcher);
      } catch (err) {
        logger.warn({ err }, 'job watcher failed');
      }
    }
  };
  return {
    feed: {
      watch(jobId, watcher) {
        let set = watchers.get(jobId);
        if (!set) watchers.set(jobId, (set = new Set()));
        set.add(watcher);
        return () => {
          set.delete(watcher);
          if (set.size === 0 && watchers.get(jobId) === set) watchers.delete(jobId);
        };
      },
    },
    onBrokerEvent: async (body, ctx) => {
      ctx.ack();
      // Most events are for jobs nobody here waits on: skip parsing those.
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        return;
      }
      const jobId = (json as { jobId?: unknown } | null)?.jobId;
      const set = typeof jobId === 'string' ? watchers.get(jobId) : undefined;
      if (!set) return;
      const event = JobEvent.safeParse(json);
      if (event.success) each(set, (w) => w.onEvent(event.data));
      else logger.warn({ routingKey: ctx.routingKey }, 'invalid event message dropped');
    },
    onSubscribed() {
      for (const set of watchers.values()) each(set, (w) => w.onResync());
    },
  };
}
