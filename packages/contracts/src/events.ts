import { z } from 'zod';
import { ErrorCode } from './errors.js';
import { EnrichmentKey, EnrichmentKind, TokenUsage } from './enrichments.js';
import { Segment, Uuid } from './primitives.js';

/**
 * Job events, version 1. Every state change of a job is one event with a per-job `seq`
 * that starts at 1 and increases by one: a subscriber that has seen `seq` n resumes with
 * `after=n` and misses nothing.
 */
const base = {
  v: z.literal(1),
  jobId: Uuid,
  tenantId: Uuid,
  seq: z.number().int().positive(),
  at: z.iso.datetime(),
};

export const QueuedEvent = z.object({ ...base, type: z.literal('queued') });
export const ProcessingEvent = z.object({
  ...base,
  type: z.literal('processing'),
  attempt: z.number().int().positive(),
});
export const ProgressEvent = z.object({
  ...base,
  type: z.literal('progress'),
  /** 0–100: while transcribing, audio seconds transcribed over the recording's, over all chunks. */
  progress: z.number().min(0).max(100),
  /** What the worker is doing: downloading, probing, normalizing, splitting, transcribing, storing. */
  stage: z.string(),
  /**
   * The attempt this progress belongs to (issue 16). Progress is monotonic within an
   * attempt; a retry starts again from 0 under a higher attempt, so a UI can say why.
   * Optional only so events stored before issue 16 still parse.
   */
  attempt: z.number().int().positive().optional(),
  /** Audio seconds transcribed so far and in all, over every chunk wherever it runs. */
  audioDoneS: z.number().nonnegative().optional(),
  audioTotalS: z.number().nonnegative().optional(),
  /**
   * Seconds until the transcript is ready, from this job's measured throughput (audio
   * seconds per wall second, smoothed); absent until there is a measurement.
   */
  etaS: z.number().nonnegative().optional(),
});
/**
 * A queued job's place (issue 16): how many jobs will be taken before it and when it is
 * expected to start; sent when the position changes (rate-limited), not on every claim.
 */
export const PositionEvent = z.object({
  ...base,
  type: z.literal('position'),
  position: z.number().int().nonnegative(),
  estimatedStartAt: z.iso.datetime().nullable(),
});
/**
 * A chunk of the transcript is ready (issue 16): its segments, at once, while the rest
 * runs. `GET /v1/jobs/:id/transcript?partial=true` serves all chunks landed so far.
 */
export const PartialEvent = z.object({
  ...base,
  type: z.literal('partial'),
  attempt: z.number().int().positive(),
  index: z.number().int().nonnegative(),
  startS: z.number().nonnegative(),
  endS: z.number().nonnegative(),
  segments: z.array(Segment),
});
export const CompletedEvent = z.object({
  ...base,
  type: z.literal('completed'),
  durationS: z.number().nullable(),
  processingMs: z.number().int(),
});
export const FailedEvent = z.object({
  ...base,
  type: z.literal('failed'),
  error: z.object({ code: ErrorCode, message: z.string() }),
});
export const CanceledEvent = z.object({ ...base, type: z.literal('canceled') });

/**
 * Enrichment events share the job's stream and its seq numbering, so one resumable
 * subscription sees a job's transcript and everything made from it. They come after the
 * job's `completed` (a job with enrichments still queued is not over for a subscriber
 * that asked for them). Routing key `<tenant>.<job>.enrichment.<status>`.
 */
const enrichmentRef = {
  enrichment: z.object({ id: Uuid, key: EnrichmentKey, kind: EnrichmentKind }),
};
export const EnrichmentQueuedEvent = z.object({
  ...base,
  ...enrichmentRef,
  type: z.literal('enrichment.queued'),
});
export const EnrichmentProcessingEvent = z.object({
  ...base,
  ...enrichmentRef,
  type: z.literal('enrichment.processing'),
  attempt: z.number().int().positive(),
});
export const EnrichmentProgressEvent = z.object({
  ...base,
  ...enrichmentRef,
  type: z.literal('enrichment.progress'),
  progress: z.number().min(0).max(100),
  piecesDone: z.number().int().nonnegative(),
  piecesTotal: z.number().int().positive(),
});
export const EnrichmentCompletedEvent = z.object({
  ...base,
  ...enrichmentRef,
  type: z.literal('enrichment.completed'),
  model: z.string().nullable(),
  usage: TokenUsage.nullable(),
  processingMs: z.number().int(),
});
export const EnrichmentFailedEvent = z.object({
  ...base,
  ...enrichmentRef,
  type: z.literal('enrichment.failed'),
  error: z.object({ code: ErrorCode, message: z.string() }),
});
export const EnrichmentCanceledEvent = z.object({
  ...base,
  ...enrichmentRef,
  type: z.literal('enrichment.canceled'),
});

export const JobEvent = z.discriminatedUnion('type', [
  QueuedEvent,
  ProcessingEvent,
  ProgressEvent,
  PositionEvent,
  PartialEvent,
  CompletedEvent,
  FailedEvent,
  CanceledEvent,
  EnrichmentQueuedEvent,
  EnrichmentProcessingEvent,
  EnrichmentProgressEvent,
  EnrichmentCompletedEvent,
  EnrichmentFailedEvent,
  EnrichmentCanceledEvent,
]);
export type JobEvent = z.infer<typeof JobEvent>;
export type JobEventType = JobEvent['type'];
/** The job's own terminal events (its transcript's fate; enrichments may follow `completed`). */
export const TERMINAL_EVENT_TYPES: readonly JobEventType[] = ['completed', 'failed', 'canceled'];
export type EnrichmentEvent = Extract<JobEvent, { type: `enrichment.${string}` }>;
export const TERMINAL_ENRICHMENT_EVENT_TYPES: readonly JobEventType[] = [
  'enrichment.completed',
  'enrichment.failed',
  'enrichment.canceled',
];
export function isEnrichmentEvent(event: JobEvent): event is EnrichmentEvent {
  return event.type.startsWith('enrichment.');
}

/** What a producer supplies; `v`, `seq`, `at`, `jobId` and `tenantId` are filled in on append. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type JobEventInput = DistributiveOmit<JobEvent, 'v' | 'seq' | 'at' | 'jobId' | 'tenantId'>;

export const JobEventList = z.object({ events: z.array(JobEvent) });
export type JobEventList = z.infer<typeof JobEventList>;
