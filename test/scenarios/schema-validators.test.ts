import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
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

function ajvCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node_modules/.bin/ajv', args, { encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

const scratch = mkdtempSync(join(tmpdir(), 'pdg-ajv-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// The command docs/scenarios.md gives, with the schema's path in this repository.
const documented = (data: string) => ['validate', '--spec=draft2020', '-s', SHIPPED, '-d', data];

describe('the ajv-cli command docs/scenarios.md documents', { timeout: 60_000 }, () => {
  it('passes every bundled scenario', async () => {
    const { code, stdout, stderr } = await ajvCli(documented('scenarios/*.json'));
    expect(stdout + stderr).not.toContain('invalid');
    expect(code).toBe(0);
    expect((stderr + stdout).match(/ valid$/gm)).toHaveLength(bundled.length);
  });

  it('fails on a broken file, naming it', async () => {
    const file = join(scratch, 'broken.json');
    writeFileSync(file, JSON.stringify(INVALID[3]?.[1]));
    const { code, stdout, stderr } = await ajvCli(documented(file));
    expect(code).not.toBe(0);
    expect(stdout + stderr).toContain(`${file} invalid`);
  });
});
