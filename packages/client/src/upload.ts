import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename } from 'node:path';
import { Transform, pipeline } from 'node:stream';
import type { PutUploadResponse } from '@transcribe/contracts';
import { ApiError, ClientError } from './errors.js';

export interface PutFileOptions {
  /** Called as bytes are handed to the socket. */
  onProgress?(sentBytes: number, totalBytes: number): void;
  signal?: AbortSignal;
  /** Send only these bytes of the file (inclusive), e.g. one part of a multipart upload. */
  range?: { start: number; end: number };
}

/** base64 SHA-256 of a byte range of a file, streamed (a part is never held in memory). */
export async function sha256OfRange(path: string, start: number, end: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { start, end })) hash.update(chunk as Buffer);
  return hash.digest('base64');
}

/** Size and name of a regular, non-empty file, or a `ClientError('file_error')`. */
export async function inspectFile(path: string): Promise<{ sizeBytes: number; filename: string }> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ClientError('file_error', `cannot read ${path}: ${reason}`, { cause: error });
  }
  if (!info.isFile()) throw new ClientError('file_error', `${path} is not a regular file`);
  if (info.size === 0) throw new ClientError('file_error', `${path} is empty`);
  return { sizeBytes: info.size, filename: basename(path) };
}

/**
 * PUTs a file to a presigned URL, streamed from disk (never held in memory), with exactly
 * the signed headers plus Content-Length. node:http rather than fetch: fetch would send a
 * stream body chunked, which presigned S3 PUTs refuse.
 */
export function putFile(
  target: Pick<PutUploadResponse, 'url' | 'headers'>,
  path: string,
  sizeBytes: number,
  opts: PutFileOptions = {},
): Promise<{ etag: string | undefined }> {
  const url = new URL(target.url);
  const request =
    url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
  if (!request) {
    return Promise.reject(new ClientError('invalid_response', `cannot PUT to ${url.protocol} URL`));
  }
  const headers: Record<string, string> = { ...target.headers };
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
    headers['content-length'] = String(sizeBytes);
  }

  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      if (error === undefined) resolve({ etag: response?.headers.etag });
      else reject(error);
    };
    let response: IncomingMessage | undefined;
    let fileFailed: unknown;

    const req = request(url, { method: 'PUT', headers, signal: opts.signal });
    req.on('response', (res) => {
      response = res;
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (chunk: Buffer) => {
        // Keep only the start of an error body: enough for S3's <Code> and <Message>.
        if (kept < 8192) {
          chunks.push(chunk);
          kept += chunk.length;
        }
      });
      const done = (): void => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) settle();
        else {
          const requestId = res.headers['x-amz-request-id'];
          settle(
            storageError(
              status,
              Buffer.concat(chunks).toString('utf8'),
              typeof requestId === 'string' ? requestId : undefined,
            ),
          );
        }
      };
      res.on('end', done);
      res.on('close', done);
      res.on('error', (error) => settle(networkError(url, error)));
    });

    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sent += chunk.length;
        opts.onProgress?.(sent, sizeBytes);
        callback(null, chunk);
      },
    });
    const file = createReadStream(path, opts.range);
    file.on('error', (error) => {
      fileFailed = error;
    });

    pipeline(file, counter, req, (error) => {
      if (!error) return;
      if (opts.signal?.aborted) return settle(opts.signal.reason);
      if (fileFailed) {
        const reason = fileFailed instanceof Error ? fileFailed.message : String(fileFailed);
        return settle(new ClientError('file_error', `cannot read ${path}: ${reason}`));
      }
      // The server may answer (403, 400…) and close before the body is sent: its answer,
      // not the broken pipe, is the error to report.
      if (response) return;
      settle(networkError(url, error));
    });
  });
}

function networkError(url: URL, error: unknown): ClientError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ClientError('network_error', `PUT ${url.origin}${url.pathname} failed: ${reason}`, {
    cause: error,
  });
}

/** S3-style XML errors: `<Error><Code>…</Code><Message>…</Message></Error>`. */
function storageError(status: number, body: string, requestId: string | undefined): ApiError {
  const storageCode = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  const storageMessage = /<Message>([^<]*)<\/Message>/.exec(body)?.[1];
  const what =
    [storageCode, storageMessage].filter(Boolean).join(': ') || body.trim().slice(0, 200);
  return new ApiError(
    status,
    'upload_failed',
    `the storage server refused the upload (HTTP ${status})${what ? `: ${what}` : ''}`,
    storageCode ? { storageCode } : undefined,
    requestId,
  );
}
