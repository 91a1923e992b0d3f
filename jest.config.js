/** Tests live in test/, mirroring the source tree; ts-jest transpiles only (tsc --noEmit type-checks). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }],
    // email-forward-parser ships ESM only; Node >= 20.19 require()s it, jest's module system needs it as CommonJS.
    'node_modules/email-forward-parser/.+\\.js$': '<rootDir>/test/support/esm-to-cjs.js',
    // contrib/ holds files deployed elsewhere as ES modules (the Cloudflare Email Worker): the same for its tests.
    '/contrib/.+\\.js$': '<rootDir>/test/support/esm-to-cjs.js',
  },
  transformIgnorePatterns: ['/node_modules/(?!email-forward-parser/)'],
  // A bound on a hang, not a pace: the suite also runs on a loaded 2-core machine.
  testTimeout: 180_000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
