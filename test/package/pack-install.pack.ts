import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSUMER, RESOLUTIONS } from './consumer.js';
import { CODE_ENTRIES, NAME, expectSuccess, freshCheckout, pkg, root, run, scratchProject } from './scratch.js';
/**
 * What a stranger gets: the repository as a fresh clone (no dist/) is packed
 * with `npm pack`, which must build it (the `prepare` script), and the
 * tarball is installed into an empty project outside the repository. From
 * there the bin runs, every entry point loads through `import` and through
 * `require`, and a consumer file type-checks under moduleResolution node16,
 * node10 and bundler.
 *
 * Everything lives under the OS temp folder, never inside the repository:
 * Node and TypeScript look for packages in every parent folder's
 * node_modules, so a scratch project inside the repository would quietly use
 * the repository's vitest, pg and types instead of what the tarball brings.
 *
 * No network: the scratch project gets a package-lock.json naming the
 * tarball and, for its dependencies, the versions and integrity hashes of
 * this repository's lockfile, and installs with `npm ci --offline`. That
 * needs only the tarballs `npm ci` of this repository put in the npm cache
 * (a plain `npm install --offline <tarball>` also needs the registry's
 * package documents to resolve `^` ranges, which `npm ci` never caches: it
 * failed with ENOTCACHED on a fresh cache). TypeScript and @types/node for
 * the type checks are the repository's own.
 *
 * Run with `npm run test:package` (its own vitest config: see there why).
 */

