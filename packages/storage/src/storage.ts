import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createFastPresigner } from './presign-fast.js';

export interface StorageOptions {
  bucket: string;
  region: string;
  endpoint?: string;
  /** Endpoint written into presigned URLs, when clients reach S3 at another address. */
  publicEndpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
}

export interface ObjectInfo {
  sizeBytes: number;
  contentType: string | undefined;
}

/** Raised when an object is absent, so callers need not know the SDK's error shapes. */
export class ObjectNotFoundError extends Error {
  readonly code = 'object_not_found';
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

export interface Storage {
  readonly bucket: string;
  /** A URL for one PUT of exactly this key, content type and length, valid for `expiresInS`. */
  presignPut(input: {
    key: string;
    contentType: string;
    contentLength: number;
    expiresInS: number;
  }): Promise<{ url: string; headers: Record<string, string> }>;
  /**
   * A browser form upload: the policy binds the key, the content type and a size range.
   * Some S3 servers do not enforce policies: check the object with `head` afterwards.
   */
  presignPost(input: {
    key: string;
    contentType: string;
    minBytes: number;
    maxBytes: number;
    expiresInS: number;
  }): Promise<{ url: string; fields: Record<string, string> }>;
  /** A URL for reading the object (a browser's media player), valid for `expiresInS`. */
  presignGet(input: { key: string; expiresInS: number }): Promise<string>;
  /** Starts a multipart upload whose parts carry SHA-256 checksums; returns S3's upload id. */
  createMultipart(key: string, contentType: string): Promise<string>;
  /** A URL for one part's PUT, with its SHA-256 signed in so S3 rejects other bytes. */
  presignPart(input: {
    key: string;
    multipartId: string;
    partNumber: number;
    checksumSha256: string;
    expiresInS: number;
  }): Promise<{ url: string; headers: Record<string, string> }>;
  completeMultipart(
    key: string,
    multipartId: string,
    parts: { partNumber: number; etag: string; checksumSha256: string }[],
  ): Promise<void>;
  /**
   * Aborts a multipart upload; already gone counts as done. False when the S3 server has
   * no AbortMultipartUpload (some embedded test servers): a bucket lifecycle rule must then
   * clean up incomplete uploads.
   */
  abortMultipart(key: string, multipartId: string): Promise<boolean>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /**
   * Size, content type and first `bytes` bytes of an object in one request (a ranged GET),
   * or undefined when it is absent.
   */
  inspect(key: string, bytes: number): Promise<(ObjectInfo & { start: Buffer }) | undefined>;
  /** Streams an object to a file without holding it in memory. */
  download(key: string, file: string): Promise<void>;
  upload(key: string, body: Readable | Buffer, contentType: string): Promise<void>;
  delete(key: string): Promise<void>;
  ensureBucket(): Promise<void>;
  ping(): Promise<void>;
  destroy(): void;
}

function makeClient(options: StorageOptions, endpoint: string | undefined): S3Client {
  return new S3Client({
    region: options.region,
    endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials:
      options.accessKeyId && options.secretAccessKey
        ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
        : undefined,
    // An S3 that does not answer must fail the call, not hang it: bounded connect, and a
    // socket idle this long is given up (streams in progress are never idle that long).
    requestHandler: { connectionTimeout: 5000, requestTimeout: 30_000 },
    // Checksums in presigned PUTs would bind a body the client hasn't computed yet.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/**
 * S3 could not serve the call (refused, reset, timed out, throttled or a 5xx): the caller may
 * retry later. A 4xx (bad key, bad credentials, missing object) is not one of these. Only SDK
 * errors (they carry `$metadata`) count, so a Postgres ECONNRESET is never taken for S3's.
 */
export function isStorageUnavailable(error: unknown): boolean {
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata;
  if (!metadata || typeof metadata !== 'object') return false;
  const status = metadata.httpStatusCode;
  // No status at all: no HTTP answer came back, however the SDK wrapped the network error.
  return typeof status !== 'number' || status >= 500 || status === 429;
}

/** Up to `bytes` bytes of a body; the rest is not read (the connection is dropped). */
async function firstBytes(body: Readable, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length >= bytes) break;
  }
  body.destroy();
  return Buffer.concat(chunks).subarray(0, bytes);
}

export function createStorage(options: StorageOptions): Storage {
  // The SDK warns in every process that its releases after January 2027 need Node 22. The
  // lockfile pins a release that supports Node 20.19+ (the version the project supports;
  // the images run 22), so the warning says nothing an operator can act on. An operator
  // who sets the variable keeps their choice.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const client = makeClient(options, options.endpoint);
  const presigner =
    options.publicEndpoint && options.publicEndpoint !== options.endpoint
      ? makeClient(options, options.publicEndpoint)
      : client;
  const Bucket = options.bucket;
  const presignEndpoint = options.publicEndpoint ?? options.endpoint;
  const fast = presignEndpoint
    ? createFastPresigner(presigner, {
        endpoint: presignEndpoint,
        bucket: Bucket,
        forcePathStyle: options.forcePathStyle,
        region: options.region,
      })
    : undefined;

  return {
    bucket: Bucket,
    async presignPut({ key, contentType, contentLength, expiresInS }) {
      if (fast) {
        const url = await fast({
          method: 'PUT',
          key,
          operation: 'PutObject',
          headers: { 'content-type': contentType, 'content-length': String(contentLength) },
          signableHeaders: ['content-type', 'content-length'],
          expiresInS,
        });
        return { url, headers: { 'content-type': contentType } };
      }
      const command = new PutObjectCommand({
        Bucket,
        Key: key,
        ContentType: contentType,
        ContentLength: contentLength,
      });
      const url = await getSignedUrl(presigner, command, {
        expiresIn: expiresInS,
        signableHeaders: new Set(['content-type', 'content-length']),
      });
      return { url, headers: { 'content-type': contentType } };
    },
    presignGet({ key, expiresInS }) {
      return getSignedUrl(presigner, new GetObjectCommand({ Bucket, Key: key }), {
        expiresIn: expiresInS,
      });
    },
    async presignPost({ key, contentType, minBytes, maxBytes, expiresInS }) {
      const { url, fields } = await createPresignedPost(presigner, {
        Bucket,
        Key: key,
        Fields: { 'Content-Type': contentType },
        Conditions: [
          ['eq', '$Content-Type', contentType],
          ['content-length-range', minBytes, maxBytes],
        ],
        Expires: expiresInS,
      });
      return { url, fields };
    },
    async createMultipart(key, contentType) {
      const out = await client.send(
        new CreateMultipartUploadCommand({
          Bucket,
          Key: key,
          ContentType: contentType,
          ChecksumAlgorithm: 'SHA256',
        }),
      );
      if (!out.UploadId) throw new Error('S3 returned no multipart upload id');
      return out.UploadId;
    },
    async presignPart({ key, multipartId, partNumber, checksumSha256, expiresInS }) {
      const command = new UploadPartCommand({
        Bucket,
        Key: key,
        UploadId: multipartId,
        PartNumber: partNumber,
        ChecksumSHA256: checksumSha256,
      });
      const url = await getSignedUrl(presigner, command, {
        expiresIn: expiresInS,
        signableHeaders: new Set(['x-amz-checksum-sha256']),
      });
      return {
        url,
        headers: {
          'x-amz-checksum-sha256': checksumSha256,
          'x-amz-sdk-checksum-algorithm': 'SHA256',
        },
      };
    },
    async completeMultipart(key, multipartId, parts) {
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key: key,
          UploadId: multipartId,
          MultipartUpload: {
            Parts: [...parts]
              .sort((a, b) => a.partNumber - b.partNumber)
              .map((p) => ({
                PartNumber: p.partNumber,
                ETag: p.etag,
                ChecksumSHA256: p.checksumSha256,
              })),
          },
        }),
      );
    },
    async abortMultipart(key, multipartId) {
      try {
        await client.send(
          new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId: multipartId }),
        );
        return true;
      } catch (error) {
        const name = (error as { name?: string }).name;
        if (isNotFound(error) || name === 'NoSuchUpload') return true;
        if (name === 'MethodNotAllowed' || name === 'NotImplemented') return false;
        throw error;
      }
    },
    async inspect(key, bytes) {
      try {
        const out = await client.send(
          new GetObjectCommand({ Bucket, Key: key, Range: `bytes=0-${bytes - 1}` }),
        );
        const start = await firstBytes(out.Body as Readable, bytes);
        // `bytes 0-15/102478`: the total is the object's size. A server that ignored the
        // range answered the whole object, whose length is the size.
        const total = /\/(\d+)$/.exec(out.ContentRange ?? '')?.[1];
        return {
          sizeBytes: total !== undefined ? Number(total) : (out.ContentLength ?? start.length),
          contentType: out.ContentType,
          start,
        };
      } catch (error) {
        if (isNotFound(error)) return undefined;
        // An empty object has no byte 0: S3 answers 416 to any range of it (and some servers
        // break the answer off). HEAD tells; any other object's error stands.
        const info = await this.head(key);
        if (!info) return undefined;
        if (info.sizeBytes === 0) return { ...info, start: Buffer.alloc(0) };
        throw error;
      }
    },
    async head(key) {
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
        return { sizeBytes: out.ContentLength ?? 0, contentType: out.ContentType };
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async download(key, file) {
      let body: Readable;
      try {
        const out = await client.send(new GetObjectCommand({ Bucket, Key: key }));
        body = out.Body as Readable;
      } catch (error) {
        if (isNotFound(error)) throw new ObjectNotFoundError(key);
        throw error;
      }
      await pipeline(body, createWriteStream(file));
    },
    async upload(key, body, contentType) {
      await new Upload({
        client,
        params: { Bucket, Key: key, Body: body, ContentType: contentType },
      }).done();
    },
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
    },
    async ensureBucket() {
      try {
        await client.send(new HeadBucketCommand({ Bucket }));
      } catch (error) {
        if (!isNotFound(error)) throw error;
        await client.send(new CreateBucketCommand({ Bucket }));
      }
    },
    async ping() {
      // An object-level call: 404 proves the endpoint answers and accepts our credentials.
      try {
        await client.send(new HeadObjectCommand({ Bucket, Key: '.readyz' }));
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },
    destroy() {
      client.destroy();
      if (presigner !== client) presigner.destroy();
    },
  };
}
