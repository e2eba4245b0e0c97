import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig, type Options } from 'tsup';

const shared = {
  // No source maps in the package: the output is unminified ES2022 that reads
  // much like the source (names, comments aside, are kept), so a stack trace
  // into dist/ is already readable; maps with the TypeScript embedded were
  // 65% of the unpacked package, and maps without it point at src/, which is
  // not shipped.
  sourcemap: false,
  target: 'es2022',
  treeshake: true,
} as const;

/**
 * The CommonJS build of the testing entry gets `src/testing/vitest.cjs.ts`
 * for `./vitest.js`: vitest cannot be required (it throws), and the ESM
 * module loads it with a top-level await, which CommonJS has no form for.
 * With splitting, esbuild emits ESM for both builds (tsup converts the CJS
 * one afterwards), so the CJS build is told apart by its file extension.
 */
const vitestOnlyInEsm: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'vitest-only-in-esm',
  setup(build) {
    if (build.initialOptions.outExtension?.['.js'] !== '.cjs') return;
    build.onResolve({ filter: /^\.\/vitest\.js$/ }, (args) => ({ path: join(args.resolveDir, 'vitest.cjs.ts') }));
  },
};

/** One entry per adapter so a bundle only carries the stores it imports (SPEC §6). */
const libraryEntries = {
  index: 'src/index.ts',
  testing: 'src/testing.ts',
  node: 'src/node.ts',
  idb: 'src/idb.ts',
  postgres: 'src/postgres.ts',
  // Matching and settlement-file reading (SPEC §11): never in the core bundle.
  reconcile: 'src/reconcile.ts',
};

const library = {
  ...shared,
  // stripInternal: what is tagged `@internal` (the Guard constructor that
  // createGuard calls, the hydrate symbol) stays out of the public types.
  // Types for the library entries only: the bin has no API.
  dts: { entry: libraryEntries, compilerOptions: { stripInternal: true } },
  splitting: true,
  // storeContract (testing entry) registers its checks with the store
  // author's own vitest: bundling a copy would register them nowhere.
  external: ['vitest'],
  esbuildPlugins: [vitestOnlyInEsm],
} satisfies Options;

// Two builds run side by side, so neither may clean: `dist/` is emptied once, here.
export default defineConfig((): Options[] => {
  rmSync('dist', { recursive: true, force: true });
  return [
    {
      ...library,
      // The bin is built with the ESM library, so it imports the same chunks
      // instead of carrying its own copy of the library (it was 450 KB, a
      // quarter of the packed package). It is ESM only: it finds the bundled
      // scenarios by walking up from import.meta.url, and `"type": "module"`
      // makes dist/cli.js ESM. The hashbang is kept and the file made executable.
      entry: { ...libraryEntries, cli: 'src/cli.ts' },
      format: ['esm'],
    },
    { ...library, entry: libraryEntries, format: ['cjs'] },
  ];
});
