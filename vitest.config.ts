import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real-browser tests need Chromium and run through `npm run test:browser`.
    exclude: ['test/browser/**', 'node_modules/**'],
    testTimeout: 20_000,
    // A throwaway PostgreSQL 15 server for the run (about 1 s), or the one
    // GUARD_TEST_DATABASE_URL names: see test/helpers/postgres.ts.
    globalSetup: ['test/setup/postgres.ts'],
  },
});
