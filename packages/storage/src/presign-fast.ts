import { S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import type { S3Client } from '@aws-sdk/client-s3';

// Presigned URLs without the SDK's per-call machinery (issue 18). `getSignedUrl` clones the
// client's middleware stack, serialises a command and evaluates the endpoint rule set on
// every call, which was most of a presign's CPU. With an explicit endpoint (MinIO, R2, a
// test server…) the URL is plain to build, so one S3RequestPresigner (the SDK's own SigV4
// presigner, whose signing key is cached per day) signs a request built here. Without an
// endpoint (AWS itself, whose hosts depend on region, FIPS, dual-stack…) callers keep
// using the SDK path.

/** RFC 3986 escaping, as SigV4 and the SDK's query strings use. */
const escapeUri = (s: string) =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

export interface FastPresignInput {
  method: 'GET' | 'PUT';
  key: string;
  /** The SDK's operation name, which it sends as `x-id` (PutObject, GetObject). */
  operation: string;
  headers: Record<string, string>;
  /** Headers bound into the signature besides `host`. */
  signableHeaders: string[];
  expiresInS: number;
  /** For tests: the instant the URL is signed at. */
  signingDate?: Date;
}

export type FastPresigner = (input: FastPresignInput) => Promise<string>;

export function createFastPresigner(
  client: S3Client,
  options: { endpoint: string; bucket: string; forcePathStyle: boolean; region: string },
): FastPresigner {
  const presigner = new S3RequestPresigner({ ...client.config, signingName: 's3' });
  const endpoint = new URL(options.endpoint);
  const basePath = endpoint.pathname.replace(/\/+$/, '');
  const hostname = options.forcePathStyle
    ? endpoint.hostname
    : `${options.bucket}.${endpoint.hostname}`;
  const port = endpoint.port ? Number(endpoint.port) : undefined;
  const bucketPath = options.forcePathStyle ? `/${escapeUri(options.bucket)}` : '';
  const origin = `${endpoint.protocol}//${hostname}${port !== undefined ? `:${port}` : ''}`;

  return async (input) => {
    const path = `${basePath}${bucketPath}/${input.key.split('/').map(escapeUri).join('/')}`;
    const signed = await presigner.presign(
      {
        method: input.method,
        protocol: endpoint.protocol,
        hostname,
        port,
        path,
        query: { 'x-id': input.operation },
        headers: { ...input.headers },
      },
      {
        expiresIn: input.expiresInS,
        signableHeaders: new Set(input.signableHeaders),
        signingRegion: options.region,
        signingService: 's3',
        ...(input.signingDate ? { signingDate: input.signingDate } : {}),
      },
    );
    // Sorted by name, as the SDK writes them: the same URL as getSignedUrl's, byte for byte.
    const query = Object.entries(signed.query ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .flatMap(([k, v]) =>
        (Array.isArray(v) ? v : [v]).map((x) => `${escapeUri(k)}=${escapeUri(String(x))}`),
      )
      .join('&');
    return `${origin}${signed.path}?${query}`;
  };
}
