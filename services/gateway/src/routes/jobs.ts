import { Router, type Request } from 'express';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import {
  AfterSeq,
  CreateJobRequest,
  TranscriptFormat,
  signEventsToken,
  type CreateJobResponse,
  type JobEventList,
  type TranscriptJson,
  type Segment,
} from '@transcribe/contracts';
import {
  appendJobEvent,
  findJob,
  findUpload,
  insertJob,
  listJobEvents,
  markUploadUsed,
  type JobRow,
} from '@transcribe/db';
import { enqueueTranscription } from '@transcribe/queue';
import { tenantOf } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { HttpError, notFound } from '../http-error.js';
import { toJob } from '../job-view.js';

const JobId = z.uuid();
const EventsQuery = z.object({ after: AfterSeq });
const TranscriptQuery = z.object({ format: TranscriptFormat.default('json') });

export function jobsRouter(deps: GatewayDeps): Router {
  const router = Router();

  /** The caller's job, or 404 for unknown ids, malformed ids and other tenants' ids alike. */
  async function loadJob(req: Request): Promise<JobRow> {
    const id = JobId.safeParse(req.params.id);
    const job = id.success ? await findJob(deps.db, tenantOf(req), id.data) : undefined;
    if (!job) throw notFound();
    return job;
  }

  router.post('/v1/jobs', async (req, res) => {
    const tenantId = tenantOf(req);
    const input = CreateJobRequest.parse(req.body);
    const upload = await findUpload(deps.db, tenantId, input.uploadId);
    if (!upload) throw new HttpError(404, 'upload_not_found', 'upload not found');
    if (upload.status === 'used') {
      throw new HttpError(409, 'upload_already_used', 'this upload already has a job');
    }
    // The S3 server may not enforce the presigned length: the gateway checks what landed.
    const object = await deps.storage.head(upload.object_key);
    if (!object) {
      throw new HttpError(
        409,
        'upload_missing',
        'nothing was uploaded for this upload id yet: PUT the file to the presigned URL first',
      );
    }
    if (object.sizeBytes !== upload.size_bytes) {
      throw new HttpError(
        422,
        'upload_size_mismatch',
        `uploaded ${object.sizeBytes} bytes but declared ${upload.size_bytes}`,
      );
    }

    const job = await deps.db.transaction().execute(async (trx) => {
      if (!(await markUploadUsed(trx, upload.id))) {
        throw new HttpError(409, 'upload_already_used', 'this upload already has a job');
      }
      const row = await insertJob(trx, {
        id: uuidv7(),
        tenant_id: tenantId,
        upload_id: upload.id,
        status: 'queued',
        stage: 'queued',
        priority: input.priority,
        object_key: upload.object_key,
        filename: upload.filename,
        content_type: upload.content_type,
        size_bytes: upload.size_bytes,
        language: input.language,
        engine: input.engine ?? deps.settings.defaultEngine,
      });
      await appendJobEvent(trx, { id: row.id, tenantId }, { type: 'queued' });
      await enqueueTranscription(trx, { id: row.id, tenantId, priority: row.priority });
      return row;
    });
    deps.relay.kick();

    const exp = Math.floor(Date.now() / 1000) + deps.settings.eventsTokenTtlS;
    const token = signEventsToken({ sub: tenantId, jobId: job.id, exp }, deps.settings.tokenSecret);
    const view = toJob(job, deps.links);
    const body: CreateJobResponse = {
      ...view,
      links: { ...view.links, events: `${view.links.events}&token=${encodeURIComponent(token)}` },
      eventsToken: token,
      eventsTokenExpiresAt: new Date(exp * 1000).toISOString(),
    };
    res.status(202).location(view.links.self).json(body);
  });

  router.get('/v1/jobs/:id', async (req, res) => {
    res.json(toJob(await loadJob(req), deps.links));
  });

  router.get('/v1/jobs/:id/events', async (req, res) => {
    const job = await loadJob(req);
    const { after } = EventsQuery.parse(req.query);
    const body: JobEventList = { events: await listJobEvents(deps.db, job.id, after) };
    res.json(body);
  });

  router.get('/v1/jobs/:id/transcript', async (req, res) => {
    const { format } = TranscriptQuery.parse(req.query);
    const job = await loadJob(req);
    if (job.status !== 'completed' || job.text === null) {
      throw new HttpError(409, 'job_not_completed', `job is ${job.status}`, {
        status: job.status,
      });
    }
    if (format === 'txt') {
      res.type('text/plain; charset=utf-8').send(`${job.text}\n`);
      return;
    }
    const body: TranscriptJson = {
      jobId: job.id,
      text: job.text,
      segments: (job.segments ?? []) as Segment[],
      language: job.language,
      durationS: job.duration_s,
      engine: job.engine,
      model: job.model,
      processingMs: job.processing_ms,
    };
    res.json(body);
  });

  return router;
}
