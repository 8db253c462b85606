import { Router, type Request } from 'express';
import { z } from 'zod';
import {
  AfterSeq,
  CreateJobRequest,
  ListJobsQuery,
  TranscriptFormat,
  type JobEventList,
  type JobList,
} from '@transcribe/contracts';
import {
  findJob,
  findUpload,
  listEnrichments,
  listEnrichmentsOfJobs,
  listJobEvents,
  listJobs,
} from '@transcribe/db';
import { cancelJob, retryJob, sourcesOf } from '@transcribe/jobs';
import { tenantOf } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import { assertEnrichmentsAvailable } from '../enrichment-check.js';
import { jobView, liveContexts, loadTenantJob } from '../job-access.js';
import {
  assertEngineEnabled,
  assertUploadClaimable,
  creationResponse,
  queueJob,
  replayIdempotent,
  requestHash,
  verifyUploadedObject,
  type Idempotency,
} from '../job-creation.js';
import { purgeJob } from '../cleanup.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { toJob } from '../job-view.js';
import type { JobMetrics } from '../metrics.js';
import { assertLanguageSupported } from '../language-check.js';
import { rateLimit } from '../rate-limit.js';
import { toSrt, toVtt } from '../subtitles.js';
import { admitQueuedJob } from '../quota.js';
import { loadTranscript } from '../transcript-view.js';
import { assertWebhookUrlAllowed } from '../webhook-url.js';

const JobId = z.uuid();
const EventsQuery = z.object({ after: AfterSeq });
const TranscriptQuery = z.object({
  format: TranscriptFormat.default('json'),
  partial: z.enum(['true', 'false', '1', '0']).optional(),
});
const IdempotencyKey = z.string().regex(/^[\x21-\x7e]{1,255}$/, '1–255 printable ASCII characters');

