import { Router, type Request } from 'express';
import { z } from 'zod';
import {
  CreateEnrichmentRequest,
  EnrichmentFormat,
  EnrichmentKey,
  type EnrichmentList,
} from '@transcribe/contracts';
import { findEnrichment, listEnrichments } from '@transcribe/db';
import { cancelEnrichment, requestEnrichment } from '@transcribe/jobs';
import type { GatewayDeps } from '../deps.js';
import { assertEnrichmentsAvailable } from '../enrichment-check.js';
import {
  CONTENT_TYPES,
  defaultFormatOf,
  formatsOf,
  renderEnrichment,
} from '../enrichment-render.js';
import { toEnrichment } from '../enrichment-view.js';
import { HttpError, notFound } from '../http-error.js';
import { loadTenantJob } from '../job-access.js';
import { rateLimit } from '../rate-limit.js';

const ResultQuery = z.object({ format: EnrichmentFormat.optional() });

/** `:key` as the path gives it (express has already percent-decoded it), or 400. */
function keyOf(req: Request): string {
  const key = EnrichmentKey.safeParse(req.params.key);
  if (!key.success) {
    throw new HttpError(
      400,
      'validation_failed',
      `key: ${key.error.issues[0]?.message ?? 'malformed enrichment key'}`,
      { key: req.params.key },
    );
  }
  return key.data;
}

/**
 * A job's enrichments (issue 15): ask for one after creation, list them, read a result in
 * its formats, cancel one. Tenant-scoped like every job route: another tenant's job is 404.
 */
export function enrichmentsRouter(deps: GatewayDeps): Router {
  const router = Router();
  const view = (row: Parameters<typeof toEnrichment>[0]) => toEnrichment(row, deps.links);

  router.post(
    '/v1/jobs/:id/enrichments',
    rateLimit(deps.rateLimits, 'jobs', deps.logger),
    async (req, res) => {
      const { kind } = CreateEnrichmentRequest.parse(req.body);
      const job = await loadTenantJob(deps, req);
      assertEnrichmentsAvailable(deps.settings, [kind]);
      const outcome = await requestEnrichment(deps.db, job.tenant_id, job.id, kind);
      if (!outcome) throw notFound(); // deleted since it was loaded
      if (outcome.outcome === 'job_ended') {
        throw new HttpError(
          409,
          'invalid_job_state',
          `a ${outcome.status} job has no transcript to enrich; retry the job first`,
          { status: outcome.status },
        );
      }
      const body = view(outcome.enrichment);
      if (outcome.outcome === 'existing') {
        res.status(200).json(body);
        return;
      }
      deps.relay.kick();
      res.status(201).location(body.links.self).json(body);
    },
  );

  router.get('/v1/jobs/:id/enrichments', async (req, res) => {
    const job = await loadTenantJob(deps, req);
    const body: EnrichmentList = { data: (await listEnrichments(deps.db, job.id)).map(view) };
    res.json(body);
  });

  router.get('/v1/jobs/:id/enrichments/:key', async (req, res) => {
    const { format: asked } = ResultQuery.parse(req.query);
    const key = keyOf(req);
    const job = await loadTenantJob(deps, req);
    const row = await findEnrichment(deps.db, job.id, key);
    if (!row) throw notFound(`enrichment ${key}`);
    const format = asked ?? defaultFormatOf(row.kind);
    const formats = formatsOf(row.kind);
    if (!formats.includes(format)) {
      throw new HttpError(
        400,
        'validation_failed',
        `format: ${row.kind} is not timed and has no ${format}; it is served as ${formats.join(', ')}`,
        { formats },
      );
    }
    if (row.status !== 'completed') {
      const enrichment = view(row);
      throw new HttpError(409, 'enrichment_not_completed', `enrichment ${key} is ${row.status}`, {
        status: row.status,
        progress: row.progress,
        error: enrichment.error,
      });
    }
    const rendered = renderEnrichment(row, format, deps.links);
    res.type(CONTENT_TYPES[format]);
    if (typeof rendered === 'string') res.send(rendered);
    else res.json(rendered);
  });

  router.post('/v1/jobs/:id/enrichments/:key/cancel', async (req, res) => {
    const key = keyOf(req);
    const job = await loadTenantJob(deps, req);
    const outcome = await cancelEnrichment(deps.db, job.tenant_id, job.id, key);
    if (!outcome) throw notFound(`enrichment ${key}`);
    const { changed, enrichment } = outcome;
    if (changed) deps.relay.kick();
    else if (enrichment.status !== 'canceled') {
      throw new HttpError(
        409,
        'invalid_job_state',
        `a ${enrichment.status} enrichment cannot be canceled`,
        { status: enrichment.status },
      );
    }
    res.json(view(enrichment));
  });

  return router;
}
