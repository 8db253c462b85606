import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  WebhookUrlRefusedError,
  checkWebhookUrlSyntax,
  guardedLookup,
} from '@transcribe/contracts';

export interface PostResult {
  ok: boolean;
  /** The receiver's status; null when none came. */
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /**
   * Retrying cannot change the answer: the URL is refused by policy or invalid, or the
   * receiver said 410 Gone. The dispatcher fails such a delivery after this one attempt.
   */
  permanent: boolean;
}

export interface PostOptions {
  timeoutMs: number;
  allowPrivate: boolean;
}

/** At most this much of a receiver's answer is read (and thrown away). */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * Statuses that say "never again" rather than "not now". Only 410: a 404 or 401 is as
 * often a receiver mid-deploy or mid-secret-rotation, which later attempts outlast.
 */
const PERMANENT_STATUSES = new Set([410]);

const isRefusal = (error: unknown) =>
  error instanceof WebhookUrlRefusedError ||
  (error as { code?: unknown } | null)?.code === 'webhook_url_refused';

/**
 * POSTs one webhook body. Redirects are not followed (a 3xx is a failed attempt): following
 * one would mean a second, unchecked target. Every failure is an answer, never a throw.
 */
export async function postWebhook(
  target: string,
  body: string,
  headers: Record<string, string>,
  options: PostOptions,
): Promise<PostResult> {
  const started = performance.now();
  const done = (
    statusCode: number | null,
    error: string | null,
    permanent = false,
  ): PostResult => ({
    ok: statusCode !== null && statusCode >= 200 && statusCode < 300,
    statusCode,
    error,
    durationMs: Math.round(performance.now() - started),
    permanent: permanent || (statusCode !== null && PERMANENT_STATUSES.has(statusCode)),
  });
  let url: URL;
  try {
    url = checkWebhookUrlSyntax(target, options.allowPrivate);
  } catch (error) {
    return done(null, (error as Error).message, true);
  }

  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    const finish = (statusCode: number | null, error: string | null, permanent = false) => {
      if (settled) return;
      settled = true;
      resolve(done(statusCode, error, permanent));
    };
    const req = send(url, {
      method: 'POST',
      agent: false,
      lookup: guardedLookup(options.allowPrivate),
      timeout: options.timeoutMs,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    const deadline = setTimeout(
      () => req.destroy(new Error(`timed out after ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${options.timeoutMs} ms`)));
    req.on('error', (error) => {
      clearTimeout(deadline);
      // The guarded lookup's refusal arrives here; DNS failures and timeouts are transient.
      finish(null, error.message, isRefusal(error));
    });
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_RESPONSE_BYTES) res.destroy();
      });
      const end = () => {
        clearTimeout(deadline);
        const error =
          status >= 300 && status < 400
            ? `redirect${res.headers.location ? ` to ${res.headers.location}` : ''} not followed`
            : status >= 200 && status < 300
              ? null
              : `receiver answered ${status}`;
        finish(status, error);
      };
      res.on('end', end);
      res.on('close', end);
      res.on('error', end);
    });
    req.end(body);
  });
}
