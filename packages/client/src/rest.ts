import {
  CreateJobResponse,
  CreateUploadResponse,
  Enrichment,
  EnrichmentJson,
  EnrichmentList,
  Job,
  JobEventList,
  JobList,
  QueueResponse,
  TranscriptJson,
  Upload,
  UploadPartsResponse,
  UsageResponse,
  type CompleteUploadRequest,
  type CreateJobRequest,
  type UploadPartsRequest,
  type CreateUploadRequest,
  type EnrichmentFormat,
  type EnrichmentRequest,
  type JobEvent,
  type JobStatus,
  type TranscriptFormat,
} from '@transcribe/contracts';
import { ClientError, apiErrorFrom, parseOrThrow, type Schema } from './errors.js';

export type FetchLike = typeof globalThis.fetch;

export interface RestOptions {
  /** Base URL of the gateway, e.g. `http://localhost:8080` (a path prefix is kept). */
  baseUrl: string;
  /** API key, sent as `Authorization: Bearer <key>`. */
  apiKey: string;
  /** fetch implementation; defaults to the global one. */
  fetch?: FetchLike;
}

/** Per-call options of every REST method. */
export interface RequestOptions {
  signal?: AbortSignal;
}

/** The transcript formats that are text (plain, SubRip, WebVTT); `json` is an object. */
export type TextFormat = Exclude<TranscriptFormat, 'json'>;

/** The enrichment formats that are text (markdown, plain, SubRip, WebVTT); `json` is an object. */
export type EnrichmentTextFormat = Exclude<EnrichmentFormat, 'json'>;

