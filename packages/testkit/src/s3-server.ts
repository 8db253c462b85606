import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from '@20minutes/s3rver';

const BROWSER_CORS = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>600</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

export interface S3Server {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  close(): Promise<void>;
}

/**
 * An S3 API server in this process, backed by a temp directory. It verifies SigV4
 * (a tampered presigned URL is refused), which is what the tests rely on; it does not
 * enforce content-length policies, which is why the gateway checks sizes itself.
 * Object-level calls only: bucket-level ones (HeadBucket, CreateBucket) fail its
 * signature check with current AWS SDKs, hence `buckets`.
 */
export async function startS3Server(
  options: { port?: number; directory?: string; buckets?: string[] } = {},
): Promise<S3Server> {
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 's3rver-')));
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory,
    vhostBuckets: false,
    // Buckets are made here, not with CreateBucket: the AWS SDK signs bucket-level paths
    // with a trailing slash that s3rver does not, so its bucket calls fail SigV4 checks.
    // With CORS, as S3 and MinIO are set up for the web app: it PUTs uploads and plays
    // recordings straight from S3, cross-origin, and reads each multipart part's ETag.
    configureBuckets: (options.buckets ?? []).map((name) => ({ name, configs: [BROWSER_CORS] })),
  });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    region: 'us-east-1',
    async close() {
      server.httpServer?.closeAllConnections();
      await server.close();
      if (!options.directory) await rm(directory, { recursive: true, force: true });
    },
  };
}
