import { Router, type Request } from 'express';
import { z } from 'zod';
import { JobOptions } from '@transcribe/contracts';
import type { UploadRow } from '@transcribe/db';
import { tenantOf } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { discardFormFile, formFileUpload, recordFormFile, storedFormFile } from '../form-file.js';
import { assertEngineEnabled, creationResponse, queueJob } from '../job-creation.js';
import type { JobMetrics } from '../metrics.js';
import { assertLanguageSupported } from '../language-check.js';
import { rateLimit } from '../rate-limit.js';
import { assertWebhookUrlAllowed } from '../webhook-url.js';

/** Job options arrive as form fields; metadata as a JSON string. */
const FormFields = z.record(z.string(), z.string()).transform((fields, ctx) => {
  const { metadata, ...rest } = fields;
  if (metadata === undefined) return rest;
  try {
    return { ...rest, metadata: JSON.parse(metadata) as unknown };
  } catch {
    ctx.addIssue({ code: 'custom', path: ['metadata'], message: 'must be a JSON object' });
    return z.NEVER;
  }
});

/**
 * `POST /v1/jobs/upload`: multipart/form-data with a `file` part and the job's options, for
 * clients that cannot upload to S3 themselves. Whatever goes wrong after the bytes landed,
 * the object and its upload row are removed: a refused request leaves nothing behind.
 */
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
        await assertWebhookUrlAllowed(deps.settings, options.webhookUrl, 'webhookUrl');
        row = await recordFormFile(deps, tenantId, req.file!, stored, (r) => (row = r));
        const job = await queueJob(deps, { tenantId, upload: row, options });
        metrics.created.inc({ priority: job.priority, engine: job.engine });
        const body = creationResponse(deps, job);
        res.status(202).location(body.links.self).json(body);
      } catch (error) {
        await discardFormFile(deps, stored, row);
        throw error;
      }
    },
  );
  return router;
}
