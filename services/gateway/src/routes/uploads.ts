import { Router } from 'express';
import { v7 as uuidv7 } from 'uuid';
import { CreateUploadRequest, type CreateUploadResponse } from '@transcribe/contracts';
import { insertUpload } from '@transcribe/db';
import { tenantOf } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { HttpError } from '../http-error.js';

/** Object keys are ours, never the client's: `<tenant>/<upload>/<sanitised name>`. */
export function objectKey(tenantId: string, uploadId: string, filename: string): string {
  const base = filename.split(/[\\/]/).pop() ?? '';
  const safe = base
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(-100);
  return `${tenantId}/${uploadId}/${safe || 'upload'}`;
}

export function uploadsRouter(deps: GatewayDeps): Router {
  const router = Router();

  router.post('/v1/uploads', async (req, res) => {
    const tenantId = tenantOf(req);
    const input = CreateUploadRequest.parse(req.body);
    if (input.sizeBytes > deps.settings.maxUploadBytes) {
      throw new HttpError(
        413,
        'payload_too_large',
        `sizeBytes ${input.sizeBytes} exceeds the limit of ${deps.settings.maxUploadBytes} bytes`,
      );
    }
    const id = uuidv7();
    const key = objectKey(tenantId, id, input.filename);
    const ttl = deps.settings.uploadUrlTtlS;
    const expiresAt = new Date(Date.now() + ttl * 1000);
    const { url, headers } = await deps.storage.presignPut({
      key,
      contentType: input.contentType,
      contentLength: input.sizeBytes,
      expiresInS: ttl,
    });
    await insertUpload(deps.db, {
      id,
      tenant_id: tenantId,
      object_key: key,
      filename: input.filename,
      content_type: input.contentType,
      size_bytes: input.sizeBytes,
      expires_at: expiresAt,
    });
    const body: CreateUploadResponse = {
      uploadId: id,
      method: 'PUT',
      url,
      headers,
      expiresAt: expiresAt.toISOString(),
    };
    res.status(201).json(body);
  });

  return router;
}
