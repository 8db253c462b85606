import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { Language, type JobOptions } from '@transcribe/contracts';
import type { JobRow, UploadRow } from '@transcribe/db';
import { requireApiKey, tenantOf } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { discardFormFile, formFileUpload, recordFormFile, storedFormFile } from '../form-file.js';
import { HttpError } from '../http-error.js';
import { queueJob } from '../job-creation.js';
import { toJob } from '../job-view.js';
import { waitForJobEnd } from '../job-wait.js';
import { assertLanguageSupported } from '../language-check.js';
import type { JobMetrics } from '../metrics.js';
import {
  jobFailureError,
  openAIError,
  openAIErrorHandler,
  type OpenAIError,
} from '../openai-errors.js';
import { OPENAI_RESPONSE_FORMATS, renderTranscription } from '../openai-formats.js';
import { listModels, resolveModel } from '../openai-models.js';
import { startTranscriptionStream } from '../openai-stream.js';
import { refuseOverQuota } from '../quota.js';
import { rateLimit } from '../rate-limit.js';
import { loadTranscript } from '../transcript-view.js';

/** The job behind an answer, so it stays visible in our own API. */
export const JOB_ID_HEADER = 'x-transcribe-job-id';

/** Default of SYNC_WAIT_S. */
const DEFAULT_SYNC_WAIT_S = 600;

/** Repeated fields arrive as `name[]` (multer folds them into an array under `name`) or once. */
const list = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]));

/**
 * The form fields of OpenAI's `POST /v1/audio/transcriptions`. `prompt`, `temperature`,
 * `include[]` and `chunking_strategy` are accepted and have no effect (our chunker cuts at
 * pauses); fields OpenAI may add later are ignored, as its SDKs may send them.
 */
const TranscriptionForm = z.object({
  model: z.string({ error: 'model is required' }).min(1, 'model is required'),
  language: Language.optional(),
  prompt: z.string().optional(),
  response_format: z.enum(OPENAI_RESPONSE_FORMATS).default('json'),
  temperature: z.coerce.number().min(0).max(1).optional(),
  timestamp_granularities: list.pipe(z.array(z.enum(['word', 'segment']))).default([]),
  include: list.optional(),
  stream: z.enum(['true', 'false']).default('false'),
  chunking_strategy: z.unknown().optional(),
});
type TranscriptionForm = z.output<typeof TranscriptionForm>;

function modelNotFound(model: string, status = 400): HttpError {
  return new HttpError(
    status,
    'engine_unavailable',
    `The model \`${model}\` does not exist or is not enabled here; see GET /v1/models`,
    { param: 'model' },
  );
}

/**
 * OpenAI's audio API on our pipeline: the file streams to S3, a high-priority job is
 * queued like any other, and the request waits for the job's completion event (pushed,
 * never polled) to answer in OpenAI's shapes; past SYNC_WAIT_S it answers 202 with the job.
 * Errors here use OpenAI's shape.
 */
