/**
 * Three projects, one per kind of test:
 * - unit: pure logic, no server, no child process;
 * - integration: against the real NATS and Postgres, one in-process broker per file (test/helpers/kit.ts), or
 *   an outside tool (kubectl, node, python) run once;
 * - system: several processes, private NATS servers and clusters, a real browser, crashes and takeovers. They
 *   measure timing on a shared 2-core machine, so `npm run test:system` runs them one at a time.
 */
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
};

// Nothing on the default Postgres or NATS port: an embedded PostgreSQL and a nats-server child, as npm start does.
const servers = {
  globalSetup: '<rootDir>/test/helpers/global-setup.mjs',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.mjs',
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, ...servers, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, ...servers, displayName: 'system', testMatch: ['<rootDir>/test/system/**/*.test.ts'] },
  ],
  testTimeout: 60000,
  // Two cores: integration suites each start a broker, so run a couple at a time.
  maxWorkers: 2,
};
