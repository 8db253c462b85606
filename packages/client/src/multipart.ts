import { MULTIPART_MAX_PARTS, type MultipartUploadResponse } from '@transcribe/contracts';
import type { RequestOptions, RestApi } from './rest.js';
import { putFile, sha256OfRange } from './upload.js';

export interface MultipartOptions extends RequestOptions {
  onProgress?(sentBytes: number, totalBytes: number): void;
  /** Parts in flight at once. */
  concurrency?: number;
}

/** Part URLs are asked for in batches (the API's limit), hashed just before. */
const BATCH = 100;

/**
 * Sends a file to a multipart upload: each part's SHA-256 is computed from disk and signed
 * into its URL (S3 checks the bytes), parts go up a few at a time, streamed from disk, then
 * the upload is completed. On any failure the upload is aborted, so no parts linger.
 */
export async function sendMultipart(
  rest: Pick<RestApi, 'getUploadPartUrls' | 'completeUpload' | 'deleteUpload'>,
  upload: MultipartUploadResponse,
  path: string,
  sizeBytes: number,
  opts: MultipartOptions = {},
): Promise<void> {
  const reqOpts: RequestOptions = opts.signal ? { signal: opts.signal } : {};
  const { partSizeBytes, partCount } = upload;
  if (partCount > MULTIPART_MAX_PARTS)
    throw new RangeError(`${partCount} parts is over S3's limit`);
  const range = (n: number) => ({
    start: (n - 1) * partSizeBytes,
    end: Math.min(n * partSizeBytes, sizeBytes) - 1,
  });
  const sentByPart = new Map<number, number>();
  const report = () => {
    let sent = 0;
    for (const n of sentByPart.values()) sent += n;
    opts.onProgress?.(sent, sizeBytes);
  };
  const done: { partNumber: number; etag: string; checksumSha256: string }[] = [];

  try {
    for (let first = 1; first <= partCount; first += BATCH) {
      const numbers = Array.from(
        { length: Math.min(BATCH, partCount - first + 1) },
        (_, i) => first + i,
      );
      const sums = new Map<number, string>();
      for (const n of numbers) sums.set(n, await sha256OfRange(path, range(n).start, range(n).end));
      const { parts } = await rest.getUploadPartUrls(
        upload.uploadId,
        {
          parts: numbers.map((partNumber) => ({
            partNumber,
            checksumSha256: sums.get(partNumber)!,
          })),
        },
        reqOpts,
      );
      const queue = [...parts];
      const worker = async () => {
        for (let part = queue.shift(); part; part = queue.shift()) {
          const r = range(part.partNumber);
          const { etag } = await putFile(part, path, r.end - r.start + 1, {
            range: r,
            ...reqOpts,
            onProgress: (sent) => {
              sentByPart.set(part!.partNumber, sent);
              report();
            },
          });
          if (!etag) throw new Error(`S3 answered part ${part.partNumber} without an ETag`);
          done.push({
            partNumber: part.partNumber,
            etag,
            checksumSha256: sums.get(part.partNumber)!,
          });
        }
      };
      await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
    }
    await rest.completeUpload(upload.uploadId, { parts: done }, reqOpts);
  } catch (error) {
    await rest.deleteUpload(upload.uploadId).catch(() => undefined);
    throw error;
  }
}
