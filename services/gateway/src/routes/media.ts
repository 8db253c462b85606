import { Router } from 'express';
import type { JobMedia } from '@transcribe/contracts';
import type { GatewayDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import { loadTenantJob } from '../job-access.js';

/** How long the player's link lasts: long enough to listen to a long recording through. */
export const MEDIA_URL_TTL_S = 6 * 3600;

/**
 * `GET /v1/jobs/:id/media`: a presigned GET of the job's original recording, for the web
 * app's player (an `<audio>` element cannot send the API key). The object lives as long as
 * the job (retention and `DELETE` remove both), but it is checked first, so a link to
 * nothing is never handed out: a missing object answers 410 `object_missing`.
 */
export function mediaRouter(deps: Pick<GatewayDeps, 'db' | 'storage'>): Router {
  const router = Router();
  router.get('/v1/jobs/:id/media', async (req, res) => {
    const job = await loadTenantJob(deps, req);
    if (!(await deps.storage.head(job.object_key))) {
      throw new HttpError(410, 'object_missing', "this job's recording is no longer stored");
    }
    const expiresAt = new Date(Date.now() + MEDIA_URL_TTL_S * 1000);
    const url = await deps.storage.presignGet({ key: job.object_key, expiresInS: MEDIA_URL_TTL_S });
    const body: JobMedia = {
      url,
      contentType: job.content_type,
      expiresAt: expiresAt.toISOString(),
    };
    res.set('cache-control', 'private, no-store').json(body);
  });
  return router;
}
