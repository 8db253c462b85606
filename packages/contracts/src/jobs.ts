import { z } from 'zod';
import { ErrorCode } from './errors.js';

export const JobStatus = z.enum(['queued', 'processing', 'completed', 'failed', 'canceled']);
export type JobStatus = z.infer<typeof JobStatus>;
export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'canceled'];

export const Priority = z.enum(['low', 'default', 'high', 'critical']);
export type Priority = z.infer<typeof Priority>;

export const EngineName = z.enum(['sphinx']);
export type EngineName = z.infer<typeof EngineName>;

/** BCP-47-ish language tag, e.g. `en` or `en-US`; `auto` lets the engine decide. */
export const Language = z
  .string()
  .regex(/^(auto|[a-z]{2,3}(-[A-Za-z0-9]{2,8})*)$/, 'expected a language tag like "en" or "auto"');

export const Segment = z.object({
  start: z.number().nonnegative(),
  end: z.number().nonnegative(),
  text: z.string(),
  speaker: z.string().optional(),
});
export type Segment = z.infer<typeof Segment>;

export const Uuid = z.uuid();

/** A resume position: the last seq a client saw (seqs are Postgres integers). */
export const AfterSeq = z.coerce.number().int().nonnegative().max(2_147_483_647).default(0);

/** Media types the service accepts for upload. */
export const ACCEPTED_CONTENT_TYPES = [
  'audio/mpeg',
  'audio/mp3',
  'audio/wav',
  'audio/x-wav',
  'audio/wave',
  'audio/flac',
  'audio/x-flac',
  'audio/mp4',
  'audio/x-m4a',
  'audio/m4a',
  'audio/aac',
  'audio/ogg',
  'audio/opus',
  'audio/webm',
  'video/mp4',
  'video/quicktime',
  'video/webm',
  'application/octet-stream',
] as const;
export const ContentType = z.enum(ACCEPTED_CONTENT_TYPES);

export const CreateUploadRequest = z.strictObject({
  // Postgres text cannot hold NUL; refuse it here rather than fail the insert.
  filename: z
    .string()
    .min(1)
    .max(255)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters'),
  contentType: ContentType,
  sizeBytes: z.number().int().positive(),
});
export type CreateUploadRequest = z.infer<typeof CreateUploadRequest>;

export const CreateUploadResponse = z.object({
  uploadId: Uuid,
  method: z.literal('PUT'),
  url: z.url(),
  /** Headers the client must send with the PUT, exactly as given (they are signed). */
  headers: z.record(z.string(), z.string()),
  expiresAt: z.iso.datetime(),
});
export type CreateUploadResponse = z.infer<typeof CreateUploadResponse>;

export const CreateJobRequest = z.strictObject({
  uploadId: Uuid,
  language: Language.default('en'),
  engine: EngineName.optional(),
  priority: Priority.default('default'),
});
export type CreateJobRequest = z.input<typeof CreateJobRequest>;

export const JobError = z.object({ code: ErrorCode, message: z.string() });

export const Job = z.object({
  id: Uuid,
  status: JobStatus,
  progress: z.number().min(0).max(100),
  stage: z.string().nullable(),
  filename: z.string(),
  contentType: z.string(),
  sizeBytes: z.number().int(),
  durationS: z.number().nullable(),
  language: z.string(),
  engine: z.string(),
  model: z.string().nullable(),
  priority: Priority,
  error: JobError.nullable(),
  processingMs: z.number().int().nullable(),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
  links: z.object({
    self: z.string(),
    transcript: z.string(),
    events: z.string(),
  }),
});
export type Job = z.infer<typeof Job>;

/** Answer to job creation: the job plus a short-lived token for the events WebSocket. */
export const CreateJobResponse = Job.extend({
  eventsToken: z.string(),
  eventsTokenExpiresAt: z.iso.datetime(),
});
export type CreateJobResponse = z.infer<typeof CreateJobResponse>;

export const TranscriptFormat = z.enum(['txt', 'json']);
export type TranscriptFormat = z.infer<typeof TranscriptFormat>;

export const TranscriptJson = z.object({
  jobId: Uuid,
  text: z.string(),
  segments: z.array(Segment),
  language: z.string(),
  durationS: z.number().nullable(),
  engine: z.string(),
  model: z.string().nullable(),
  processingMs: z.number().int().nullable(),
});
export type TranscriptJson = z.infer<typeof TranscriptJson>;
