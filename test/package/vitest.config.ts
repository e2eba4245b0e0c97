import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * `npm run test:package`: the pack-and-install test, on its own rather than
 * in `npm test`. It builds the package (tsup, about 20 s of both CPUs on a
 * CI machine) and installs it, which would compete with the timing-sensitive
 * tests `npm test` runs in parallel; and it checks the package as a whole,
 * so CI runs it once, after the unit tests. Its files end in `.pack.ts` so
 * `npm test` (test/**\/*.test.ts) does not pick them up.
 */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/package/**/*.pack.ts'],
    // One file, several slow steps in a row: building, installing, three tsc runs.
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
