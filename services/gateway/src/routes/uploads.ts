import { Router, type Request } from 'express';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import {
  CompleteUploadRequest,
  CreateUploadRequest,
  MULTIPART_MAX_PARTS,
  SINGLE_REQUEST_MAX_BYTES,
  UploadPartsRequest,
  type CreateUploadResponse,
  type Upload,
  type UploadPartsResponse,
} from '@transcribe/contracts';
import {
  deleteUpload,
  findUpload,
  insertUpload,
  markMultipartCompleted,
  setUploadMultipartId,
  type UploadRow,
} from '@transcribe/db';
import { tenantOf } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { discardUpload } from '../cleanup.js';
import { HttpError } from '../http-error.js';
import { rateLimit } from '../rate-limit.js';

/** Object keys are ours, never the client's: `<tenant>/<upload>/<sanitised name>`. */
export function objectKey(tenantId: string, uploadId: string, filename: string): string {
  const base = filename.split(/[\\/]/).pop() ?? '';
  const safe = base
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(-100);
  return `${tenantId}/${uploadId}/${safe || 'upload'}`;
}

const DEFAULT_PART_BYTES = 64 * 1024 ** 2;
const UploadId = z.uuid();

function toUpload(row: UploadRow): Upload {
  return {
    uploadId: row.id,
    method: row.method,
    status: row.status,
    filename: row.filename,
    contentType: row.content_type,
    sizeBytes: row.size_bytes,
    expiresAt: row.expires_at.toISOString(),
  };
}

