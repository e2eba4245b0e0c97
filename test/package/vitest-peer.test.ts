import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * vitest is an optional peer dependency, wanted only by storeContract in
 * `pos-duplicate-guard/testing`: no other entry may reach it, and the
 * testing entry loads it without a static import, so it still loads where
 * vitest is not installed (see src/testing/vitest.ts).
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dependencies?: Record<string, string>;
};

/** Every module specifier a file imports or re-exports, types included, with `type` marking type-only ones. */
function importsOf(file: string): { specifier: string; typeOnly: boolean; dynamic: boolean }[] {
  const text = readFileSync(file, 'utf8');
  const found: { specifier: string; typeOnly: boolean; dynamic: boolean }[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'/gm)) {
    found.push({ specifier: match[2] ?? '', typeOnly: match[1] !== undefined, dynamic: false });
  }
  for (const match of text.matchAll(/\bimport\('([^']+)'\)/g)) found.push({ specifier: match[1] ?? '', typeOnly: false, dynamic: true });
  return found;
}

/** The source files an entry reaches through its static, value imports. */
function staticGraph(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const imports = importsOf(file).filter((i) => !i.typeOnly && !i.dynamic);
    seen.set(
      file,
      imports.map((i) => i.specifier),
    );
    for (const { specifier } of imports) if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
  };
  visit(resolve(root, entry));
  return seen;
}

describe('vitest as an optional peer dependency', () => {
  it('is declared as an optional peer, not a dependency', () => {
    expect(pkg.peerDependencies?.vitest).toBeTypeOf('string');
    expect(pkg.peerDependenciesMeta?.vitest?.optional).toBe(true);
    expect(pkg.dependencies?.vitest).toBeUndefined();
  });

  it.each(['src/index.ts', 'src/idb.ts', 'src/node.ts', 'src/testing.ts'])('%s reaches no static import of vitest', (entry) => {
    const graph = staticGraph(entry);
    expect(graph.size).toBeGreaterThan(1);
    const importers = [...graph].filter(([, specifiers]) => specifiers.includes('vitest')).map(([file]) => file);
    expect(importers).toEqual([]);
  });

  it('the core entries do not reach the store contract at all', () => {
    for (const entry of ['src/index.ts', 'src/idb.ts', 'src/node.ts']) {
      expect([...staticGraph(entry).keys()].filter((file) => file.includes('/src/testing'))).toEqual([]);
    }
  });
});
