import { defineConfig } from 'tsup';

// One entry per adapter so a bundle only carries the stores it imports (SPEC §6).
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing.ts',
    node: 'src/node.ts',
    idb: 'src/idb.ts',
    cli: 'src/cli.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  splitting: true,
  treeshake: true,
});
