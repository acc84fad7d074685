/** Unit tests live beside nothing but pure logic; integration tests talk to the real NATS and Postgres. */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  testTimeout: 60000,
  // Nothing on the default Postgres or NATS port: an embedded PostgreSQL and a nats-server child, as npm start does.
  globalSetup: '<rootDir>/test/helpers/global-setup.mjs',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.mjs',
  // Two cores: integration suites each start a broker, so run a couple at a time.
  maxWorkers: 2,
};
