import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real-browser tests need Chromium and run through `npm run test:browser`.
    exclude: ['test/browser/**', 'node_modules/**'],
    testTimeout: 20_000,
  },
});
