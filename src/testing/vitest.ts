import type * as Vitest from 'vitest';

/** The parts of vitest the store contract registers its checks with. */
export type VitestApi = Pick<typeof Vitest, 'afterEach' | 'describe' | 'expect' | 'it' | 'vi'>;

// Loaded here, once, rather than imported statically: vitest is an optional
// peer dependency, so `pos-duplicate-guard/testing` must still load where it
// is not installed (runScenario under another test runner). A test file that
// calls storeContract has vitest loaded already, and gets the same instance.
const loaded: VitestApi | undefined = await import('vitest').catch(() => undefined);

/** vitest's API, or an error saying how to get it. */
export function vitestApi(): VitestApi {
  if (!loaded) {
    throw new Error('storeContract needs vitest (an optional peer dependency of pos-duplicate-guard): npm install --save-dev vitest');
  }
  return loaded;
}
