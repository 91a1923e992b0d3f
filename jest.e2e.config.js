/** The real-n8n end-to-end suites (npm run e2e): not part of `npm test`, one suite at a time, minutes not seconds. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/e2e'],
  testMatch: ['**/*.e2e.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
  testTimeout: 20 * 60 * 1000,
  maxWorkers: 1,
  globalSetup: '<rootDir>/test/e2e/global-setup.ts',
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