export function openAIAudioRouter(
  deps: GatewayDeps & Required<Pick<GatewayDeps, 'apiKeys'>>,
  metrics: JobMetrics,
): Router {
  const router = Router();
  const paths = ['/v1/audio', '/v1/models'];
  const waitMs = (deps.settings.syncWaitS ?? DEFAULT_SYNC_WAIT_S) * 1000;
  router.use(paths, requireApiKey(deps.apiKeys, deps.authThrottle));

  router.get('/v1/models', (_req, res) => {
    res.json({ object: 'list', data: listModels(deps.settings) });
  });

  router.get('/v1/models/:model', (req, res) => {
    const model = listModels(deps.settings).find((m) => m.id === req.params.model);
    if (!model) throw modelNotFound(String(req.params.model), 404);
    res.json(model);
  });

  router.post(
    '/v1/audio/transcriptions',
    rateLimit(deps.rateLimits, 'jobs', deps.logger),
    refuseOverQuota(deps),
    formFileUpload(deps, { fields: 30, parts: 40 }),
    async (req: Request, res: Response) => {
      const tenantId = tenantOf(req);
      let row: UploadRow | undefined;
      let form: TranscriptionForm;
      let job: JobRow;
      const stored = req.file?.uploadId ? storedFormFile(req.file) : undefined;
      try {
        form = TranscriptionForm.parse({ ...(req.body as Record<string, unknown>) });
        if (!stored) {
          throw new HttpError(400, 'validation_failed', 'a file is required', { param: 'file' });
        }
        const target = resolveModel(deps.settings, form.model);
        if (!target) throw modelNotFound(form.model);
        const options: z.output<typeof JobOptions> = {
          language: form.language ?? 'auto',
          engine: target.engine,
          ...(target.model !== undefined && { model: target.model }),
          priority: 'high',
        };
        assertLanguageSupported(deps.settings, options);
        row = await recordFormFile(deps, tenantId, req.file!, stored, (r) => (row = r));
        job = await queueJob(deps, { tenantId, upload: row, options });
      } catch (error) {
        if (stored) await discardFormFile(deps, stored, row);
        throw error;
      }
      metrics.created.inc({ priority: job.priority, engine: job.engine });
      res.setHeader(JOB_ID_HEADER, job.id);
      const left = new AbortController();
      res.on('close', () => left.abort());
      if (form.stream === 'true') {
        await streamAnswer(deps, req, res, job, form, waitMs, left.signal);
        return;
      }
      const end = await waitForJobEnd(deps, job, { waitMs, signal: left.signal });
      if (!end || left.signal.aborted) return;
      if (end.status === 'completed') {
        const transcript = await loadTranscript(deps, end);
        const { contentType, body } = renderTranscription(transcript, {
          format: form.response_format,
          words: form.timestamp_granularities.includes('word'),
        });
        res
          .status(200)
          .type(contentType)
          .send(typeof body === 'string' ? body : JSON.stringify(body));
        return;
      }
      const failure = endedWithout(end);
      if (failure) {
        res.status(failure.status).json(failure.body);
        return;
      }
      // Still running at the wait limit: where to follow it.
      const view = toJob(end, deps.links);
      res
        .status(202)
        .location(view.links.self)
        .json({ id: view.id, status: view.status, links: view.links });
    },
  );

  router.post('/v1/audio/translations', (_req, _res) => {
    throw new HttpError(
      400,
      'engine_unavailable',
      'translation is not available here: no configured engine translates (see docs/openai-compatible.md)',
      { param: 'model' },
    );
  });

  // Anything else under these paths is unknown in OpenAI's shape too.
  router.use(paths, (req, _res, next) =>
    next(
      new HttpError(
        404,
        'not_found',
        `no route for ${req.method} ${req.originalUrl.split('?')[0]}`,
      ),
    ),
  );
  router.use(paths, openAIErrorHandler);
  return router;
}

async function streamAnswer(
  deps: GatewayDeps,
  req: Request,
  res: Response,
  job: JobRow,
  form: TranscriptionForm,
  waitMs: number,
  signal: AbortSignal,
): Promise<void> {
  const stream = startTranscriptionStream(deps, res, job);
  const end = await waitForJobEnd(deps, job, {
    waitMs,
    signal,
    onEvent: (event) => {
      if (event.type === 'progress') {
        stream.sendNewChunks().catch((err: unknown) => req.log?.warn({ err }, 'chunk read failed'));
      }
    },
  });
  if (!end || signal.aborted) return;
  if (end.status === 'completed') {
    const segments =
      form.response_format === 'diarized_json' || form.timestamp_granularities.includes('segment');
    await stream.finish(await loadTranscript(deps, end), { segments });
    return;
  }
  const failure =
    endedWithout(end) ??
    openAIError(
      504,
      `the job is still ${end.status} after the wait limit; follow it at ${toJob(end, deps.links).links.self}`,
      { code: 'sync_wait_exceeded' },
    );
  stream.fail(failure.body);
}

/** The answer for a job that ended without a transcript (failed or canceled); else undefined. */
function endedWithout(end: JobRow): OpenAIError | undefined {
  if (end.status === 'failed') {
    return jobFailureError(end.error_code ?? 'engine_failed', end.error_message ?? 'failed');
  }
  if (end.status === 'canceled') {
    return openAIError(400, 'the job was canceled', { code: 'job_canceled' });
  }
  return undefined;
}
