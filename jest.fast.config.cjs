// The fast tier (`pnpm test:fast`): tests of pure modules, no Postgres, RabbitMQ, S3,
// ffmpeg, pocketsphinx or child processes, so they run in seconds while editing. A test
// joins it by its name, `*.unit.test.ts`; `pnpm test` runs these too (see docs/testing.md).
const base = require('./jest.config.cjs');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ['**/test/**/*.unit.test.ts'],
  // Nothing here waits on a service: a test that needs this long is not a unit test.
  testTimeout: 30000,
  maxWorkers: '50%',
};
