import { PassThrough } from 'node:stream';
import type { RequestHandler } from 'express';
import multer, { MulterError, type StorageEngine } from 'multer';
import { v7 as uuidv7 } from 'uuid';
import {
  ACCEPTED_CONTENT_TYPES,
  CONTENT_TYPE_BY_EXTENSION,
  ContentType,
  Filename,
  contentTypeFor,
} from '@transcribe/contracts';
import { deleteUpload, insertUpload, type UploadRow } from '@transcribe/db';
import { tenantOf } from './auth.js';
import type { GatewayDeps } from './deps.js';
import { HttpError } from './http-error.js';
import { verifyUploadedObject } from './job-creation.js';
import { objectKey } from './routes/uploads.js';

// A file sent through the gateway as multipart/form-data (`POST /v1/jobs/upload`,
// `POST /v1/audio/transcriptions`): streamed into S3 as it arrives, then recorded as an upload.

/** The formats this endpoint takes, by extension (browsers and curl often send octet-stream). */
const FORM_EXTENSIONS = Object.keys(CONTENT_TYPE_BY_EXTENSION);

export interface StoredFile {
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

/**
 * Multipart parsing with the `file` part streamed to S3 (at most `maxFormUploadBytes`), every
 * refusal a 4xx HttpError. `fields`/`parts`: how many text fields the form may carry.
 */
export function formFileUpload(
  deps: GatewayDeps,
  limits: { fields: number; parts: number } = { fields: 20, parts: 25 },
): RequestHandler {
  const maxBytes = deps.settings.maxFormUploadBytes;
  const upload = multer({
    storage: s3StorageEngine(deps),
    limits: { fileSize: maxBytes, files: 1, fieldSize: 16 * 1024, ...limits },
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
  return multerErrors(upload.single('file'), maxBytes);
}

/** The file the form carried, as stored by formFileUpload; 400 when there was none. */
export function storedFormFile(file: Express.Multer.File | undefined): StoredFile {
  if (!file?.uploadId) {
    throw new HttpError(
      400,
      'validation_failed',
      'file: a multipart/form-data part named "file" is required',
    );
  }
  return { uploadId: file.uploadId, key: file.path, sizeBytes: file.size };
}

/**
 * The stored file as an upload row (method `form`), checked like any upload: not empty,
 * recognisably media. A refusal throws; the caller then calls discardFormFile.
 */
export async function recordFormFile(
  deps: GatewayDeps,
  tenantId: string,
  file: Express.Multer.File,
  stored: StoredFile,
  onRow: (row: UploadRow) => void,
): Promise<UploadRow> {
  const filename = Filename.safeParse(file.originalname).success ? file.originalname : 'upload';
  const declared = ContentType.safeParse(file.mimetype);
  const contentType =
    declared.success && declared.data !== 'application/octet-stream'
      ? declared.data
      : contentTypeFor(filename);
  const row = await insertUpload(deps.db, {
    id: stored.uploadId,
    tenant_id: tenantId,
    object_key: stored.key,
    filename,
    content_type: contentType,
    size_bytes: Math.max(1, stored.sizeBytes),
    method: 'form',
    expires_at: new Date(Date.now() + deps.settings.uploadUrlTtlS * 1000),
  });
  onRow(row);
  if (stored.sizeBytes === 0) throw new HttpError(400, 'validation_failed', 'file: is empty');
  await verifyUploadedObject(deps, row);
  return row;
}

/** A refused request leaves nothing behind: the object and its upload row go. */
export async function discardFormFile(
  deps: GatewayDeps,
  stored: StoredFile,
  row: UploadRow | undefined,
): Promise<void> {
  await deps.storage.delete(stored.key).catch(() => undefined);
  if (row) await deleteUpload(deps.db, row.id).catch(() => undefined);
}
