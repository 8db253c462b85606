// Tests run TypeScript sources directly through swc (type checking is `tsc -b` and
// tsconfig.test.json); workspace imports resolve to each package's src, not its dist.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/services'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
      },
    ],
  },
  moduleNameMapper: {
    '^@transcribe/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  setupFiles: ['<rootDir>/jest.setup.cjs'],
  // The last-resort guard of a test, not a guess of the machine's speed: tests wait on
  // conditions with their own bounds, and on a loaded 2-core box (load 14 seen in CI) a
  // whole-stack test that transcribes real speech has taken 5 minutes.
  testTimeout: 600000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/jest-summary-reporter.cjs'],
};
