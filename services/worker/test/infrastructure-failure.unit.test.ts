// Which failures are the infrastructure's (retried without charging the job's attempts) and
// which are the job's own. The errors are shaped as pg and the AWS SDK throw them (seen in
// the soak's worker logs).
import { isInfrastructureFailure, PermanentJobError } from '../src/errors.js';

const pgReset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104 });
const pgStatementTimeout = Object.assign(
  new Error('canceling statement due to statement timeout'),
  {
    code: '57014',
  },
);
const s3NoAnswer = Object.assign(new Error('connect ECONNRESET 127.0.0.1:45917'), {
  name: 'TimeoutError',
  code: 'ECONNRESET',
  $metadata: { attempts: 3 },
});
const s3Unavailable = Object.assign(new Error('Service Unavailable'), {
  $metadata: { httpStatusCode: 503 },
});
const s3Missing = Object.assign(new Error('NoSuchKey'), { $metadata: { httpStatusCode: 404 } });

it.each([
  ['a Postgres connection reset', pgReset],
  ['a Postgres statement timeout', pgStatementTimeout],
  ['an S3 request with no answer', s3NoAnswer],
  ['an S3 503', s3Unavailable],
  ['a wrapped cause', new Error('download failed', { cause: s3NoAnswer })],
])('%s is the infrastructure', (_name, error) => {
  expect(isInfrastructureFailure(error)).toBe(true);
});

it.each([
  ['an engine crash', new Error('pocketsphinx exited with code 1')],
  ['bad media', new PermanentJobError('invalid_media', 'not media')],
  ['a missing object (an answer, not an outage)', s3Missing],
  ['a SQL error', Object.assign(new Error('syntax error'), { code: '42601' })],
  ['nothing', undefined],
])('%s is not', (_name, error) => {
  expect(isInfrastructureFailure(error)).toBe(false);
});
