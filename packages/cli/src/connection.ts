import type { TranscribeClient } from '@transcribe/client';
import { UsageError } from './exit-codes.js';

export const DEFAULT_URL = 'http://localhost:8080';

/** Where the API is and how to authenticate, from flags first, then the environment. */
export interface ConnectionFlags {
  url?: string;
  apiKey?: string;
}

/** Checks URL and key; bad or missing ones are usage errors (before any request). */
export function connectionFrom(
  opts: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>>,
): { baseUrl: string; apiKey: string } {
  const baseUrl = opts.url ?? env.TRANSCRIBE_URL ?? DEFAULT_URL;
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new UsageError(`invalid API URL "${baseUrl}" (from --url or TRANSCRIBE_URL)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`API URL must be http(s), got "${baseUrl}"`);
  }
  const apiKey = opts.apiKey ?? env.TRANSCRIBE_API_KEY;
  if (!apiKey) throw new UsageError('no API key: set TRANSCRIBE_API_KEY or pass --api-key');
  return { baseUrl, apiKey };
}

/**
 * The client for these flags. The SDK (and ws under it) is imported here, on first use, so
 * `--help` and the operator commands never load it.
 */
export async function clientFromOptions(
  opts: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>>,
): Promise<TranscribeClient> {
  const connection = connectionFrom(opts, env);
  const { createClient } = await import('@transcribe/client');
  return createClient(connection);
}
