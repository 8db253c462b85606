// The API key (kept in this browser's localStorage once entered) and authenticated calls
// that turn the API's JSON errors into messages a person can act on.
import type { ApiErrorBody } from './types.js';

const KEY_ITEM = 'transcribe.key';

export function storedKey(): string {
  return localStorage.getItem(KEY_ITEM) ?? '';
}

export function storeKey(key: string): void {
  if (key) localStorage.setItem(KEY_ITEM, key);
  else localStorage.removeItem(KEY_ITEM);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A sentence for each refusal the page can meet; the API's own message otherwise. */
export function explain(status: number, body: ApiErrorBody | null): ApiError {
  const code = body?.code ?? `http_${status}`;
  const said = body?.message ?? `HTTP ${status}`;
  const text: Record<string, string> = {
    unauthorized:
      'The API key was refused. Check it, or ask your operator for one (pnpm transcribe keys create).',
    payload_too_large: `Too big for this server: ${said}`,
    unsupported_media_type: `Not a recording this server accepts: ${said}`,
    quota_exceeded: `Over your account's limit: ${said}`,
    rate_limited: `Too many requests right now; try again in a moment (${said})`,
    enrichment_unavailable: `enrichment_unavailable: ${said}`,
  };
  return new ApiError(status, code, text[code] ?? `${code}: ${said}`);
}

export async function errorOf(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => null)) as { error?: ApiErrorBody } | null;
  return explain(res.status, body?.error ?? null);
}

export async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${storedKey()}`);
  if (typeof init.body === 'string') headers.set('content-type', 'application/json');
  const res = await fetch(path, { ...init, headers });
  if (!res.ok) throw await errorOf(res);
  return res;
}

export async function apiJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  return (await (await api(path, init)).json()) as T;
}
