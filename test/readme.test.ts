import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { codeBlocks } from './helpers/markdown.js';

/**
 * The README must stay true: its quick start runs, every `npm run` it names
 * is a script, every command and flag it shows is one the CLI accepts, and
 * the examples it tells a reader to run exit cleanly.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('../', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const tsx = join(root, 'node_modules/.bin/tsx');
const cli = join(root, 'src/cli.ts');

const blocks = codeBlocks(readme);
/** Each shell line of the README, its comment dropped. */
const shellLines = blocks
  .filter((block) => block.lang === 'sh')
  .flatMap((block) => block.code.split('\n'))
  .map((line) => line.replace(/\s+#.*$/, '').trim())
  .filter((line) => line !== '')
  .flatMap((line) => line.split('&&').map((part) => part.trim()));

const scratch = mkdtempSync(join(tmpdir(), 'pdg-readme-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('README quick start', () => {
  const quickStart = blocks.find((block) => block.section === 'Quick start' && block.lang === 'ts');

  it('is at most 15 lines of code', () => {
    expect(quickStart).toBeDefined();
    expect(quickStart!.code.split('\n').filter((line) => line.trim() !== '').length).toBeLessThanOrEqual(15);
  });

  /** The quick start as a reader copies it, with the two things it leaves to them: a processor and a cashier. */
  function program(cashierSays: boolean): string {
    const code = quickStart!.code
      .replace("from 'pos-duplicate-guard'", `from ${JSON.stringify(join(root, 'src/index.ts'))}`)
      .replace("from 'pos-duplicate-guard/node'", `from ${JSON.stringify(join(root, 'src/node.ts'))}`);
    const given = [
      `const processor = { charge: async (_: { amount: number; idempotencyKey: string }) => ({ approved: true as const, authCode: 'A1' }) };`,
      `const cashierConfirms = async (message: string) => { console.log('asked:', message); return ${cashierSays}; };`,
    ];
    return `${given.join('\n')}\n${code}\n`;
  }

  it('charges once, then after a restart asks the cashier about the same sale', async () => {
    const file = join(scratch, 'quick-start.mts');
    const env = { ...process.env, GUARD_SECRET: 'readme-test-secret-0123456789' };
    writeFileSync(file, program(false));
    const first = await run(tsx, [file], { cwd: scratch, env });
    expect(first.stdout.trim()).toBe('approved');

    // A second run is a restarted till: the file store remembers the approval, so the same sale is a prompt.
    const second = await run(tsx, [file], { cwd: scratch, env });
    expect(second.stdout).toMatch(/^asked: .+\nnot-confirmed\n$/);
  });
});

describe('links in the README and docs/', () => {
  const pages = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`),
  ];
  const links = pages.flatMap((page) =>
    [...readFileSync(join(root, page), 'utf8').matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
      .map((match) => match[1]!)
      .filter((target) => !/^[a-z]+:/.test(target))
      .map((target) => ({ page, target, path: join(root, dirname(page), target) })),
  );

  it.each(links)('$page → $target exists', ({ path }) => {
    expect(existsSync(path)).toBe(true);
  });
});

describe('README commands', () => {
  it('names only npm scripts that exist', () => {
    const named = shellLines.flatMap((line) => /^npm run ([\w:-]+)/.exec(line)?.[1] ?? []);
    expect(named.length).toBeGreaterThanOrEqual(3);
    for (const script of named) expect(Object.keys(scripts), `npm run ${script}`).toContain(script);
  });

  const cliLines = shellLines
    .map((line) => /^(?:npx )?pos-duplicate-guard (.*)$/.exec(line)?.[1])
    .filter((rest): rest is string => rest !== undefined);

  it.each(cliLines)('pos-duplicate-guard %s: a command whose flags its help documents', async (rest) => {
    const [command] = rest.split(' ');
    const help = await run(tsx, [cli, command!, '--help'], { cwd: root });
    for (const flag of rest.match(/--[\w-]+/g) ?? []) expect(help.stdout, `${command} ${flag}`).toContain(flag);
  });

  it('runs the bundled scenarios the way the README says', async () => {
    const { stdout } = await run(tsx, [cli, 'scenarios'], { cwd: root });
    expect(stdout).toMatch(/\n\d+ passed, 0 failed\n$/);
  }, 120_000);

  it('runs the 60-line example it points to', async () => {
    expect(shellLines).toContain('npx tsx examples/checkout.ts');
    await expect(run(tsx, ['examples/checkout.ts'], { cwd: root })).resolves.toBeDefined();
  }, 60_000);
});
