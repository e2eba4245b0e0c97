import type { VitestApi } from './vitest.js';

/**
 * What the CommonJS build of `pos-duplicate-guard/testing` has in place of
 * `./vitest.ts` (see tsup.config.ts): vitest cannot be `require`d, and a
 * vitest test file imports the ESM build anyway. So requiring the entry
 * still works for runScenario, and only calling storeContract fails.
 */
export function vitestApi(): VitestApi {
  throw new Error('storeContract runs under vitest, which is ESM only: import pos-duplicate-guard/testing from an ES module test file');
}