export function uploadsRouter(deps: GatewayDeps): Router {
  const router = Router();
  const limited = rateLimit(deps.rateLimits, 'uploads', deps.logger);

  async function loadUpload(req: Request): Promise<UploadRow> {
    const id = UploadId.safeParse(req.params.id);
    const upload = id.success ? await findUpload(deps.db, tenantOf(req), id.data) : undefined;
    if (!upload) throw new HttpError(404, 'upload_not_found', 'upload not found');
    return upload;
  }

  /** A multipart upload still open for parts, or the reason it is not. */
  function openMultipart(upload: UploadRow): string {
    if (upload.method !== 'multipart') {
      throw new HttpError(409, 'invalid_job_state', 'this is not a multipart upload');
    }
    if (upload.status === 'used' || !upload.multipart_id) {
      throw new HttpError(409, 'upload_already_used', 'this multipart upload is already completed');
    }
    if (upload.expires_at.getTime() < Date.now()) {
      throw new HttpError(410, 'upload_expired', 'this multipart upload expired; start a new one');
    }
    return upload.multipart_id;
  }

  router.post('/v1/uploads', limited, async (req, res) => {
    const tenantId = tenantOf(req);
    const input = CreateUploadRequest.parse(req.body);
    const { maxUploadBytes } = deps.settings;
    if (input.sizeBytes > maxUploadBytes) {
      throw new HttpError(
        413,
        'payload_too_large',
        `sizeBytes ${input.sizeBytes} exceeds the limit of ${maxUploadBytes} bytes`,
      );
    }
    if (input.method !== 'multipart' && input.sizeBytes > SINGLE_REQUEST_MAX_BYTES) {
      throw new HttpError(
        400,
        'validation_failed',
        `one ${input.method} carries at most ${SINGLE_REQUEST_MAX_BYTES} bytes: use method "multipart"`,
      );
    }
    const id = uuidv7();
    const key = objectKey(tenantId, id, input.filename);
    const urlTtlS = deps.settings.uploadUrlTtlS;
    const base = {
      id,
      tenant_id: tenantId,
      object_key: key,
      filename: input.filename,
      content_type: input.contentType,
      size_bytes: input.sizeBytes,
      method: input.method,
    };
    let body: CreateUploadResponse;

    if (input.method === 'multipart') {
      const partSizeBytes = input.partSizeBytes ?? DEFAULT_PART_BYTES;
      const partCount = Math.ceil(input.sizeBytes / partSizeBytes);
      if (partCount > MULTIPART_MAX_PARTS) {
        throw new HttpError(
          400,
          'validation_failed',
          `${partCount} parts of ${partSizeBytes} bytes; S3 allows ${MULTIPART_MAX_PARTS}: use larger parts`,
        );
      }
      const expiresAt = new Date(Date.now() + deps.settings.multipartTtlS * 1000);
      // The row first: if S3 answers but the insert fails, no multipart upload goes unrecorded.
      await insertUpload(deps.db, {
        ...base,
        expires_at: expiresAt,
        part_size_bytes: partSizeBytes,
      });
      let multipartId: string;
      try {
        multipartId = await deps.storage.createMultipart(key, input.contentType);
      } catch (error) {
        await deleteUpload(deps.db, id);
        throw error;
      }
      await setUploadMultipartId(deps.db, id, multipartId);
      const self = `${deps.links.api}/v1/uploads/${id}`;
      body = {
        uploadId: id,
        method: 'multipart',
        partSizeBytes,
        partCount,
        expiresAt: expiresAt.toISOString(),
        links: { parts: `${self}/parts`, complete: `${self}/complete`, abort: self },
      };
    } else {
      const expiresAt = new Date(Date.now() + urlTtlS * 1000);
      if (input.method === 'POST') {
        const { url, fields } = await deps.storage.presignPost({
          key,
          contentType: input.contentType,
          minBytes: input.sizeBytes,
          maxBytes: input.sizeBytes,
          expiresInS: urlTtlS,
        });
        body = { uploadId: id, method: 'POST', url, fields, expiresAt: expiresAt.toISOString() };
      } else {
        const { url, headers } = await deps.storage.presignPut({
          key,
          contentType: input.contentType,
          contentLength: input.sizeBytes,
          expiresInS: urlTtlS,
        });
        body = { uploadId: id, method: 'PUT', url, headers, expiresAt: expiresAt.toISOString() };
      }
      await insertUpload(deps.db, { ...base, expires_at: expiresAt });
    }
    res.status(201).json(body);
  });

  router.get('/v1/uploads/:id', async (req, res) => {
    res.json(toUpload(await loadUpload(req)));
  });

  router.post('/v1/uploads/:id/parts', async (req, res) => {
    const upload = await loadUpload(req);
    const multipartId = openMultipart(upload);
    const input = UploadPartsRequest.parse(req.body);
    const partCount = Math.ceil(upload.size_bytes / (upload.part_size_bytes ?? DEFAULT_PART_BYTES));
    const beyond = input.parts.find((p) => p.partNumber > partCount);
    if (beyond) {
      throw new HttpError(
        400,
        'upload_parts_invalid',
        `part ${beyond.partNumber} is beyond the last part (${partCount})`,
      );
    }
    const expiresInS = Math.min(
      deps.settings.uploadUrlTtlS,
      Math.floor((upload.expires_at.getTime() - Date.now()) / 1000),
    );
    const parts = await Promise.all(
      input.parts.map(async (p) => ({
        partNumber: p.partNumber,
        ...(await deps.storage.presignPart({
          key: upload.object_key,
          multipartId,
          partNumber: p.partNumber,
          checksumSha256: p.checksumSha256,
          expiresInS,
        })),
      })),
    );
    const body: UploadPartsResponse = {
      parts,
      expiresAt: new Date(Date.now() + expiresInS * 1000).toISOString(),
    };
    res.json(body);
  });

  router.post('/v1/uploads/:id/complete', async (req, res) => {
    const upload = await loadUpload(req);
    const multipartId = openMultipart(upload);
    const { parts } = CompleteUploadRequest.parse(req.body);
    const partCount = Math.ceil(upload.size_bytes / (upload.part_size_bytes ?? DEFAULT_PART_BYTES));
    const numbers = new Set(parts.map((p) => p.partNumber));
    if (
      numbers.size !== parts.length ||
      parts.length !== partCount ||
      ![...numbers].every((n) => n <= partCount)
    ) {
      throw new HttpError(
        400,
        'upload_parts_invalid',
        `expected each of parts 1..${partCount} exactly once`,
      );
    }
    try {
      await deps.storage.completeMultipart(upload.object_key, multipartId, parts);
    } catch (error) {
      const name = (error as { name?: string }).name ?? '';
      if (/InvalidPart|InvalidPartOrder|EntityTooSmall|BadDigest|InvalidRequest/.test(name)) {
        throw new HttpError(400, 'upload_parts_invalid', `S3 refused the parts: ${name}`);
      }
      throw error;
    }
    await markMultipartCompleted(deps.db, upload.id, multipartId);
    const object = await deps.storage.head(upload.object_key);
    res.json({ ...toUpload(upload), sizeBytes: object?.sizeBytes ?? upload.size_bytes });
  });

  router.delete('/v1/uploads/:id', async (req, res) => {
    const id = UploadId.safeParse(req.params.id);
    const upload = id.success ? await findUpload(deps.db, tenantOf(req), id.data) : undefined;
    if (upload) {
      if (upload.status === 'used') {
        throw new HttpError(
          409,
          'upload_already_used',
          'this upload has a job: delete the job instead',
        );
      }
      await discardUpload(deps.db, deps.storage, upload);
    }
    res.status(204).end();
  });

  return router;
}
