import { z } from 'zod';
import {
  createDocument,
  type oas31,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
} from 'zod-openapi';
import {
  AfterSeq,
  CompleteUploadRequest,
  CreateEnrichmentRequest,
  CreateJobRequest,
  CreateJobResponse,
  CreateUploadRequest,
  CreateUploadResponse,
  Enrichment,
  EnrichmentFormat,
  EnrichmentJson,
  EnrichmentList,
  ErrorBody,
  Job,
  JobEventList,
  JobMedia,
  JobList,
  JobOptions,
  ListJobsQuery,
  OpenAIDiarizedTranscription,
  OpenAIErrorBody,
  OpenAIModel,
  OpenAIModelList,
  OpenAITranscription,
  OpenAIVerboseTranscription,
  QueueResponse,
  QuotaExceededDetails,
  UsageQuery,
  UsageResponse,
  TranscriptFormat,
  TranscriptJson,
  Upload,
  UploadPartsRequest,
  UploadPartsResponse,
  TenantWebhookSettings,
  UpdateTenantWebhookRequest,
  WebhookDelivery,
  WebhookDeliveryList,
  WebhookSecretResponse,
} from '@transcribe/contracts';

// The document is generated from the same zod schemas the routes parse with, so the
// reference cannot drift from what the gateway accepts and answers.

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });
const error = (description: string) => ({ description, content: json(ErrorBody) });
const idParam = (what: string) => ({
  path: z.object({ id: z.uuid().meta({ description: `${what} id` }) }),
});

const common = {
  '400': error('validation_failed or bad_request: the request is malformed'),
  '401': error('unauthorized: missing, invalid or revoked API key'),
  '429': error('rate_limited: too many requests (or failed API keys); see Retry-After'),
  '503': error('dependency_unavailable: Postgres or S3 is down; see Retry-After'),
};
const notFound = { '404': error("not_found: unknown id, or another tenant's") };
const webhookRefused = {
  '400': error(
    'validation_failed or bad_request: the request is malformed; webhook_url_refused: the ' +
      'webhook URL is, or resolves to, a private, loopback, link-local or otherwise non-public address',
  ),
};
/** Job creation also refuses a language the engine cannot transcribe. */
const jobRefused = {
  '400': error(
    'validation_failed or bad_request: the request is malformed; webhook_url_refused: the ' +
      'webhook URL is, or resolves to, a private, loopback, link-local or otherwise non-public address; ' +
      'language_unsupported: the engine (with its model) cannot transcribe `language` (details.supported lists what it can)',
  ),
};
/** Creation with `enrich` where no chat engine is configured, beside the usual outage. */
const enrichUnavailable = {
  '503': error(
    'enrichment_unavailable: enrichments were asked for but ENRICH_BASE_URL is not set (nothing was created); ' +
      'dependency_unavailable: Postgres or S3 is down, see Retry-After',
  ),
};
const enrichmentParams = {
  path: z.object({
    id: z.uuid().meta({ description: 'job id' }),
    key: z.string().meta({
      description: '`clean`, `summary`, `notes` or `translate:<language>` (may be percent-encoded)',
      example: 'translate:de',
    }),
  }),
};
const rateLimited = {
  '429': error("rate_limited: the tenant's budget is spent; see the Retry-After header"),
};
/** Job creation also refuses a tenant over one of its quotas (issue 17). */
const creationLimited = {
  '429': error(
    "rate_limited: the tenant's budget is spent, see Retry-After; quota_exceeded: the tenant " +
      'has its cap of queued jobs, or used its daily audio (details: QuotaExceededDetails; ' +
      'Retry-After until the daily reset). Nothing already accepted is affected',
  ),
};

function op(
  summary: string,
  operation: Omit<ZodOpenApiOperationObject, 'summary'>,
): ZodOpenApiOperationObject {
  return {
    summary,
    security: [{ apiKey: [] }],
    ...operation,
    responses: { ...common, ...operation.responses },
  };
}

