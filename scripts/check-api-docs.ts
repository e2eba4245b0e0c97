/**
 * `npm run docs:api:check`: fails when docs/api (the committed API reference)
 * is not what TypeDoc generates from the TSDoc today.
 *
 * Generates into a temporary folder rather than over docs/api, so a failing
 * check leaves the working tree as it was, and compares every file both ways
 * (a page added or removed counts as much as a page changed). TypeDoc runs
 * with treatWarningsAsErrors (typedoc.json): an unresolved {@link} or an
 * exported type referring to an unexported one fails here too.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const committed = join(root, 'docs', 'api');

/** Every file under a folder, as paths relative to it, sorted. */
function filesUnder(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** Files only in one tree, or whose bytes differ. */
function differences(expected: string, actual: string): string[] {
  const want = filesUnder(expected);
  const have = new Set(filesUnder(actual));
  const found: string[] = [];
  for (const file of want) {
    if (!have.has(file)) found.push(`missing from docs/api: ${file}`);
    else if (!readFileSync(join(expected, file)).equals(readFileSync(join(actual, file)))) found.push(`differs: ${file}`);
    have.delete(file);
  }
  for (const file of have) found.push(`no longer generated: ${file}`);
  return found;
}

function main(): number {
  const fresh = mkdtempSync(join(tmpdir(), 'pdg-api-'));
  try {
    const typedoc = spawnSync('npx', ['--no', '--', 'typedoc', '--out', fresh], { cwd: root, stdio: 'inherit' });
    if (typedoc.status !== 0) {
      process.stderr.write('TypeDoc failed (its warnings are errors, see typedoc.json): fix the TSDoc it names.\n');
      return 1;
    }
    const found = differences(fresh, committed);
    if (found.length === 0) {
      process.stdout.write('docs/api is up to date\n');
      return 0;
    }
    process.stderr.write(`${found.join('\n')}\ndocs/api is stale: run \`npm run docs:api\` and commit docs/api.\n`);
    return 1;
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
}

process.exitCode = main();
