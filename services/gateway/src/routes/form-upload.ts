import { Router, type Request } from 'express';
import { z } from 'zod';
import { JobOptions } from '@transcribe/contracts';
import { listEnrichments, type UploadRow } from '@transcribe/db';
import { tenantOf } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { assertEnrichmentsAvailable } from '../enrichment-check.js';
import { discardFormFile, formFileUpload, recordFormFile, storedFormFile } from '../form-file.js';
import { assertEngineEnabled, creationResponse, queueJob } from '../job-creation.js';
import type { JobMetrics } from '../metrics.js';
import { assertLanguageSupported } from '../language-check.js';
import { refuseOverQuota } from '../quota.js';
import { rateLimit } from '../rate-limit.js';
import { assertWebhookUrlAllowed } from '../webhook-url.js';

/**
 * `enrich` as a form field: a JSON array (`["clean",{"translate":"de"}]`) or keys separated
 * by commas (`clean,summary,translate:de`). What is not a known kind is left for JobOptions
 * to refuse with the list of kinds.
 */
export function parseEnrichField(value: string): unknown {
  const trimmed = value.trim();
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as unknown;
  return trimmed
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean)
    .map((key) =>
      key.startsWith('translate:') ? { translate: key.slice('translate:'.length) } : key,
    );
}

/** Job options arrive as form fields; metadata as a JSON string, enrich as above. */
const FormFields = z.record(z.string(), z.string()).transform((fields, ctx) => {
  const { metadata, enrich, ...rest } = fields;
  const parsed: Record<string, unknown> = { ...rest };
  if (metadata !== undefined) {
    try {
      parsed.metadata = JSON.parse(metadata) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', path: ['metadata'], message: 'must be a JSON object' });
      return z.NEVER;
    }
  }
  if (enrich !== undefined) {
    try {
      parsed.enrich = parseEnrichField(enrich);
    } catch {
      ctx.addIssue({
        code: 'custom',
        path: ['enrich'],
        message: 'must be a JSON array or a comma-separated list like "clean,summary,translate:de"',
      });
      return z.NEVER;
    }
  }
  return parsed;
});

/**
 * `POST /v1/jobs/upload`: multipart/form-data with a `file` part and the job's options, for
 * clients that cannot upload to S3 themselves. Whatever goes wrong after the bytes landed,
 * the object and its upload row are removed: a refused request leaves nothing behind.
 */
export function formUploadRouter(deps: GatewayDeps, metrics: JobMetrics): Router {
  const router = Router();
  router.post(
    '/v1/jobs/upload',
    rateLimit(deps.rateLimits, 'jobs', deps.logger),
    refuseOverQuota(deps),
    formFileUpload(deps),
    async (req: Request, res) => {
      const tenantId = tenantOf(req);
      const stored = storedFormFile(req.file);
      let row: UploadRow | undefined;
      try {
        const options = JobOptions.parse(
          FormFields.parse({ ...(req.body as Record<string, string>) }),
        );
        assertEngineEnabled(deps, options.engine);
        assertLanguageSupported(deps.settings, options);
        assertEnrichmentsAvailable(deps.settings, options.enrich);
        await assertWebhookUrlAllowed(deps.settings, options.webhookUrl, 'webhookUrl');
        row = await recordFormFile(deps, tenantId, req.file!, stored, (r) => (row = r));
        const job = await queueJob(deps, { tenantId, upload: row, options });
        metrics.created.inc({ priority: job.priority, engine: job.engine });
        const body = creationResponse(deps, job, await listEnrichments(deps.db, job.id));
        res.status(202).location(body.links.self).json(body);
      } catch (error) {
        await discardFormFile(deps, stored, row);
        throw error;
      }
    },
  );
  return router;
}