const FormJobRequest = z.object({
  file: z.string().meta({
    format: 'binary',
    description: 'the recording (mp3, wav, flac, m4a, aac, ogg, opus, webm, mp4, mov)',
  }),
  language: z.string().optional(),
  engine: z.string().optional(),
  model: z.string().optional(),
  priority: z.string().optional(),
  webhookUrl: z.string().optional(),
  metadata: z.string().optional().meta({ description: 'a JSON object of string values' }),
  enrich: z.string().optional().meta({
    description:
      'enrichments: a JSON array like `["summary",{"translate":"de"}]` or keys like `clean,summary,translate:de`',
  }),
});

const openAIError = (description: string) => ({ description, content: json(OpenAIErrorBody) });

/** OpenAI's audio API: its own error shape (`{error: {message, type, param, code}}`). */
function openAIOp(
  summary: string,
  operation: Omit<ZodOpenApiOperationObject, 'summary'>,
): ZodOpenApiOperationObject {
  return {
    summary,
    tags: ['OpenAI-compatible'],
    security: [{ apiKey: [] }],
    ...operation,
    responses: {
      '400': openAIError(
        'invalid_request_error: a bad field, an unknown or disabled model, a bad file',
      ),
      '401': openAIError('invalid_api_key'),
      '429': openAIError(
        'rate_limit_exceeded, or insufficient_quota (the daily audio quota, or the cap of queued jobs)',
      ),
      '503': openAIError('a dependency is unavailable; see Retry-After'),
      ...operation.responses,
    },
  };
}

const OpenAITranscriptionForm = z.object({
  file: z
    .string()
    .meta({ format: 'binary', description: 'the recording, up to MAX_FORM_UPLOAD_BYTES' }),
  model: z.string().meta({
    description:
      'an alias of OPENAI_MODEL_ALIASES, `whisper-1`, or `sphinx`, `whisper-cpp[:model]`, `openai:<model>`',
  }),
  language: z.string().optional(),
  prompt: z.string().optional().meta({ description: 'accepted, no effect' }),
  response_format: z
    .enum(['json', 'text', 'srt', 'vtt', 'verbose_json', 'diarized_json'])
    .optional(),
  temperature: z.string().optional().meta({ description: 'accepted, no effect' }),
  'timestamp_granularities[]': z.enum(['word', 'segment']).optional(),
  'include[]': z.string().optional().meta({ description: 'accepted, no effect' }),
  stream: z.enum(['true', 'false']).optional(),
  chunking_strategy: z
    .string()
    .optional()
    .meta({ description: 'accepted; the chunker cuts at pauses' }),
});

const SyncWaitExceeded = z.object({
  id: z.uuid(),
  status: z.string(),
  links: z.object({ self: z.string(), transcript: z.string(), events: z.string() }),
});

export const openAIPaths: ZodOpenApiPathsObject = {
  '/v1/audio/transcriptions': {
    post: openAIOp(
      'OpenAI-compatible transcription: waits for the job (see docs/openai-compatible.md)',
      {
        requestBody: { content: { 'multipart/form-data': { schema: OpenAITranscriptionForm } } },
        responses: {
          '200': {
            description:
              'the transcript in `response_format` (text, srt and vtt as text/plain), or server-sent events with `stream=true`; the job id is in `x-transcribe-job-id`',
            content: {
              'application/json': {
                schema: z.union([
                  OpenAITranscription,
                  OpenAIVerboseTranscription,
                  OpenAIDiarizedTranscription,
                ]),
              },
              'text/plain': { schema: z.string() },
              'text/event-stream': { schema: z.string() },
            },
          },
          '202': {
            description: 'still running after SYNC_WAIT_S: follow the job',
            content: json(SyncWaitExceeded),
          },
          '413': openAIError('over MAX_FORM_UPLOAD_BYTES'),
          '500': openAIError('the job failed on the service side (engine_failed, worker_lost, …)'),
        },
      },
    ),
  },
  '/v1/audio/translations': {
    post: openAIOp('OpenAI-compatible translation: refused, no configured engine translates', {
      requestBody: { content: { 'multipart/form-data': { schema: OpenAITranscriptionForm } } },
      responses: {},
    }),
  },
  '/v1/models': {
    get: openAIOp('Models the OpenAI-compatible API accepts here', {
      responses: { '200': { description: 'the list', content: json(OpenAIModelList) } },
    }),
  },
  '/v1/models/{model}': {
    get: openAIOp('One model', {
      requestParams: { path: z.object({ model: z.string() }) },
      responses: {
        '200': { description: 'the model', content: json(OpenAIModel) },
        '404': openAIError('not a model here'),
      },
    }),
  },
};