export function jobsRouter(deps: GatewayDeps, metrics: JobMetrics): Router {
  const router = Router();

  const loadJob = (req: Request) => loadTenantJob(deps, req);

  router.post('/v1/jobs', rateLimit(deps.rateLimits, 'jobs', deps.logger), async (req, res) => {
    const tenantId = tenantOf(req);
    const input = CreateJobRequest.parse(req.body);
    const keyHeader = req.get('idempotency-key');
    let idempotency: Idempotency | undefined;
    if (keyHeader !== undefined) {
      const key = IdempotencyKey.safeParse(keyHeader);
      if (!key.success) {
        throw new HttpError(
          400,
          'validation_failed',
          'Idempotency-Key: 1–255 printable ASCII characters',
        );
      }
      idempotency = { key: key.data, hash: requestHash(input) };
      const existing = await replayIdempotent(deps, tenantId, idempotency);
      if (existing) {
        res.setHeader('idempotent-replayed', 'true');
        res
          .status(202)
          .location(toJob(existing, deps.links).links.self)
          .json(creationResponse(deps, existing, await listEnrichments(deps.db, existing.id)));
        return;
      }
    }
    assertEngineEnabled(deps, input.engine);
    assertLanguageSupported(deps.settings, input);
    assertEnrichmentsAvailable(deps.settings, input.enrich);
    await assertWebhookUrlAllowed(deps.settings, input.webhookUrl, 'webhookUrl');
    const upload = await findUpload(deps.db, tenantId, input.uploadId);
    if (!upload) throw new HttpError(404, 'upload_not_found', 'upload not found');
    assertUploadClaimable(upload);
    await verifyUploadedObject(deps, upload);
    const { uploadId: _uploadId, ...options } = input;
    const job = await queueJob(deps, { tenantId, upload, options, idempotency });
    metrics.created.inc({ priority: job.priority, engine: job.engine });
    // A job made without enrichments has none: no query to find that out.
    const enrichments = input.enrich?.length ? await listEnrichments(deps.db, job.id) : [];
    res
      .status(202)
      .location(toJob(job, deps.links).links.self)
      .json(creationResponse(deps, job, enrichments));
  });

  router.get('/v1/jobs', async (req, res) => {
    const query = ListJobsQuery.parse(req.query);
    const rows = await listJobs(deps.db, {
      tenantId: tenantOf(req),
      statuses: query.status,
      createdAfter: query.createdAfter ? new Date(query.createdAfter) : undefined,
      createdBefore: query.createdBefore ? new Date(query.createdBefore) : undefined,
      beforeId: query.cursor ? decodeCursor(query.cursor) : undefined,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const enrichments = await listEnrichmentsOfJobs(
      deps.db,
      page.map((row) => row.id),
    );
    const live = await liveContexts(deps, page);
    const body: JobList = {
      data: page.map((row) => toJob(row, deps.links, enrichments.get(row.id), live(row))),
      nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null,
    };
    res.json(body);
  });

  router.get('/v1/jobs/:id', async (req, res) => {
    res.json(await jobView(deps, await loadJob(req)));
  });

  router.post('/v1/jobs/:id/cancel', async (req, res) => {
    const job = await loadJob(req);
    if (job.status === 'canceled') {
      res.json(await jobView(deps, job));
      return;
    }
    const canceled = await cancelJob(deps.db, job.tenant_id, job.id);
    if (!canceled) {
      const now = await findJob(deps.db, job.tenant_id, job.id);
      if (now?.status === 'canceled') {
        res.json(await jobView(deps, now));
        return;
      }
      throw new HttpError(
        409,
        'invalid_job_state',
        `a ${now?.status ?? 'deleted'} job cannot be canceled`,
        {
          status: now?.status ?? null,
        },
      );
    }
    deps.relay.kick();
    res.json(await jobView(deps, canceled));
  });

  router.post(
    '/v1/jobs/:id/retry',
    rateLimit(deps.rateLimits, 'jobs', deps.logger),
    async (req, res) => {
      const job = await loadJob(req);
      const retried = await deps.db.transaction().execute(async (trx) => {
        // A retry queues the job again, so the cap on queued jobs applies as to a new one
        // (else canceling and retrying would get round it). Another state: the edge's 409.
        if (sourcesOf('retry').includes(job.status)) {
          await admitQueuedJob(trx, deps.settings, job.tenant_id);
        }
        return retryJob(trx, job.tenant_id, job.id);
      });
      if (!retried) {
        throw new HttpError(
          409,
          'invalid_job_state',
          `only failed or canceled jobs can be retried; this one is ${job.status}`,
          {
            status: job.status,
          },
        );
      }
      deps.relay.kick();
      res.status(202).json(await jobView(deps, retried));
    },
  );

  router.delete('/v1/jobs/:id', async (req, res) => {
    const id = JobId.safeParse(req.params.id);
    const tenantId = tenantOf(req);
    const job = id.success ? await findJob(deps.db, tenantId, id.data) : undefined;
    if (job) {
      // A running job is canceled first, so its worker stops instead of writing to nothing.
      if (job.status === 'queued' || job.status === 'processing') {
        await cancelJob(deps.db, tenantId, job.id);
        deps.relay.kick();
      }
      // Its enrichments go with the row (ON DELETE CASCADE), finished or not: a worker
      // still running one of a completed job's finds its row gone, as it would the job's.
      await purgeJob(deps.db, deps.storage, job);
      req.log.info({ jobId: job.id }, 'job deleted');
    }
    // Deleting what is not there (any more, or never for this tenant) is done already.
    res.status(204).end();
  });

  router.get('/v1/jobs/:id/events', async (req, res) => {
    const job = await loadJob(req);
    const { after } = EventsQuery.parse(req.query);
    const body: JobEventList = { events: await listJobEvents(deps.db, job.id, after) };
    res.json(body);
  });

  router.get('/v1/jobs/:id/transcript', async (req, res) => {
    const { format, partial } = TranscriptQuery.parse(req.query);
    const job = await loadJob(req);
    const transcript = await loadTranscript(deps, job, {
      partial: partial === 'true' || partial === '1',
    });
    const { text, segments, complete } = transcript;
    res.setHeader('transcript-complete', String(complete));
    if (format === 'txt') {
      res.type('text/plain; charset=utf-8').send(text ? `${text}\n` : '');
      return;
    }
    if (format === 'srt') {
      res.type('application/x-subrip; charset=utf-8').send(toSrt(segments));
      return;
    }
    if (format === 'vtt') {
      res.type('text/vtt; charset=utf-8').send(toVtt(segments));
      return;
    }
    res.json(transcript);
  });

  return router;
}
