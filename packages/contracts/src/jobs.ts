import { z } from 'zod';
import { ErrorCode } from './errors.js';
import { LanguageSource } from './languages.js';
import { Segment, Uuid, Word } from './primitives.js';
import { Enrichment, EnrichList } from './enrichments.js';

export const JobStatus = z.enum(['queued', 'processing', 'completed', 'failed', 'canceled']);
export type JobStatus = z.infer<typeof JobStatus>;
export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'canceled'];

export const Priority = z.enum(['low', 'default', 'high', 'critical']);
export type Priority = z.infer<typeof Priority>;

export const EngineName = z.enum(['sphinx', 'openai', 'whisper-cpp']);
export type EngineName = z.infer<typeof EngineName>;

/** BCP-47-ish language tag, e.g. `en` or `en-US`; `auto` lets the engine decide. */
export const Language = z
  .string()
  .regex(/^(auto|[a-z]{2,3}(-[A-Za-z0-9]{2,8})*)$/, 'expected a language tag like "en" or "auto"');

export { Segment, Word, Uuid } from './primitives.js';

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
export type ContentType = z.infer<typeof ContentType>;

/** The accepted file extensions and the media type each one declares. */
export const CONTENT_TYPE_BY_EXTENSION: Readonly<Record<string, ContentType>> = {
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  flac: 'audio/flac',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  ogg: 'audio/ogg',
  opus: 'audio/opus',
  webm: 'audio/webm',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
};

/** The media type to declare for a file, from its extension (case-insensitive). */
export function contentTypeFor(filename: string): ContentType {
  const dot = filename.lastIndexOf('.');
  const slash = Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\'));
  const ext = dot > slash + 1 ? filename.slice(dot + 1).toLowerCase() : '';
  return CONTENT_TYPE_BY_EXTENSION[ext] ?? 'application/octet-stream';
}

/** Largest object one presigned PUT or POST can carry (S3's single-request limit). */
export const SINGLE_REQUEST_MAX_BYTES = 5 * 1024 ** 3;
export const MULTIPART_MIN_PART_BYTES = 5 * 1024 ** 2;
export const MULTIPART_MAX_PARTS = 10_000;

// Postgres text cannot hold NUL; refuse it here rather than fail the insert.
export const Filename = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');

export const UploadMethod = z.enum(['PUT', 'POST', 'multipart']);
export type UploadMethod = z.infer<typeof UploadMethod>;

export const CreateUploadRequest = z.strictObject({
  filename: Filename,
  contentType: ContentType,
  sizeBytes: z.number().int().positive(),
  /**
   * PUT (default): one presigned PUT. POST: a browser form upload with a signed policy.
   * multipart: presigned parts, for files over 5 GiB or flaky links.
   */
  method: UploadMethod.default('PUT'),
  /** multipart only: bytes per part (the last may be smaller); default 64 MiB. */
  partSizeBytes: z
    .number()
    .int()
    .min(MULTIPART_MIN_PART_BYTES)
    .max(SINGLE_REQUEST_MAX_BYTES)
    .optional(),
});
export type CreateUploadRequest = z.input<typeof CreateUploadRequest>;

const uploadBase = { uploadId: Uuid, expiresAt: z.iso.datetime() };

export const PutUploadResponse = z.object({
  ...uploadBase,
  method: z.literal('PUT'),
  url: z.url(),
  /** Headers the client must send with the PUT, exactly as given (they are signed). */
  headers: z.record(z.string(), z.string()),
});
export type PutUploadResponse = z.infer<typeof PutUploadResponse>;

export const PostUploadResponse = z.object({
  ...uploadBase,
  method: z.literal('POST'),
  url: z.url(),
  /** Form fields to send before the file field (named `file`), exactly as given. */
  fields: z.record(z.string(), z.string()),
});
export type PostUploadResponse = z.infer<typeof PostUploadResponse>;

export const MultipartUploadResponse = z.object({
  ...uploadBase,
  method: z.literal('multipart'),
  partSizeBytes: z.number().int().positive(),
  partCount: z.number().int().positive(),
  links: z.object({ parts: z.string(), complete: z.string(), abort: z.string() }),
});
export type MultipartUploadResponse = z.infer<typeof MultipartUploadResponse>;

export const CreateUploadResponse = z.discriminatedUnion('method', [
  PutUploadResponse,
  PostUploadResponse,
  MultipartUploadResponse,
]);
export type CreateUploadResponse = z.infer<typeof CreateUploadResponse>;

/** base64 of a SHA-256 digest (44 characters), as S3's x-amz-checksum-sha256 wants it. */
export const ChecksumSha256 = z.base64().length(44);

/** Presigned URLs for some parts; each part's SHA-256 is signed in, so S3 checks the bytes. */
export const UploadPartsRequest = z.strictObject({
  parts: z
    .array(
      z.strictObject({
        partNumber: z.number().int().min(1).max(MULTIPART_MAX_PARTS),
        checksumSha256: ChecksumSha256,
      }),
    )
    .min(1)
    .max(100),
});
export type UploadPartsRequest = z.infer<typeof UploadPartsRequest>;

export const UploadPartsResponse = z.object({
  parts: z.array(
    z.object({
      partNumber: z.number().int(),
      url: z.url(),
      /** Headers to send with the part's PUT, exactly as given (they are signed). */
      headers: z.record(z.string(), z.string()),
    }),
  ),
  expiresAt: z.iso.datetime(),
});
export type UploadPartsResponse = z.infer<typeof UploadPartsResponse>;

