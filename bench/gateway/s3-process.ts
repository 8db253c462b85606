// The embedded S3 API server (testkit's s3rver) in a process of its own, so its CPU time
// can be read from /proc and it does not share the bench's event loop. Sends its endpoint.
import { startS3Server } from '../../packages/testkit/dist/index.js';

const buckets = (process.env.S3_BUCKETS ?? '').split(',').filter(Boolean);
const s3 = await startS3Server({ buckets });
process.send!({
  endpoint: s3.endpoint,
  accessKeyId: s3.accessKeyId,
  secretAccessKey: s3.secretAccessKey,
  region: s3.region,
});
process.on('SIGTERM', () => void s3.close().finally(() => process.exit(0)));
