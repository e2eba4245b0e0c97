import { rmSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';

const shared = {
  sourcemap: true,
  target: 'es2022',
  treeshake: true,
} as const;

// Two builds run side by side, so neither may clean: `dist/` is emptied once, here.
export default defineConfig((): Options[] => {
  rmSync('dist', { recursive: true, force: true });
  return [
    {
      ...shared,
      // One entry per adapter so a bundle only carries the stores it imports (SPEC §6).
      entry: {
        index: 'src/index.ts',
        testing: 'src/testing.ts',
        node: 'src/node.ts',
        idb: 'src/idb.ts',
      },
      format: ['esm', 'cjs'],
      dts: true,
      splitting: true,
    },
    {
      ...shared,
      // The bin is ESM only: it finds the bundled scenarios through import.meta.url,
      // and `"type": "module"` makes dist/cli.js ESM. The hashbang is kept and the file made executable.
      entry: { cli: 'src/cli.ts' },
      format: ['esm'],
      dts: false,
      splitting: false,
    },
  ];
});
