import { z } from 'zod';
import { ErrorCode } from './errors.js';
import { Uuid } from './jobs.js';

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
  /** 0–100 */
  progress: z.number().min(0).max(100),
  /** What the worker is doing: downloading, probing, normalizing, transcribing, storing. */
  stage: z.string(),
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

export const JobEvent = z.discriminatedUnion('type', [
  QueuedEvent,
  ProcessingEvent,
  ProgressEvent,
  CompletedEvent,
  FailedEvent,
  CanceledEvent,
]);
export type JobEvent = z.infer<typeof JobEvent>;
export type JobEventType = JobEvent['type'];
export const TERMINAL_EVENT_TYPES: readonly JobEventType[] = ['completed', 'failed', 'canceled'];

/** What a producer supplies; `v`, `seq`, `at`, `jobId` and `tenantId` are filled in on append. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type JobEventInput = DistributiveOmit<JobEvent, 'v' | 'seq' | 'at' | 'jobId' | 'tenantId'>;

export const JobEventList = z.object({ events: z.array(JobEvent) });
export type JobEventList = z.infer<typeof JobEventList>;
