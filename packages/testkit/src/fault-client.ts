// What a patient API client does while things break: upload a file and create its job,
// retrying network errors, 5xx and 429 across the gateways until a deadline. The job
// creation carries an Idempotency-Key, so a retry after a lost answer cannot make a
// second job, and metadata naming the run, so the audit finds every job the system
// accepted, answered or not.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CreateJobResponse, PutUploadResponse } from '@transcribe/contracts';

export interface SubmitOutcome {
  /** Set when a gateway answered 202. */
  job?: CreateJobResponse;
  /** Why the client gave up, when it did. */
  gaveUp?: string;
  tries: number;
}

export interface FaultClientOptions {
  gatewayUrls: readonly string[];
  apiKey: string;
  /** Metadata `faultRun` on every job, for the audit. */
  run: string;
  /** How long one submission keeps retrying (default 90 s). */
  deadlineMs?: number;
  /** Per request (default 10 s): a black-holed gateway must not hold a try forever. */
  requestTimeoutMs?: number;
}

export interface FaultClient {
  submit(file: string): Promise<SubmitOutcome>;
}

class Retryable extends Error {}

export function createFaultClient(options: FaultClientOptions): FaultClient {
  const deadlineMs = options.deadlineMs ?? 90_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  let turn = 0;

  /** One request; 5xx, 429 and network errors are Retryable, other non-2xx are final. */
  const request = async (url: string, init: RequestInit): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(requestTimeoutMs) });
    } catch (error) {
      throw new Retryable(`${init.method ?? 'GET'} ${url}: ${String(error)}`);
    }
    if (res.status >= 500 || res.status === 429) {
      const body = await res.text().catch(() => '');
      throw new Retryable(`${init.method ?? 'GET'} ${url}: ${res.status} ${body.slice(0, 200)}`);
    }
    if (!res.ok) {
      const body = await res.text().catch(() => '');
      throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${body.slice(0, 300)}`);
    }
    return res;
  };

  const api = (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const base = options.gatewayUrls[turn++ % options.gatewayUrls.length]!;
    return request(`${base}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${options.apiKey}`,
        'content-type': 'application/json',
        ...headers,
      },
      body: JSON.stringify(body),
    });
  };

  return {
    async submit(file) {
      const bytes = await readFile(file);
      const idempotencyKey = randomUUID();
      const deadline = Date.now() + deadlineMs;
      let tries = 0;
      let upload: PutUploadResponse | undefined;
      let uploaded = false;
      let lastError = '';
      while (Date.now() < deadline) {
        tries++;
        try {
          upload ??= PutUploadResponse.parse(
            await (
              await api('/v1/uploads', {
                filename: 'fault.wav',
                contentType: 'audio/wav',
                sizeBytes: bytes.length,
              })
            ).json(),
          );
          if (!uploaded) {
            await request(upload.url, { method: 'PUT', headers: upload.headers, body: bytes });
            uploaded = true;
          }
          const res = await api(
            '/v1/jobs',
            { uploadId: upload.uploadId, metadata: { faultRun: options.run } },
            { 'idempotency-key': idempotencyKey },
          );
          return { job: CreateJobResponse.parse(await res.json()), tries };
        } catch (error) {
          if (!(error instanceof Retryable)) return { gaveUp: String(error), tries };
          lastError = error.message;
          await new Promise((r) => setTimeout(r, Math.min(2000, 250 * tries)));
        }
      }
      return { gaveUp: `deadline passed; last error: ${lastError}`, tries };
    },
  };
}