let work: string;
let project: string;
let installed: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'pdg-pack-'));
  const checkout = join(work, 'checkout');
  project = join(work, 'project');
  mkdirSync(checkout);
  mkdirSync(project);
  await freshCheckout(checkout);

  // `npm pack` runs `prepare`, the build: the checkout has no dist/ before it.
  const packed = await run('npm', ['pack', '--pack-destination', work, '--silent'], checkout);
  expectSuccess(packed, 'npm pack');
  const tarball = readdirSync(work).find((file) => file.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack wrote no tarball:\n${packed.stdout}\n${packed.stderr}`);

  scratchProject(project, join(work, tarball));
  const install = await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], project);
  if (install.code !== 0 && /ENOTCACHED/.test(install.stderr)) {
    throw new Error(`npm ci --offline: a dependency is not in the npm cache; run \`npm ci\` in the repository first.\n${install.stderr}`);
  }
  expectSuccess(install, 'npm ci of the tarball');
  installed = join(project, 'node_modules', NAME);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed package, installed into an empty project', () => {
  it('holds the built dist/ and the files the package.json points at', () => {
    const dist = readdirSync(join(installed, 'dist'));
    expect(dist).toEqual(expect.arrayContaining(['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts', 'cli.js']));
    // No source maps: see tsup.config.ts.
    expect(dist.filter((file) => file.endsWith('.map'))).toEqual([]);
    expect(readdirSync(installed)).toEqual(expect.arrayContaining(['CHANGELOG.md', 'README.md', 'schema', 'scenarios']));
  });

  it('does not bring the optional peers vitest and pg', () => {
    const modules = readdirSync(join(project, 'node_modules'));
    expect(modules).toContain(NAME);
    expect(modules).not.toContain('vitest');
    expect(modules).not.toContain('pg');
  });

  it('runs the bin: --version prints the package version', async () => {
    // `--` keeps npx from taking --version for its own flag.
    const version = await run('npx', ['--no', '--', NAME, '--version'], project, 60_000);
    expectSuccess(version, 'pos-duplicate-guard --version');
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  it('runs the bin: `scenarios` runs every bundled scenario, all passing', async () => {
    const scenarios = await run('npx', ['--no', '--', NAME, 'scenarios', '--json'], project, 120_000);
    expectSuccess(scenarios, 'pos-duplicate-guard scenarios');
    const report = JSON.parse(scenarios.stdout) as { passed: number; failed: number };
    const bundled = readdirSync(join(installed, 'scenarios')).filter((file) => file.endsWith('.json'));
    expect(bundled.length).toBeGreaterThan(0);
    expect(report).toMatchObject({ passed: bundled.length, failed: 0 });
  });

  it('every entry point loads with import (ESM), and the core decides', async () => {
    const script = `
      const entries = ${JSON.stringify(CODE_ENTRIES)};
      const loaded = {};
      for (const entry of entries) loaded[entry] = Object.keys(await import(entry)).length;
      const { createGuard } = await import('${NAME}');
      const guard = await createGuard({ merchantId: 'M-1', secret: 'a-secret-of-32-characters-at-least' });
      const sale = { amount: 1250, currency: 'EUR', card: { pan: '4242424242424242' } };
      const first = await guard.begin(sale);
      const second = await guard.begin(sale);
      await guard.close();
      const { storeContract } = await import('${NAME}/testing');
      let withoutVitest = '';
      try { storeContract(async () => ({ store: undefined })); } catch (error) { withoutVitest = error.message; }
      const schemaUrl = import.meta.resolve('${NAME}/scenario.schema.json');
      const { default: schema } = await import(schemaUrl, { with: { type: 'json' } });
      const sqlUrl = import.meta.resolve('${NAME}/postgres/schema.sql');
      const { readFileSync } = await import('node:fs');
      const sql = readFileSync(new URL(sqlUrl), 'utf8');
      console.log(JSON.stringify({ loaded, verdicts: [first.verdict, second.verdict], withoutVitest, schemaKeys: Object.keys(schema), sqlHasCreate: /create table/i.test(sql) }));
    `;
    const esm = await run(process.execPath, ['--input-type=module', '-e', script], project, 60_000);
    expectSuccess(esm, 'ESM import of every entry point');
    const out = JSON.parse(esm.stdout) as {
      loaded: Record<string, number>;
      verdicts: string[];
      withoutVitest: string;
      schemaKeys: string[];
      sqlHasCreate: boolean;
    };
    expect(Object.keys(out.loaded).sort()).toEqual([...CODE_ENTRIES].sort());
    for (const [entry, exports] of Object.entries(out.loaded)) expect(exports, entry).toBeGreaterThan(0);
    // The same sale twice while the first is in flight: the whole point of the package.
    expect(out.verdicts).toEqual(['allow', 'block']);
    // vitest is an optional peer: /testing loads without it, and storeContract says how to get it.
    expect(out.withoutVitest).toMatch(/needs vitest.*npm install --save-dev vitest/);
    expect(out.schemaKeys).toEqual(expect.arrayContaining(['$schema', 'type']));
    expect(out.sqlHasCreate).toBe(true);
  });

  it('every entry point loads with require (CommonJS), and the assets resolve', async () => {
    const script = `
      const entries = ${JSON.stringify(CODE_ENTRIES)};
      const loaded = {};
      for (const entry of entries) loaded[entry] = Object.keys(require(entry)).length;
      const schema = require('${NAME}/scenario.schema.json');
      const sql = require('node:fs').readFileSync(require.resolve('${NAME}/postgres/schema.sql'), 'utf8');
      const { storeContract } = require('${NAME}/testing');
      let inCommonJs = '';
      try { storeContract(async () => ({ store: undefined })); } catch (error) { inCommonJs = error.message; }
      console.log(JSON.stringify({ loaded, schemaKeys: Object.keys(schema), sqlHasCreate: /create table/i.test(sql), inCommonJs }));
    `;
    const cjs = await run(process.execPath, ['--input-type=commonjs', '-e', script], project, 60_000);
    expectSuccess(cjs, 'CommonJS require of every entry point');
    const out = JSON.parse(cjs.stdout) as {
      loaded: Record<string, number>;
      schemaKeys: string[];
      sqlHasCreate: boolean;
      inCommonJs: string;
    };
    expect(Object.keys(out.loaded).sort()).toEqual([...CODE_ENTRIES].sort());
    for (const [entry, exports] of Object.entries(out.loaded)) expect(exports, entry).toBeGreaterThan(0);
    expect(out.schemaKeys).toEqual(expect.arrayContaining(['$schema', 'type']));
    expect(out.sqlHasCreate).toBe(true);
    // storeContract needs vitest, which is ESM only: the CommonJS build says so instead of failing to load.
    expect(out.inCommonJs).toMatch(/ESM only/);
  });

  it.each(Object.keys(RESOLUTIONS) as (keyof typeof RESOLUTIONS)[])(
    'a consumer type-checks against the shipped types with moduleResolution %s',
    async (resolution) => {
      const { files, ...compilerOptions } = RESOLUTIONS[resolution];
      const dir = join(project, `tsc-${resolution}`);
      mkdirSync(dir, { recursive: true });
      for (const file of files) writeFileSync(join(dir, file), CONSUMER);
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            ...compilerOptions,
            target: 'es2022',
            lib: ['es2022', 'dom'],
            strict: true,
            noEmit: true,
            // The shipped .d.ts files are checked too, not taken on trust.
            skipLibCheck: false,
            esModuleInterop: true,
            // The repository's @types/node: /node's types name node:fs, as any Node project's do.
            typeRoots: [join(realpathSync(join(root, 'node_modules')), '@types')],
            types: ['node'],
          },
          files,
        }),
      );
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      const checked = await run(process.execPath, [tsc, '-p', dir], dir, 120_000);
      expect(`${checked.stdout}${checked.stderr}`).toBe('');
      expect(checked.code).toBe(0);
    },
  );

  it('the shipped .d.ts files stand alone: no SPEC §, no @internal, no source paths', () => {
    const declarations = readdirSync(join(installed, 'dist')).filter((file) => /\.d\.c?ts$/.test(file));
    expect(declarations.length).toBeGreaterThan(0);
    const found: string[] = [];
    for (const file of declarations) {
      readFileSync(join(installed, 'dist', file), 'utf8')
        .split('\n')
        .forEach((line, index) => {
          // A design document that is not shipped; internals hidden by stripInternal; the hydrate hook's symbol.
          if (/SPEC\s*§|@internal|\bHYDRATE\b|\bCREATE\b/.test(line)) found.push(`${file}:${index + 1}: ${line.trim()}`);
          // A path to one of this repository's TypeScript files, e.g. src/stores/file/io.ts or './file/jsonl.ts'.
          if (/\bsrc\/[\w./-]+\.ts\b|['"`(][\w./-]+\.ts['"`)]/.test(line)) found.push(`${file}:${index + 1}: ${line.trim()}`);
        });
    }
    expect(found).toEqual([]);
  });
});