export const CompleteUploadRequest = z.strictObject({
  parts: z
    .array(
      z.strictObject({
        partNumber: z.number().int().min(1).max(MULTIPART_MAX_PARTS),
        /** The ETag header S3 answered the part's PUT with. */
        etag: z.string().min(1).max(200),
        checksumSha256: ChecksumSha256,
      }),
    )
    .min(1)
    .max(MULTIPART_MAX_PARTS),
});
export type CompleteUploadRequest = z.infer<typeof CompleteUploadRequest>;

export const Upload = z.object({
  uploadId: Uuid,
  method: z.enum(['PUT', 'POST', 'multipart', 'form']),
  status: z.enum(['pending', 'used']),
  filename: z.string(),
  contentType: z.string(),
  sizeBytes: z.number().int(),
  expiresAt: z.iso.datetime(),
});
export type Upload = z.infer<typeof Upload>;

/** Engine-specific model name, e.g. whisper-1 or Systran/faster-whisper-small; never a path. */
export const ModelName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, 'letters, digits and . _ : / - only')
  .refine((s) => !s.split('/').includes('..'), 'must not contain ".."');

/** Free-form labels kept with the job and echoed back (and in webhooks). */
export const Metadata = z
  .record(z.string().min(1).max(64), z.string().max(1024))
  .refine((m) => Object.keys(m).length <= 32, 'at most 32 keys');

export const WebhookUrl = z.url({ protocol: /^https?$/ }).max(2048);

/** Options of a job, shared by JSON creation and the form upload. */
export const JobOptions = z.strictObject({
  language: Language.default('en'),
  engine: EngineName.optional(),
  model: ModelName.optional(),
  priority: Priority.default('default'),
  /** Receives a signed POST when the job completes or fails. */
  webhookUrl: WebhookUrl.optional(),
  metadata: Metadata.optional(),
  /**
   * Enrichments to run on the finished transcript: `"clean"`, `"summary"`, `"notes"`,
   * `{"translate": "de"}` (see enrichments.ts). Queued when the transcript is ready.
   */
  enrich: EnrichList.optional(),
});

export const CreateJobRequest = JobOptions.extend({ uploadId: Uuid });
export type CreateJobRequest = z.input<typeof CreateJobRequest>;

/**
 * A job's language as it stands: `language` is the transcript's (the requested tag, the
 * detected or engine's language for `auto`, or `auto` while detection is pending, when
 * `languageSource` is null); `requestedLanguage` is what the job asked for.
 */
function languageFields() {
  return {
    language: z.string(),
    requestedLanguage: z.string(),
    languageSource: LanguageSource.nullable(),
  };
}

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
  ...languageFields(),
  engine: z.string(),
  model: z.string().nullable(),
  priority: Priority,
  metadata: Metadata.nullable(),
  webhookUrl: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
  error: JobError.nullable(),
  processingMs: z.number().int().nullable(),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
  /** Audio seconds transcribed so far (all chunks) and the decoded total, once known (issue 16). */
  audioDoneS: z.number().nonnegative().nullable(),
  /** Seconds until the transcript is ready, from measured throughput; null when unknown. */
  etaS: z.number().nonnegative().nullable(),
  /**
   * Seconds since a processing job's progress last moved, once that is longer than the
   * stall bound (STALL_AFTER_S); null while it moves (or when not processing).
   */
  stalledSinceS: z.number().nonnegative().nullable(),
  /** Queued jobs only: jobs that will be taken before this one, and the expected start. */
  queuePosition: z.number().int().nonnegative().nullable(),
  estimatedStartAt: z.iso.datetime().nullable(),
  /** Enrichments asked for, in the order asked (issue 15). */
  enrichments: z.array(Enrichment),
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

export const JobList = z.object({
  data: z.array(Job),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type JobList = z.infer<typeof JobList>;

export const ListJobsQuery = z.object({
  status: z
    .union([JobStatus, z.string().regex(/^[a-z]+(,[a-z]+)*$/)])
    .transform((s) => s.split(','))
    .pipe(z.array(JobStatus))
    .optional(),
  createdAfter: z.iso.datetime({ offset: true }).optional(),
  createdBefore: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});
export type ListJobsQuery = z.input<typeof ListJobsQuery>;

export const TranscriptFormat = z.enum(['txt', 'json', 'srt', 'vtt']);
export type TranscriptFormat = z.infer<typeof TranscriptFormat>;

export const TranscriptJson = z.object({
  jobId: Uuid,
  text: z.string(),
  segments: z.array(Segment),
  /** Word timings, from engines that give them (empty otherwise). */
  words: z.array(Word).default([]),
  ...languageFields(),
  durationS: z.number().nullable(),
  engine: z.string(),
  model: z.string().nullable(),
  processingMs: z.number().int().nullable(),
  /** False while the job runs: the chunks transcribed so far (`?partial=true`). */
  complete: z.boolean(),
});
export type TranscriptJson = z.infer<typeof TranscriptJson>;

/** `GET /v1/jobs/:id/media`: a presigned GET of the job's original recording (the web app's player). */
export const JobMedia = z.object({
  url: z.string(),
  contentType: z.string(),
  expiresAt: z.iso.datetime(),
});
export type JobMedia = z.infer<typeof JobMedia>;
