import { z } from 'zod';
import { Uuid } from './primitives.js';

// Issue 17: what a tenant may see of its own use and of the queue, and the details of the
// 429 that refuses a job over one of its quotas.

/** A UTC day. */
export const UsageDayString = z.iso.date();

/**
 * `details` of a `429 quota_exceeded` at job creation. `resetsAt`: when the quota frees
 * up by itself (the next UTC day for audio); null when only the tenant's own jobs leaving
 * the queue free it (queued jobs).
 */
export const QuotaExceededDetails = z.object({
  quota: z.enum(['queued_jobs', 'audio_s_per_day']),
  limit: z.number().nonnegative(),
  used: z.number().nonnegative(),
  resetsAt: z.iso.datetime().nullable(),
  /** Older names of `limit` and `used` (audio only, seconds), kept for existing clients. */
  limitS: z.number().nonnegative().optional(),
  usedS: z.number().nonnegative().optional(),
});
export type QuotaExceededDetails = z.infer<typeof QuotaExceededDetails>;

/** Longest range `GET /v1/usage` answers, in days (both ends included). */
export const MAX_USAGE_RANGE_DAYS = 366;
/** The range `GET /v1/usage` answers without `from`: the last 30 days up to `to`. */
export const DEFAULT_USAGE_RANGE_DAYS = 30;

export const UsageQuery = z.object({
  from: UsageDayString.optional().meta({
    description: `first UTC day (YYYY-MM-DD); default: ${DEFAULT_USAGE_RANGE_DAYS} days up to \`to\``,
  }),
  to: UsageDayString.optional().meta({
    description: `last UTC day (YYYY-MM-DD), included; default: today. At most ${MAX_USAGE_RANGE_DAYS} days in all`,
  }),
});
export type UsageQuery = z.input<typeof UsageQuery>;

const usageFigures = {
  jobsSubmitted: z.number().int().nonnegative(),
  /** Jobs that ended completed or failed that day (a job retried after failing may end twice). */
  jobsCompleted: z.number().int().nonnegative(),
  jobsFailed: z.number().int().nonnegative(),
  /** Decoded audio of the jobs completed that day. */
  audioSeconds: z.number().nonnegative(),
  /** Worker time of the jobs that ended that day. */
  processingSeconds: z.number().nonnegative(),
};

export const UsageDay = z.object({ day: UsageDayString, ...usageFigures });
export type UsageDay = z.infer<typeof UsageDay>;

export const UsageResponse = z.object({
  from: UsageDayString,
  to: UsageDayString,
  /** Every day of the range, oldest first (days without use are zeros). */
  days: z.array(UsageDay),
  totals: z.object(usageFigures),
});
export type UsageResponse = z.infer<typeof UsageResponse>;

export const QueueResponse = z.object({
  /** The tenant's jobs waiting for a worker, and processing now. */
  queued: z.number().int().nonnegative(),
  running: z.number().int().nonnegative(),
  /** The limits in effect (the tenant's own or the deployment's); null: no limit. */
  limits: z.object({
    maxRunning: z.number().int().positive(),
    maxQueued: z.number().int().positive().nullable(),
    audioSecondsPerDay: z.number().nonnegative().nullable(),
    /** Share of the workers relative to other tenants (fair scheduling). */
    weight: z.number().positive(),
  }),
  /** Decoded audio of the jobs started today (UTC), what the daily quota counts. */
  audioSecondsToday: z.number().nonnegative(),
  /** When today's audio count starts again from zero. */
  audioResetsAt: z.iso.datetime(),
  /** The tenant's queued job that will be taken first; null when none is queued. */
  next: z
    .object({
      jobId: Uuid,
      position: z.number().int().nonnegative(),
      estimatedStartAt: z.iso.datetime().nullable(),
    })
    .nullable(),
});
export type QueueResponse = z.infer<typeof QueueResponse>;