export const paths: ZodOpenApiPathsObject = {
  '/v1/uploads': {
    post: op('Start an upload: a presigned PUT, a presigned POST form, or a multipart upload', {
      requestBody: { content: json(CreateUploadRequest) },
      responses: {
        '201': {
          description: 'where and how to send the bytes',
          content: json(CreateUploadResponse),
        },
        '413': error('payload_too_large: sizeBytes is over MAX_UPLOAD_BYTES'),
        ...rateLimited,
      },
    }),
  },
  '/v1/uploads/{id}': {
    get: op('An upload', {
      requestParams: idParam('upload'),
      responses: {
        '200': { description: 'the upload', content: json(Upload) },
        '404': error('upload_not_found'),
      },
    }),
    delete: op('Discard an unused upload (aborts a multipart upload); idempotent', {
      requestParams: idParam('upload'),
      responses: {
        '204': { description: 'gone' },
        '409': error('upload_already_used: delete the job'),
      },
    }),
  },
  '/v1/uploads/{id}/parts': {
    post: op("Presigned URLs for parts of a multipart upload (each part's SHA-256 is signed in)", {
      requestParams: idParam('upload'),
      requestBody: { content: json(UploadPartsRequest) },
      responses: {
        '200': { description: 'one URL per part', content: json(UploadPartsResponse) },
        '404': error('upload_not_found'),
        '409': error('not a multipart upload, or already completed'),
        '410': error('upload_expired'),
      },
    }),
  },
  '/v1/uploads/{id}/complete': {
    post: op('Complete a multipart upload', {
      requestParams: idParam('upload'),
      requestBody: { content: json(CompleteUploadRequest) },
      responses: {
        '200': { description: 'the upload, ready for a job', content: json(Upload) },
        '404': error('upload_not_found'),
        '409': error('not a multipart upload, or already completed'),
        '410': error('upload_expired'),
      },
    }),
  },
  '/v1/jobs': {
    post: op('Create a job from a finished upload', {
      requestParams: {
        header: z.object({
          'idempotency-key': z.string().optional().meta({
            description: 'same key and body: the same job again; same key, other body: 409',
          }),
        }),
      },
      requestBody: { content: json(CreateJobRequest) },
      responses: {
        '202': { description: 'queued', content: json(CreateJobResponse) },
        ...jobRefused,
        '404': error('upload_not_found'),
        '409': error('upload_missing, upload_already_used or idempotency_conflict'),
        '410': error('upload_expired'),
        '415': error('unsupported_media_type: the object is not audio or video; it was deleted'),
        '422': error('upload_size_mismatch (the object was deleted) or engine_unavailable'),
        ...creationLimited,
        ...enrichUnavailable,
      },
    }),
    get: op('List jobs, newest first', {
      requestParams: { query: ListJobsQuery },
      responses: { '200': { description: 'a page of jobs', content: json(JobList) } },
    }),
  },
  '/v1/jobs/upload': {
    post: op(
      'Upload a file through the gateway and create its job (for clients that cannot use presigned URLs)',
      {
        requestBody: { content: { 'multipart/form-data': { schema: FormJobRequest } } },
        responses: {
          '202': { description: 'queued', content: json(CreateJobResponse) },
          ...jobRefused,
          '413': error('payload_too_large: over MAX_FORM_UPLOAD_BYTES'),
          '415': error('unsupported_media_type'),
          '422': error('engine_unavailable'),
          ...creationLimited,
          ...enrichUnavailable,
        },
      },
    ),
  },
  '/v1/jobs/{id}': {
    get: op('A job', {
      requestParams: idParam('job'),
      responses: { '200': { description: 'the job', content: json(Job) }, ...notFound },
    }),
    delete: op('Delete a job, its events, its uploaded object and its transcript; idempotent', {
      requestParams: idParam('job'),
      responses: { '204': { description: 'gone' } },
    }),
  },
  '/v1/jobs/{id}/cancel': {
    post: op('Cancel a queued or processing job (a processing job stops at its next chunk)', {
      requestParams: idParam('job'),
      responses: {
        '200': { description: 'canceled', content: json(Job) },
        ...notFound,
        '409': error('invalid_job_state: already completed or failed'),
      },
    }),
  },
  '/v1/jobs/{id}/retry': {
    post: op('Queue a failed or canceled job again', {
      requestParams: idParam('job'),
      responses: {
        '202': { description: 'queued again', content: json(Job) },
        ...notFound,
        '409': error('invalid_job_state: not failed or canceled'),
        ...creationLimited,
      },
    }),
  },
  '/v1/jobs/{id}/enrichments': {
    post: op('Ask for an enrichment of a job: a clean-up, a summary, notes or a translation', {
      requestParams: idParam('job'),
      requestBody: { content: json(CreateEnrichmentRequest) },
      responses: {
        '201': {
          description: 'queued (runs once the transcript is ready)',
          content: json(Enrichment),
        },
        '200': {
          description: 'this key was asked for already: the same task',
          content: json(Enrichment),
        },
        ...notFound,
        '409': error('invalid_job_state: the job failed or was canceled (retry it first)'),
        ...rateLimited,
        ...enrichUnavailable,
      },
    }),
    get: op("A job's enrichments, in the order asked", {
      requestParams: idParam('job'),
      responses: {
        '200': { description: 'the enrichments', content: json(EnrichmentList) },
        ...notFound,
      },
    }),
  },
  '/v1/jobs/{id}/enrichments/{key}': {
    get: op(
      "An enrichment's result as md, txt, json, srt or vtt (srt and vtt: clean and translate)",
      {
        requestParams: {
          ...enrichmentParams,
          query: z.object({
            format: EnrichmentFormat.optional().meta({
              description: 'default: md for summary and notes, txt for clean and translate',
            }),
          }),
        },
        responses: {
          '200': {
            description: 'the result',
            content: {
              ...json(EnrichmentJson),
              'text/markdown': { schema: z.string() },
              'text/plain': { schema: z.string() },
              'application/x-subrip': { schema: z.string() },
              'text/vtt': { schema: z.string() },
            },
          },
          '400': error(
            'validation_failed: a malformed key, or a format this kind has not (details.formats lists them)',
          ),
          '404': error("not_found: unknown job (or another tenant's), or no such enrichment on it"),
          '409': error(
            'enrichment_not_completed: details.status and details.progress say where it is',
          ),
        },
      },
    ),
  },
  '/v1/jobs/{id}/enrichments/{key}/cancel': {
    post: op('Cancel a queued or processing enrichment (idempotent once canceled)', {
      requestParams: enrichmentParams,
      responses: {
        '200': { description: 'canceled', content: json(Enrichment) },
        '404': error("not_found: unknown job (or another tenant's), or no such enrichment on it"),
        '409': error('invalid_job_state: the enrichment already completed or failed'),
      },
    }),
  },
  '/v1/usage': {
    get: op(
      "The tenant's usage by UTC day: jobs submitted and ended, audio and processing seconds",
      {
        requestParams: { query: UsageQuery },
        responses: {
          '200': {
            description: 'every day of the range, and totals',
            content: json(UsageResponse),
          },
          '400': error(
            'validation_failed: a day that is not YYYY-MM-DD, from after to, or more than 366 days',
          ),
        },
      },
    ),
  },
  '/v1/queue': {
    get: op(
      "The tenant's queued and running jobs, its limits in effect, today's audio and where its next queued job stands",
      { responses: { '200': { description: 'the figures', content: json(QueueResponse) } } },
    ),
  },
  '/v1/webhooks': {
    get: op("The tenant's webhook settings", {
      responses: { '200': { description: 'settings', content: json(TenantWebhookSettings) } },
    }),
    put: op('Set (or clear, with null) the URL that jobs without a webhookUrl report to', {
      requestBody: { content: json(UpdateTenantWebhookRequest) },
      responses: {
        '200': { description: 'settings', content: json(TenantWebhookSettings) },
        ...webhookRefused,
      },
    }),
  },
  '/v1/webhooks/secret': {
    post: op('Replace the webhook signing secret; the answer is the only time it is shown', {
      responses: { '201': { description: 'the new secret', content: json(WebhookSecretResponse) } },
    }),
  },
  '/v1/jobs/{id}/webhooks/deliveries': {
    get: op("A job's webhook deliveries, each with its attempts", {
      requestParams: idParam('job'),
      responses: {
        '200': { description: 'deliveries', content: json(WebhookDeliveryList) },
        ...notFound,
      },
    }),
  },
  '/v1/jobs/{id}/webhooks/deliveries/{deliveryId}/redeliver': {
    post: op('Send a finished webhook delivery again', {
      requestParams: {
        path: z.object({ id: z.uuid(), deliveryId: z.uuid() }),
      },
      responses: {
        '202': { description: 'queued for delivery', content: json(WebhookDelivery) },
        ...notFound,
        '409': error('conflict: the delivery is still being attempted'),
      },
    }),
  },
  '/v1/jobs/{id}/events': {
    get: op('Stored events after a seq (REST replay of the WebSocket stream)', {
      requestParams: { ...idParam('job'), query: z.object({ after: AfterSeq }) },
      responses: {
        '200': { description: 'events, oldest first', content: json(JobEventList) },
        ...notFound,
      },
    }),
  },
  '/v1/jobs/{id}/media': {
    get: op("A presigned GET of the job's original recording (for a media player)", {
      requestParams: idParam('job'),
      responses: {
        '200': { description: 'the link and when it expires', content: json(JobMedia) },
        ...notFound,
        '410': error('object_missing: the recording is no longer stored'),
      },
    }),
  },
  '/v1/jobs/{id}/transcript': {
    get: op('The transcript as json, txt, srt or vtt', {
      requestParams: {
        ...idParam('job'),
        query: z.object({
          format: TranscriptFormat.default('json'),
          partial: z.enum(['true', 'false']).optional().meta({
            description: 'while the job runs: the chunks finished so far',
          }),
        }),
      },
      responses: {
        '200': {
          description: 'the transcript',
          content: {
            ...json(TranscriptJson),
            'text/plain': { schema: z.string() },
            'application/x-subrip': { schema: z.string() },
            'text/vtt': { schema: z.string() },
          },
        },
        ...notFound,
        '409': error("job_not_completed: details.status is the job's status"),
      },
    }),
  },
};

const health = z.object({
  status: z.enum(['ok', 'not_ready', 'wedged']),
  checks: z.record(z.string(), z.string()).optional(),
  reasons: z.array(z.string()).optional(),
});

export function openApiDocument(extraPaths: ZodOpenApiPathsObject = {}): oas31.OpenAPIObject {
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'transcribe',
      version: '1.0.0',
      description:
        'A self-hostable transcription service. Every error is `{"error": {"code", "message", "details?"}}` with a stable code.',
    },
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'an API key: `transcribe keys create`',
        },
      },
      schemas: { JobOptions, QuotaExceededDetails },
    },
    paths: {
      ...paths,
      ...openAIPaths,
      ...extraPaths,
      '/healthz': {
        get: {
          summary: 'Liveness',
          responses: {
            '200': { description: 'up', content: json(health) },
            '503': { description: 'wedged: restart this process', content: json(health) },
          },
        },
      },
      '/readyz': {
        get: {
          summary: 'Readiness of Postgres, RabbitMQ and S3',
          responses: {
            '200': { description: 'ready', content: json(health) },
            '503': { description: 'not ready', content: json(health) },
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'text exposition format' } },
        },
      },
    },
  });
}
