import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { SCENARIOS_HELP } from '../../src/scenarios/cli.js';
import { scenarioSchema } from '../../src/scenarios/schema.js';

/**
 * The shipped schema/scenario.schema.json, checked the way QA teams use it:
 * with ajv as shipped (strict mode, no plugins, no flags beyond the draft),
 * against the zod schema the loader uses, so the two never disagree on the
 * bundled scenarios or on a broken file.
 */

const SHIPPED = 'schema/scenario.schema.json';
const schema = JSON.parse(readFileSync(SHIPPED, 'utf8')) as Record<string, unknown>;
const bundled = readdirSync('scenarios')
  .filter((f) => f.endsWith('.json'))
  .map((f) => join('scenarios', f));

// The file declares 2020-12: ajv's default export is draft-07 and refuses it.
const ajv = new Ajv2020();
const validate = ajv.compile(schema);

const base = { name: 'broken on purpose', steps: [{ advance: '1s' }] };
const INVALID: [string, unknown][] = [
  ['no name', { steps: [{ advance: '1s' }] }],
  ['no steps', { name: 'x', steps: [] }],
  ['an unknown top-level field', { ...base, stpes: [] }],
  ['an unknown field in settle', { ...base, steps: [{ settle: { attempt: 'a1', status: 'approved', authcode: 'x' } }] }],
  ['two actions in one step', { ...base, steps: [{ advance: '1s', clockJump: '-1h' }] }],
  ['a step with no action', { ...base, steps: [{ expect: { verdict: 'allow' } }] }],
  ['a window that is a boolean', { ...base, config: { window: true } }],
  ['a start that is not a date-time', { ...base, start: 'yesterday' }],
  ['an unknown verdict', { ...base, steps: [{ peek: { amount: 1, currency: 'CNY' }, expect: { verdict: 'maybe' } }] }],
];

describe('the shipped scenario JSON Schema, with ajv and with zod', () => {
  it('declares draft 2020-12 and no $id (nothing exists at a URL until the package is published)', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema).not.toHaveProperty('$id');
  });

  it.each(bundled)('%s is valid for ajv and for zod', (file) => {
    const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
    expect(scenarioSchema.safeParse(json).success).toBe(true);
  });

  it.each(INVALID)('%s is refused by both', (_, json) => {
    expect(validate(json)).toBe(false);
    expect(scenarioSchema.safeParse(json).success).toBe(false);
  });
});

/** Runs ajv-cli (this repository's, node_modules/.bin/ajv) with `args`, in `cwd`. */
function ajvCli(args: string[], cwd = process.cwd()): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(join(process.cwd(), 'node_modules/.bin/ajv'), args, { cwd, encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

const scratch = mkdtempSync(join(tmpdir(), 'pdg-ajv-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * The command docs/scenarios.md gives, as written there (the line after the
 * `<!-- ajv-command -->` marker), split into words: `npx ajv` is run as
 * this repository's ajv-cli, the rest exactly.
 */
function documentedCommand(): string[] {
  const doc = readFileSync('docs/scenarios.md', 'utf8');
  const block = /<!-- ajv-command -->\n```sh\n(.+)\n```/.exec(doc)?.[1];
  if (block === undefined) throw new Error('docs/scenarios.md has no <!-- ajv-command --> block');
  const words = block.match(/"[^"]*"|\S+/g) ?? [];
  expect(words.slice(0, 2)).toEqual(['npx', 'ajv']);
  return words.slice(2).map((word) => word.replace(/^"(.*)"$/, '$1'));
}

/** A project as a QA team has it: the package in node_modules, scenarios in qa/scenarios/ and below. */
function project(files: Record<string, unknown>): string {
  const root = mkdtempSync(join(scratch, 'project-'));
  const packageDir = join(root, 'node_modules', 'pos-duplicate-guard', 'schema');
  mkdirSync(packageDir, { recursive: true });
  copyFileSync(SHIPPED, join(packageDir, 'scenario.schema.json'));
  for (const [file, json] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), JSON.stringify(json, null, 2));
  }
  return root;
}

const RELATIVE_SCHEMA = '../../node_modules/pos-duplicate-guard/schema/scenario.schema.json';

describe('the ajv-cli command docs/scenarios.md documents', { timeout: 60_000 }, () => {
  it('passes every scenario of a project, in subfolders too, $schema given relative to the file', async () => {
    const files = Object.fromEntries(
      bundled.slice(0, 5).map((file, i) => {
        const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
        return [`qa/scenarios/${i % 2 === 0 ? '' : 'refunds/'}${basename(file)}`, { $schema: RELATIVE_SCHEMA, ...json }];
      }),
    );
    const root = project(files);
    // The documented $schema resolves from a file in qa/scenarios/ to the shipped schema.
    expect(existsSync(resolve(root, 'qa/scenarios', RELATIVE_SCHEMA))).toBe(true);
    const { code, stdout, stderr } = await ajvCli(documentedCommand(), root);
    expect(stdout + stderr).not.toContain('invalid');
    expect((stderr + stdout).match(/ valid$/gm)).toHaveLength(5);
    expect(code).toBe(0);
  });

  it('fails on a broken file, naming it', async () => {
    const root = project({
      'qa/scenarios/ok.json': { name: 'ok', steps: [{ advance: '1s' }] },
      'qa/scenarios/deep/broken.json': INVALID[3]?.[1],
    });
    const { code, stdout, stderr } = await ajvCli(documentedCommand(), root);
    expect(code).not.toBe(0);
    expect(stdout + stderr).toContain('qa/scenarios/deep/broken.json invalid');
    expect(stdout + stderr).toContain('qa/scenarios/ok.json valid');
  });

  it('is the command the help gives, with the $schema path that works from a subfolder', () => {
    expect(SCENARIOS_HELP).toContain(
      `  npx ajv ${documentedCommand()
        .map((w) => (w.includes('*') ? `"${w}"` : w))
        .join(' ')}\n`,
    );
    expect(SCENARIOS_HELP).toContain(`"$schema": "${RELATIVE_SCHEMA}"`);
  });

  it('passes every bundled scenario in this repository', async () => {
    const { code, stderr, stdout } = await ajvCli(['validate', '--spec=draft2020', '-s', SHIPPED, '-d', 'scenarios/*.json']);
    expect((stderr + stdout).match(/ valid$/gm)).toHaveLength(bundled.length);
    expect(code).toBe(0);
  });
});
