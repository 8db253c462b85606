import { PassThrough } from 'node:stream';
import { Router, type Request, type RequestHandler } from 'express';
import multer, { MulterError, type StorageEngine } from 'multer';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import {
  ACCEPTED_CONTENT_TYPES,
  CONTENT_TYPE_BY_EXTENSION,
  ContentType,
  Filename,
  JobOptions,
  contentTypeFor,
} from '@transcribe/contracts';
import { deleteUpload, insertUpload, type UploadRow } from '@transcribe/db';
import { tenantOf } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import {
  assertEngineEnabled,
  creationResponse,
  queueJob,
  verifyUploadedObject,
} from '../job-creation.js';
import type { JobMetrics } from '../metrics.js';
import { assertLanguageSupported } from '../language-check.js';
import { rateLimit } from '../rate-limit.js';
import { objectKey } from './uploads.js';
import { assertWebhookUrlAllowed } from '../webhook-url.js';

/** The formats this endpoint takes, by extension (browsers and curl often send octet-stream). */
const FORM_EXTENSIONS = Object.keys(CONTENT_TYPE_BY_EXTENSION);

interface StoredFile {
  uploadId: string;
  key: string;
  sizeBytes: number;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // eslint-disable-next-line @typescript-eslint/no-namespace
    namespace Multer {
      interface File {
        /** Set by the S3 storage engine below. */
        uploadId?: string;
      }
    }
  }
}

/** S3 failed to take the file: not the client's fault (503 or 500, never 400). */
class StorageFailure extends Error {
  constructor(cause: unknown) {
    super('storing the upload failed', { cause });
    this.name = 'StorageFailure';
  }
}

/**
 * A multer storage engine that streams the file part straight into S3 (lib-storage's
 * bounded multipart upload): never whole in memory, never on the gateway's disk.
 */
function s3StorageEngine(deps: GatewayDeps): StorageEngine {
  return {
    _handleFile(req, file, callback) {
      const uploadId = uuidv7();
      const key = objectKey(tenantOf(req), uploadId, file.originalname || 'upload');
      let sizeBytes = 0;
      // The request's own fault (truncated body, bad part) wins over what S3 said about it.
      let bodyError: Error | undefined;
      const counted = new PassThrough();
      counted.on('data', (chunk: Buffer) => (sizeBytes += chunk.length));
      file.stream.on('error', (error) => {
        bodyError = error;
        counted.destroy(error);
      });
      file.stream.pipe(counted);
      deps.storage.upload(key, counted, file.mimetype || 'application/octet-stream').then(
        () =>
          callback(null, {
            path: key,
            size: sizeBytes,
            uploadId,
          } satisfies Partial<Express.Multer.File>),
        (error: unknown) => {
          // A partly written object may exist although the upload failed: remove it too.
          void deps.storage.delete(key).catch(() => undefined);
          callback(bodyError ?? new StorageFailure(error));
        },
      );
    },
    _removeFile(_req, file, callback) {
      deps.storage.delete(file.path).then(
        () => callback(null),
        (error: unknown) => callback(error as Error),
      );
    },
  };
}

/**
 * Every multer/busboy refusal as a 4xx with a stable code: limits as 413/400, a body busboy
 * cannot parse (no boundary, truncated, a malformed part header such as a NUL in a filename)
 * as 400 malformed_multipart. Only a storage failure goes on as a server-side error. Multer
 * has removed the files it stored before it reports.
 */
function multerErrors(handler: RequestHandler, maxBytes: number): RequestHandler {
  return (req, res, next) =>
    handler(req, res, (error?: unknown) => {
      if (error === undefined || error instanceof HttpError) return next(error);
      if (error instanceof StorageFailure) return next(error.cause);
      if (error instanceof MulterError) {
        if (error.code === 'LIMIT_FILE_SIZE') {
          return next(
            new HttpError(
              413,
              'payload_too_large',
              `the file exceeds the limit of ${maxBytes} bytes`,
            ),
          );
        }
        return next(
          new HttpError(
            400,
            'bad_request',
            `${error.message}${error.field ? ` (field "${error.field}")` : ''}`,
          ),
        );
      }
      const message = error instanceof Error ? error.message : String(error);
      next(
        new HttpError(400, 'malformed_multipart', `malformed multipart/form-data body: ${message}`),
      );
    });
}

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
export function formUploadRouter(deps: GatewayDeps, metrics: JobMetrics): Router {
  const router = Router();
  const maxBytes = deps.settings.maxFormUploadBytes;
  const upload = multer({
    storage: s3StorageEngine(deps),
    limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: 16 * 1024, parts: 25 },
    fileFilter(_req, file, accept) {
      const byType = (ACCEPTED_CONTENT_TYPES as readonly string[]).includes(file.mimetype);
      const byName = contentTypeFor(file.originalname) !== 'application/octet-stream';
      if (byType || byName) return accept(null, true);
      accept(
        new HttpError(
          415,
          'unsupported_media_type',
          `"${file.originalname}" (${file.mimetype}) is not an accepted format: ${FORM_EXTENSIONS.join(', ')}`,
        ),
      );
    },
  });

  router.post(
    '/v1/jobs/upload',
    rateLimit(deps.rateLimits, 'jobs', deps.logger),
    multerErrors(upload.single('file'), maxBytes),
    async (req: Request, res) => {
      const tenantId = tenantOf(req);
      const file = req.file;
      if (!file?.uploadId) {
        throw new HttpError(
          400,
          'validation_failed',
          'file: a multipart/form-data part named "file" is required',
        );
      }
      const stored: StoredFile = { uploadId: file.uploadId, key: file.path, sizeBytes: file.size };
      let row: UploadRow | undefined;
      try {
        const options = JobOptions.parse(
          FormFields.parse({ ...(req.body as Record<string, string>) }),
        );
        assertEngineEnabled(deps, options.engine);
        assertLanguageSupported(deps.settings, options);
        await assertWebhookUrlAllowed(deps.settings, options.webhookUrl, 'webhookUrl');
        const filename = Filename.safeParse(file.originalname).success
          ? file.originalname
          : 'upload';
        const declared = ContentType.safeParse(file.mimetype);
        const contentType =
          declared.success && declared.data !== 'application/octet-stream'
            ? declared.data
            : contentTypeFor(filename);
        row = await insertUpload(deps.db, {
          id: stored.uploadId,
          tenant_id: tenantId,
          object_key: stored.key,
          filename,
          content_type: contentType,
          size_bytes: Math.max(1, stored.sizeBytes),
          method: 'form',
          expires_at: new Date(Date.now() + deps.settings.uploadUrlTtlS * 1000),
        });
        if (stored.sizeBytes === 0) throw new HttpError(400, 'validation_failed', 'file: is empty');
        await verifyUploadedObject(deps, row);
        const job = await queueJob(deps, { tenantId, upload: row, options });
        metrics.created.inc({ priority: job.priority, engine: job.engine });
        const body = creationResponse(deps, job);
        res.status(202).location(body.links.self).json(body);
      } catch (error) {
        await deps.storage.delete(stored.key).catch(() => undefined);
        if (row) await deleteUpload(deps.db, row.id).catch(() => undefined);
        throw error;
      }
    },
  );
  return router;
}
