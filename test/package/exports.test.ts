import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The package.json map every consumer resolves through. publint and attw
 * check the built package in CI; these checks need no build, so a broken
 * map fails `npm test` on the commit that breaks it.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  type: string;
  sideEffects: boolean;
  main: string;
  module: string;
  types: string;
  files: string[];
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, Record<string, string>>>;
  typesVersions?: Record<string, Record<string, string[]>>;
};

type Conditions = Record<string, Record<string, string>>;
const conditional = Object.entries(pkg.exports).filter((e): e is [string, Conditions] => typeof e[1] === 'object');
const plain = Object.entries(pkg.exports).filter((e): e is [string, string] => typeof e[1] === 'string');

/** `./dist/idb.d.cts` → `idb` */
const entryName = (path: string) => /^\.\/dist\/([\w-]+)\.(?:js|cjs|d\.ts|d\.cts)$/.exec(path)?.[1];

describe('package.json exports', () => {
  it('is an ESM-first package without side effects', () => {
    expect(pkg.type).toBe('module');
    expect(pkg.sideEffects).toBe(false);
  });

  it('exposes the core, the adapters of SPEC §6 and §9, reconciliation (SPEC §11) and the testing entry', () => {
    expect(conditional.map(([subpath]) => subpath).sort()).toEqual(['.', './idb', './node', './postgres', './reconcile', './testing']);
  });

  it.each(conditional)('%s: types first in each condition, ESM .js/.d.ts for import, .cjs/.d.cts for require', (_subpath, conditions) => {
    expect(Object.keys(conditions)).toEqual(['import', 'require']);
    // TypeScript takes the first matching condition: `types` after `default` is never seen.
    expect(Object.keys(conditions.import ?? {})).toEqual(['types', 'default']);
    expect(Object.keys(conditions.require ?? {})).toEqual(['types', 'default']);
    expect(conditions.import?.default).toMatch(/\.js$/);
    expect(conditions.import?.types).toMatch(/\.d\.ts$/);
    expect(conditions.require?.default).toMatch(/\.cjs$/);
    expect(conditions.require?.types).toMatch(/\.d\.cts$/);
  });

  it.each(conditional)('%s: all four files come from one tsup entry with a source file', (_subpath, conditions) => {
    const names = new Set(
      [conditions.import?.default, conditions.import?.types, conditions.require?.default, conditions.require?.types].map((p) =>
        entryName(p ?? ''),
      ),
    );
    expect(names.size).toBe(1);
    const [name] = names;
    expect(name).toBeTypeOf('string');
    expect(existsSync(`${root}src/${name}.ts`)).toBe(true);
  });

  it('main, module and types agree with the "." export (for resolvers without exports support)', () => {
    const core = pkg.exports['.'] as Conditions;
    expect(pkg.main).toBe(core.require?.default);
    expect(pkg.module).toBe(core.import?.default);
    expect([core.import?.types, core.require?.types]).toContain(pkg.types);
  });

  it('maps every subpath for moduleResolution node10 (which ignores exports) to its require types', () => {
    const mapped = pkg.typesVersions?.['*'] ?? {};
    const subpaths = conditional.filter(([subpath]) => subpath !== '.');
    expect(Object.fromEntries(subpaths.map(([subpath]) => [subpath.slice(2), mapped[subpath.slice(2)]]))).toEqual(
      Object.fromEntries(subpaths.map(([subpath, conditions]) => [subpath.slice(2), [conditions.require?.types]])),
    );
    // The JSON asset resolves under node10 too; the SQL file is not a module and has no types to map.
    expect(mapped['scenario.schema.json']).toEqual([pkg.exports['./scenario.schema.json']]);
  });

  it('ships every file the map and the bin point at', () => {
    const targets = [
      pkg.main,
      pkg.module,
      pkg.types,
      ...Object.values(pkg.bin),
      ...plain.map(([, target]) => target),
      ...conditional.flatMap(([, c]) => Object.values(c).flatMap((condition) => Object.values(condition))),
    ].filter((target) => target !== './package.json');
    const shipped = (target: string) => pkg.files.some((dir) => target.replace(/^\.\//, '').startsWith(`${dir.replace(/\/$/, '')}/`));
    expect(targets.filter((target) => !shipped(target))).toEqual([]);
  });

  it('the bin is the ESM cli entry built from src/cli.ts', () => {
    expect(pkg.bin['pos-duplicate-guard']).toBe('./dist/cli.js');
    expect(existsSync(`${root}src/cli.ts`)).toBe(true);
  });
});
