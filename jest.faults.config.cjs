// The fault suite (`pnpm test:faults`): whole-stack scenarios run one file at a time, each
// with its own stack behind fault proxies. Kept apart from `pnpm test` by its file names
// (`*.faults.ts` under a `faults/` folder), which the default config does not match.
const base = require('./jest.config.cjs');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/packages'],
  testMatch: ['**/faults/**/*.faults.ts'],
  maxWorkers: 1,
  testTimeout: 600000,
  // After the last scenario jest was seen waiting minutes on a handle left in its own
  // process (every service process is already gone: the worlds kill their process groups).
  // Until that handle is found, a finished suite must not hold CI hostage.
  forceExit: true,
  reporters: ['default', '<rootDir>/jest-faults-reporter.cjs'],
};