/** Filters and paging of {@link RestApi.listJobs} (the query of `GET /v1/jobs`). */
export interface ListJobsOptions extends RequestOptions {
  /** Only jobs in this status, or in any of these. */
  status?: JobStatus | readonly JobStatus[];
  /** Only jobs created at or after this instant. */
  createdAfter?: Date | string;
  /** Only jobs created before this instant. */
  createdBefore?: Date | string;
  /** Jobs per page, 1–100 (the gateway's default is 20). */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** The gateway's REST endpoints, each answer checked against its contract. */
/** `GET /v1/usage`: UTC days, YYYY-MM-DD; default the last 30 days up to today. */
export interface UsageOptions extends RequestOptions {
  from?: string;
  to?: string;
}

export interface RestApi {
  createUpload(input: CreateUploadRequest, opts?: RequestOptions): Promise<CreateUploadResponse>;
  createJob(input: CreateJobRequest, opts?: RequestOptions): Promise<CreateJobResponse>;
  /** Presigned URLs for parts of a multipart upload. */
  getUploadPartUrls(
    uploadId: string,
    input: UploadPartsRequest,
    opts?: RequestOptions,
  ): Promise<UploadPartsResponse>;
  completeUpload(
    uploadId: string,
    input: CompleteUploadRequest,
    opts?: RequestOptions,
  ): Promise<Upload>;
  /** Discards an unused upload (aborts a multipart one). */
  deleteUpload(uploadId: string, opts?: RequestOptions): Promise<void>;
  getJob(id: string, opts?: RequestOptions): Promise<Job>;
  /** One page of the tenant's jobs, newest first; follow `nextCursor` for older ones. */
  listJobs(opts?: ListJobsOptions): Promise<JobList>;
  /**
   * Cancels a queued or processing job (a canceled one is answered as is); any other
   * status is an `ApiError` with code `invalid_job_state`.
   */
  cancelJob(id: string, opts?: RequestOptions): Promise<Job>;
  /**
   * Queues a failed or canceled job again; any other status is an `ApiError` with code
   * `invalid_job_state`. Its events continue with a new `queued` event.
   */
  retryJob(id: string, opts?: RequestOptions): Promise<Job>;
  /**
   * Deletes a job, its events, transcript and uploaded media (a running one is canceled
   * first). Deleting an unknown or already deleted job succeeds too.
   */
  deleteJob(id: string, opts?: RequestOptions): Promise<void>;
  getTranscript(id: string, format: TextFormat, opts?: RequestOptions): Promise<string>;
  getTranscript(id: string, format: 'json', opts?: RequestOptions): Promise<TranscriptJson>;
  getTranscript(
    id: string,
    format: TranscriptFormat,
    opts?: RequestOptions,
  ): Promise<string | TranscriptJson>;
  /** Events of a job with `seq > after`, oldest first. */
  listEvents(id: string, after?: number, opts?: RequestOptions): Promise<JobEvent[]>;
  /**
   * Asks for an enrichment of a job: `"clean"`, `"summary"`, `"notes"` or
   * `{translate: "de"}`. Idempotent: the same kind again answers the existing task. A
   * failed or canceled job is an `ApiError` `invalid_job_state`; a gateway without a chat
   * engine answers `enrichment_unavailable`.
   */
  requestEnrichment(
    jobId: string,
    kind: EnrichmentRequest,
    opts?: RequestOptions,
  ): Promise<Enrichment>;
  /** A job's enrichments, in the order asked. */
  listEnrichments(jobId: string, opts?: RequestOptions): Promise<Enrichment[]>;
  /**
   * A completed enrichment's result by key (`summary`, `translate:de`); without a format,
   * the gateway's default (md for summary and notes, txt for clean and translate). One not
   * completed yet is an `ApiError` `enrichment_not_completed` (details: status, progress).
   */
  getEnrichment(
    jobId: string,
    key: string,
    format?: EnrichmentTextFormat,
    opts?: RequestOptions,
  ): Promise<string>;
  getEnrichment(
    jobId: string,
    key: string,
    format: 'json',
    opts?: RequestOptions,
  ): Promise<EnrichmentJson>;
  getEnrichment(
    jobId: string,
    key: string,
    format?: EnrichmentFormat,
    opts?: RequestOptions,
  ): Promise<string | EnrichmentJson>;
  /** Cancels a queued or processing enrichment; a finished one is `invalid_job_state`. */
  cancelEnrichment(jobId: string, key: string, opts?: RequestOptions): Promise<Enrichment>;
  /** The tenant's usage by UTC day (issue 17). */
  getUsage(opts?: UsageOptions): Promise<UsageResponse>;
  /** The tenant's queued and running jobs, limits in effect and its next job's place. */
  getQueue(opts?: RequestOptions): Promise<QueueResponse>;
}

interface SendOptions extends RequestOptions {
  body?: unknown;
  accept: string;
}

export function createRest(options: RestOptions): RestApi {
  const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
  const doFetch = options.fetch ?? globalThis.fetch;

  function url(path: string): string {
    return new URL(path, base).toString();
  }

  /** Sends one request; resolves with the response only if it is 2xx. */
  async function send(method: string, path: string, opts: SendOptions): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.apiKey}`,
      accept: opts.accept,
    };
    const init: RequestInit = { method, headers };
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    if (opts.signal) init.signal = opts.signal;
    let res: Response;
    try {
      res = await doFetch(url(path), init);
    } catch (error) {
      if (opts.signal?.aborted) throw error;
      const reason = error instanceof Error ? (error.cause ?? error) : error;
      const detail = reason instanceof Error ? reason.message : String(reason);
      throw new ClientError('network_error', `${method} ${url(path)} failed: ${detail}`, {
        cause: error,
      });
    }
    if (!res.ok) {
      const requestId = res.headers.get('x-request-id') ?? undefined;
      throw apiErrorFrom(res.status, res.statusText, await res.text(), requestId);
    }
    return res;
  }

  async function json<T>(
    schema: Schema<T>,
    method: string,
    path: string,
    opts: RequestOptions & { body?: unknown },
  ): Promise<T> {
    const res = await send(method, path, { ...opts, accept: 'application/json' });
    const text = await res.text();
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new ClientError('invalid_response', `${method} /${path} did not answer with JSON`);
    }
    return parseOrThrow(schema, data, `${method} /${path} response`);
  }

  const job = (id: string): string => `v1/jobs/${encodeURIComponent(id)}`;
  const upload = (id: string): string => `v1/uploads/${encodeURIComponent(id)}`;
  const enrichment = (id: string, key: string): string =>
    `${job(id)}/enrichments/${encodeURIComponent(key)}`;

  async function getTranscript(
    id: string,
    format: TextFormat,
    opts?: RequestOptions,
  ): Promise<string>;
  async function getTranscript(
    id: string,
    format: 'json',
    opts?: RequestOptions,
  ): Promise<TranscriptJson>;
  async function getTranscript(
    id: string,
    format: TranscriptFormat,
    opts?: RequestOptions,
  ): Promise<string | TranscriptJson>;
  async function getTranscript(
    id: string,
    format: TranscriptFormat,
    opts: RequestOptions = {},
  ): Promise<string | TranscriptJson> {
    const path = `${job(id)}/transcript?format=${format}`;
    if (format === 'json') return json(TranscriptJson, 'GET', path, opts);
    const res = await send('GET', path, { ...opts, accept: 'text/plain' });
    return res.text();
  }

  async function getEnrichment(
    jobId: string,
    key: string,
    format?: EnrichmentTextFormat,
    opts?: RequestOptions,
  ): Promise<string>;
  async function getEnrichment(
    jobId: string,
    key: string,
    format: 'json',
    opts?: RequestOptions,
  ): Promise<EnrichmentJson>;
  async function getEnrichment(
    jobId: string,
    key: string,
    format?: EnrichmentFormat,
    opts?: RequestOptions,
  ): Promise<string | EnrichmentJson>;
  async function getEnrichment(
    jobId: string,
    key: string,
    format?: EnrichmentFormat,
    opts: RequestOptions = {},
  ): Promise<string | EnrichmentJson> {
    const path = `${enrichment(jobId, key)}${format ? `?format=${format}` : ''}`;
    if (format === 'json') return json(EnrichmentJson, 'GET', path, opts);
    const res = await send('GET', path, { ...opts, accept: 'text/*' });
    return res.text();
  }

  function jobsQuery(opts: ListJobsOptions): string {
    const query = new URLSearchParams();
    if (opts.status !== undefined) {
      query.set('status', typeof opts.status === 'string' ? opts.status : opts.status.join(','));
    }
    const instant = (d: Date | string) => (typeof d === 'string' ? d : d.toISOString());
    if (opts.createdAfter !== undefined) query.set('createdAfter', instant(opts.createdAfter));
    if (opts.createdBefore !== undefined) query.set('createdBefore', instant(opts.createdBefore));
    if (opts.limit !== undefined) query.set('limit', String(opts.limit));
    if (opts.cursor !== undefined) query.set('cursor', opts.cursor);
    const text = query.toString();
    return text ? `v1/jobs?${text}` : 'v1/jobs';
  }

  return {
    createUpload: (input, opts = {}) =>
      json(CreateUploadResponse, 'POST', 'v1/uploads', { ...opts, body: input }),
    createJob: (input, opts = {}) =>
      json(CreateJobResponse, 'POST', 'v1/jobs', { ...opts, body: input }),
    getUploadPartUrls: (id, input, opts = {}) =>
      json(UploadPartsResponse, 'POST', `${upload(id)}/parts`, { ...opts, body: input }),
    completeUpload: (id, input, opts = {}) =>
      json(Upload, 'POST', `${upload(id)}/complete`, { ...opts, body: input }),
    deleteUpload: async (id, opts = {}) => {
      await send('DELETE', upload(id), { ...opts, accept: 'application/json' });
    },
    getJob: (id, opts = {}) => json(Job, 'GET', job(id), opts),
    listJobs: (opts = {}) =>
      json(JobList, 'GET', jobsQuery(opts), opts.signal ? { signal: opts.signal } : {}),
    cancelJob: (id, opts = {}) => json(Job, 'POST', `${job(id)}/cancel`, opts),
    retryJob: (id, opts = {}) => json(Job, 'POST', `${job(id)}/retry`, opts),
    deleteJob: async (id, opts = {}) => {
      await send('DELETE', job(id), { ...opts, accept: 'application/json' });
    },
    getTranscript,
    listEvents: async (id, after = 0, opts = {}) =>
      (await json(JobEventList, 'GET', `${job(id)}/events?after=${after}`, opts)).events,
    requestEnrichment: (id, kind, opts = {}) =>
      json(Enrichment, 'POST', `${job(id)}/enrichments`, { ...opts, body: { kind } }),
    listEnrichments: async (id, opts = {}) =>
      (await json(EnrichmentList, 'GET', `${job(id)}/enrichments`, opts)).data,
    getEnrichment,
    cancelEnrichment: (id, key, opts = {}) =>
      json(Enrichment, 'POST', `${enrichment(id, key)}/cancel`, opts),
    getUsage: (opts = {}) => {
      const query = new URLSearchParams();
      if (opts.from !== undefined) query.set('from', opts.from);
      if (opts.to !== undefined) query.set('to', opts.to);
      const text = query.toString();
      return json(
        UsageResponse,
        'GET',
        text ? `v1/usage?${text}` : 'v1/usage',
        opts.signal ? { signal: opts.signal } : {},
      );
    },
    getQueue: (opts = {}) => json(QueueResponse, 'GET', 'v1/queue', opts),
  };
}
