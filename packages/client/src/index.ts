import type { JobEvent, PutUploadResponse } from '@transcribe/contracts';
import { contentTypeFor, type UploadContentType } from './content-type.js';
import { followEvents, type EventsTarget, type FollowEventsOptions } from './events.js';
import { createRest, type RequestOptions, type RestApi, type RestOptions } from './rest.js';
import { ClientError } from './errors.js';
import { createSettlementTracker, type Settlement } from './settlement.js';
import { sendMultipart } from './multipart.js';
import { inspectFile, putFile } from './upload.js';

const DEFAULT_MULTIPART_THRESHOLD = 100 * 1024 ** 2;

export {
  ApiError,
  ClientError,
  DiscontinuityError,
  type ApiErrorCode,
  type ClientErrorCode,
} from './errors.js';
export { contentTypeFor, type UploadContentType } from './content-type.js';
export { isTerminal, type EventsTarget, type FollowEventsOptions } from './events.js';
export type {
  EnrichmentTextFormat,
  FetchLike,
  ListJobsOptions,
  RequestOptions,
  RestApi,
  TextFormat,
  UsageOptions,
} from './rest.js';
export { createSettlementTracker, type Settlement } from './settlement.js';
export { enrichmentKeyOf } from '@transcribe/contracts';
export type {
  Enrichment,
  EnrichmentFormat,
  EnrichmentJson,
  EnrichmentKey,
  EnrichmentRequest,
  EnrichmentStatus,
  CreateJobRequest,
  CreateJobResponse,
  CreateUploadRequest,
  CreateUploadResponse,
  DiscontinuityFrame,
  Job,
  JobEvent,
  JobList,
  JobStatus,
  QueueResponse,
  QuotaExceededDetails,
  TranscriptFormat,
  TranscriptJson,
  UsageResponse,
} from '@transcribe/contracts';

export type ClientOptions = RestOptions;

export interface UploadFileOptions extends RequestOptions {
  /** Declared media type; guessed from the file's extension when omitted. */
  contentType?: UploadContentType;
  /** Name recorded with the upload; the file's base name when omitted. */
  filename?: string;
  /** Called as bytes are sent: `sentBytes` of `totalBytes`. */
  onProgress?(sentBytes: number, totalBytes: number): void;
  /** Files larger than this go up as a multipart upload, in parts (default 100 MiB). */
  multipartThresholdBytes?: number;
  /** Bytes per part of a multipart upload (default: the gateway's, 64 MiB). */
  partSizeBytes?: number;
}

/** What {@link TranscribeClient.uploadFile} uploaded: pass `uploadId` to `createJob`. */
export interface UploadedFile {
  uploadId: string;
  filename: string;
  contentType: UploadContentType;
  sizeBytes: number;
}

export interface WaitForJobOptions extends Omit<FollowEventsOptions, 'onEvent'> {
  onEvent?(event: JobEvent): void;
}

/** {@link TranscribeClient.waitForSettled} replays the stream from its start, so no `after`. */
export type WaitForSettledOptions = Omit<WaitForJobOptions, 'after' | 'until'>;

export interface TranscribeClient extends RestApi {
  /** Creates an upload and streams the file to its presigned URL. */
  uploadFile(path: string, opts?: UploadFileOptions): Promise<UploadedFile>;
  /** PUTs a file to an upload created with `createUpload`. */
  putUpload(
    upload: Pick<PutUploadResponse, 'url' | 'headers'>,
    path: string,
    opts?: Pick<UploadFileOptions, 'onProgress' | 'signal'>,
  ): Promise<void>;
  /** Follows a job's events over the WebSocket; resolves with the terminal event. */
  followEvents(target: EventsTarget, opts: FollowEventsOptions): Promise<JobEvent>;
  /** `getJob` then `followEvents` on its links (authenticated with the API key). */
  waitForJob(id: string, opts?: WaitForJobOptions): Promise<JobEvent>;
  /**
   * Waits until the job AND every enrichment asked of it have ended: its `completed` does
   * not end the wait while an enrichment is queued or running. Resolves with the job's
   * terminal event and each enrichment's last event (completed, failed or canceled).
   */
  waitForSettled(id: string, opts?: WaitForSettledOptions): Promise<Settlement>;
}

export function createClient(options: ClientOptions): TranscribeClient {
  const rest = createRest(options);
  const ctx = { apiKey: options.apiKey };

  const putUpload: TranscribeClient['putUpload'] = async (upload, path, opts = {}) => {
    const { sizeBytes } = await inspectFile(path);
    await putFile(upload, path, sizeBytes, opts);
  };

  return {
    ...rest,
    putUpload,
    async uploadFile(path, opts = {}) {
      const file = await inspectFile(path);
      const filename = opts.filename ?? file.filename;
      // The name the user gave says what the content is; the path's extension is a fallback.
      const guessed = contentTypeFor(filename);
      const contentType =
        opts.contentType ??
        (guessed === 'application/octet-stream' ? contentTypeFor(path) : guessed);
      const reqOpts: RequestOptions = opts.signal ? { signal: opts.signal } : {};
      const multipart =
        file.sizeBytes > (opts.multipartThresholdBytes ?? DEFAULT_MULTIPART_THRESHOLD);
      const upload = await rest.createUpload(
        {
          filename,
          contentType,
          sizeBytes: file.sizeBytes,
          method: multipart ? 'multipart' : 'PUT',
          ...(multipart && opts.partSizeBytes ? { partSizeBytes: opts.partSizeBytes } : {}),
        },
        reqOpts,
      );
      if (upload.method === 'multipart') {
        await sendMultipart(rest, upload, path, file.sizeBytes, opts);
      } else if (upload.method === 'PUT') {
        await putFile(upload, path, file.sizeBytes, opts);
      } else {
        throw new ClientError('invalid_response', `asked for a PUT upload, got ${upload.method}`);
      }
      return { uploadId: upload.uploadId, filename, contentType, sizeBytes: file.sizeBytes };
    },
    followEvents: (target, opts) => followEvents(target, opts, ctx),
    async waitForJob(id, opts = {}) {
      const job = await rest.getJob(id, opts.signal ? { signal: opts.signal } : {});
      return followEvents(job, { ...opts, onEvent: opts.onEvent ?? (() => undefined) }, ctx);
    },
    async waitForSettled(id, opts = {}) {
      const job = await rest.getJob(id, opts.signal ? { signal: opts.signal } : {});
      const tracker = createSettlementTracker(job.enrichments.map((e) => e.key));
      let settlement: Settlement | undefined;
      await followEvents(
        job,
        {
          ...opts,
          after: 0,
          onEvent: opts.onEvent ?? (() => undefined),
          until: (event) => (settlement = tracker.observe(event)) !== undefined,
        },
        ctx,
      );
      return settlement!;
    },
  };
}
