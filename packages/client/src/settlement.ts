import {
  TERMINAL_ENRICHMENT_EVENT_TYPES,
  TERMINAL_EVENT_TYPES,
  isEnrichmentEvent,
  type EnrichmentEvent,
  type JobEvent,
} from '@transcribe/contracts';

/** How a job and every enrichment asked of it ended. */
export interface Settlement {
  /** The job's own terminal event: `completed`, `failed` or `canceled`. */
  job: JobEvent;
  /**
   * The last event of each enrichment, by key, in the order they were asked for:
   * `enrichment.completed`, `enrichment.failed` or `enrichment.canceled`.
   */
  enrichments: Map<string, EnrichmentEvent>;
}

/**
 * Watches a job's event stream, from its start, for the moment the job AND its
 * enrichments are settled. The job's `completed` does not end the wait while an
 * enrichment is still queued or running (their events follow it on the same stream); a
 * failed or canceled job cancels its enrichments, each with its own
 * `enrichment.canceled`, which ends it. A manual retry queues everything again.
 *
 * `expected`: keys the job is known to have (its `enrichments` when the wait began). One
 * asked for after the job completed is queued after its `completed` in the stream; naming
 * it here keeps that `completed` from ending the wait before its events are seen.
 */
export function createSettlementTracker(expected: Iterable<string> = []): {
  /** Feeds one event; returns the settlement when this event completed it. */
  observe(event: JobEvent): Settlement | undefined;
} {
  const waitFor = [...expected];
  let jobEnd: JobEvent | undefined;
  const latest = new Map<string, EnrichmentEvent>();
  return {
    observe(event) {
      if (isEnrichmentEvent(event)) latest.set(event.enrichment.key, event);
      else if (TERMINAL_EVENT_TYPES.includes(event.type)) jobEnd = event;
      else if (event.type === 'queued') jobEnd = undefined;
      if (!jobEnd || waitFor.some((key) => !latest.has(key))) return undefined;
      const settled = [...latest.values()].every((e) =>
        TERMINAL_ENRICHMENT_EVENT_TYPES.includes(e.type),
      );
      return settled ? { job: jobEnd, enrichments: new Map(latest) } : undefined;
    },
  };
}
