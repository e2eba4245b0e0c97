import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scenariosCommand } from '../../src/scenarios/cli.js';
import type { JsonReport } from '../../src/scenarios/report.js';

/**
 * The environment without what changes the output on purpose: a CI runner
 * sets GITHUB_ACTIONS (annotations on stdout) and often FORCE_COLOR; these
 * tests check the plain output (reporters.test.ts checks those).
 */
const plainEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !['GITHUB_ACTIONS', 'FORCE_COLOR', 'NO_COLOR'].includes(key)),
);

/** Runs the real bin through tsx, the way `npm run scenarios` does on a fresh clone. */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npx', ['tsx', 'src/cli.ts', ...args], { encoding: 'utf8', timeout: 30_000, env: plainEnv }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const FIXTURES = 'test/fixtures/scenarios';
const CLOSING = /^\d+ passed, \d+ failed$/;
const lastLine = (text: string) => text.trimEnd().split('\n').at(-1);
const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

// Each test spawns a process (about a second, much more on a busy CI box).
describe('pos-duplicate-guard scenarios', { timeout: 60_000 }, () => {
  it('exits 0 when every scenario passes, one line each and the closing line', async () => {
    const { code, stdout, stderr } = await cli('scenarios', `${FIXTURES}/passing`);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^✓ every step kind, end to end \(22 steps, [\d.]+ ms\)$/);
    expect(lines.slice(0, 3).every((l) => l.startsWith('✓ '))).toBe(true);
    expect(lines[3]).toBe('3 passed, 0 failed');
  });

  it('exits 1 on a failure, showing the first failing step with expected, actual and its JSON', async () => {
    const { code, stdout } = await cli(
      'scenarios',
      `${FIXTURES}/failing/wrong-verdict.json`,
      `${FIXTURES}/passing/restart-with-changed-secret.json`,
    );
    expect(code).toBe(1);
    expect(stdout).toContain('✗ deliberately wrong: expects a double tap to be allowed (3 steps,');
    // file:line of the failing step, which terminals and editors open at that line.
    expect(stdout).toContain('    test/fixtures/scenarios/failing/wrong-verdict.json:6\n');
    expect(stdout).toContain(
      '    step 2: {"begin":{"amount":1250,"currency":"CNY","card":{"pan":"[card number removed]"}},"expect":{"verdict":"allow","absent":["IN_FLIGHT"]}}\n',
    );
    expect(stdout).toContain('      expected: verdict allow, without IN_FLIGHT\n      actual:   verdict block, reasons: IN_FLIGHT\n');
    expect(lastLine(stdout)).toBe('1 passed, 1 failed');
  });

  it('exits 2 on invalid files, naming file, step and field, without a stack trace and running nothing', async () => {
    const { code, stdout, stderr } = await cli('scenarios', `${FIXTURES}/invalid`, `${FIXTURES}/passing`);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(
      `${FIXTURES}/invalid/unknown-name.json: step 3, \`settle.attempt\`: "a2" is not a name defined by an earlier step's \`as\``,
    );
    expect(stderr).toContain(`${FIXTURES}/invalid/bad-json.json: is not valid JSON: `);
    expect(stderr).toContain('4 invalid scenario files: nothing was run');
    noStackTrace(stderr);
  });

  it('a step with a value nested 100,000 levels deep is a failing step: the run goes on, exit 1, the closing line, no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdg-deep-'));
    const card = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    writeFileSync(join(dir, 'a-first.json'), JSON.stringify({ name: 'first', steps: [{ advance: '1s' }] }));
    writeFileSync(
      join(dir, 'b-deep.json'),
      `{"name":"deep card","steps":[{"begin":{"amount":100,"currency":"CNY","card":${card}},"expect":{"verdict":"allow"}}]}`,
    );
    writeFileSync(join(dir, 'c-last.json'), JSON.stringify({ name: 'last', steps: [{ advance: '1s' }] }));
    const { code, stdout, stderr } = await cli('scenarios', dir);
    expect(stderr).toBe('');
    expect(code).toBe(1);
    expect(stdout).toContain('✗ deep card (1 step,');
    expect(stdout).toMatch(/ {4}step 1: \{"begin":\{"amount":100,"currency":"CNY","card":\{"a":.*…/);
    expect(stdout).toContain('      actual:   GuardInputError: `card` must have exactly one of');
    expect(stdout).toMatch(/\n✓ last \(1 step, /);
    expect(lastLine(stdout)).toBe('2 passed, 1 failed');
    noStackTrace(stdout);
  });

  it('passes a Sale to the guard as written: a "__proto__" key in it is refused (GuardInputError)', async () => {
    const { code, stdout } = await cli('scenarios', `${FIXTURES}/as-written`);
    expect(stdout).toMatch(/^✓ a Sale with a "__proto__" key reaches the guard as written, and is refused \(7 steps, /);
    expect(lastLine(stdout)).toBe('1 passed, 0 failed');
    expect(code).toBe(0);
  });

  it('follows links in a folder; a link that would loop is noted once on stderr and the run goes on', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'pdg-cli-links-')));
    mkdirSync(join(dir, 'qa'));
    writeFileSync(join(dir, 'shared.json'), JSON.stringify({ name: 'shared through a link', steps: [{ advance: '1s' }] }));
    writeFileSync(join(dir, 'qa', 'own.json'), JSON.stringify({ name: 'own', steps: [{ advance: '1s' }] }));
    symlinkSync(join(dir, 'shared.json'), join(dir, 'qa', 'shared.json'));
    symlinkSync('..', join(dir, 'qa', 'up'));
    const note = `${join(dir, 'qa', 'up')}: not followed: it is a link to ${dir}, a folder that contains it (it would loop)\n`;
    const text = await cli('scenarios', join(dir, 'qa'));
    expect(text.stderr).toBe(note);
    expect(text.stdout).toMatch(/^✓ own .*\n✓ shared through a link .*\n2 passed, 0 failed\n$/);
    expect(text.code).toBe(0);
    const json = await cli('scenarios', join(dir, 'qa'), '--json');
    expect(json.stderr).toBe(note);
    expect(JSON.parse(json.stdout)).toMatchObject({ passed: 2, failed: 0 });
  });

  it('--json prints exactly one JSON document with 1-based steps', async () => {
    const { code, stdout } = await cli('scenarios', `${FIXTURES}/failing`, `${FIXTURES}/passing/nested`, '--json');
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as JsonReport;
    expect(Object.keys(report)).toEqual(['passed', 'failed', 'scenarios']);
    expect(report).toMatchObject({ passed: 1, failed: 2 });
    expect(report.scenarios.map((s) => [s.file, s.passed])).toEqual([
      [`${FIXTURES}/failing/errors.json`, false],
      [`${FIXTURES}/failing/wrong-verdict.json`, false],
      [`${FIXTURES}/passing/nested/supervisor-override.json`, true],
    ]);
    const errors = report.scenarios[0]!;
    expect(errors.failures.map((f) => f.step)).toEqual([3, 4]);
    expect(errors.failures[1]).toEqual({
      step: 4,
      line: 8,
      expected: 'throws GuardInputError',
      actual: 'no error: verdict allow, reasons: (none)',
    });
  });

  it('--json with invalid files is still one JSON document, with the problems', async () => {
    const { code, stdout } = await cli('scenarios', '--json', `${FIXTURES}/invalid/unknown-field.json`);
    expect(code).toBe(2);
    expect(JSON.parse(stdout)).toEqual({
      passed: 0,
      failed: 0,
      scenarios: [],
      errors: [
        {
          file: `${FIXTURES}/invalid/unknown-field.json`,
          step: 2,
          line: 5,
          field: 'settle.authcode',
          message: 'is not a field of `settle`',
        },
      ],
    });
  });

  it('--filter keeps scenarios whose name or file contains TEXT, ignoring case', async () => {
    const { code, stdout } = await cli('scenarios', `${FIXTURES}/passing`, '--filter', 'SUPERVISOR');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^✓ an order paid twice on one card is blocked until a supervisor lifts it .*\n1 passed, 0 failed\n$/);
  });

  it('--tag keeps scenarios with any of the given tags', async () => {
    const { code, stdout } = await cli('scenarios', `${FIXTURES}/passing`, `${FIXTURES}/failing`, '--tag', 'restart', '--tag', 'order');
    expect(code).toBe(0);
    expect(stdout.split('\n').filter((l) => l.startsWith('✓'))).toHaveLength(2);
    expect(lastLine(stdout)).toBe('2 passed, 0 failed');
  });

  it('a filter that matches nothing exits 2, not a green run of zero scenarios', async () => {
    const { code, stderr } = await cli('scenarios', `${FIXTURES}/passing`, '--tag', 'no-such-tag');
    expect(code).toBe(2);
    expect(stderr).toContain('no scenario matches --tag "no-such-tag" (3 loaded)');
  });

  it('an unknown option exits 2 with the reason and a pointer to --help', async () => {
    const { code, stderr } = await cli('scenarios', '--jsn');
    expect(code).toBe(2);
    expect(stderr).toContain('unknown option --jsn (did you mean --json?)');
    expect(stderr).toContain('pos-duplicate-guard scenarios --help');
    noStackTrace(stderr);
  });

  it('an unknown command exits 2', async () => {
    const { code, stderr } = await cli('scenario');
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command "scenario"');
  });

  it('--help documents every option and exit code', async () => {
    const { code, stdout } = await cli('--help');
    expect(code).toBe(0);
    for (const text of [
      'scenarios [files or folders...]',
      '--json',
      '--filter TEXT',
      '--tag TAG',
      '--reporter NAME',
      '--output-file PATH',
      '--output-file.NAME PATH',
      '--list',
      '--bail',
      '--no-color',
      'NO_COLOR',
      'GITHUB_ACTIONS=true',
      'inspect <file>',
      '--help',
      '--version',
      'Exit codes:',
      '  0  ',
      '  1  ',
      '  2  ',
      'N passed, N failed',
    ]) {
      expect(stdout).toContain(text);
    }
  });

  it('reads GITHUB_ACTIONS from the environment: the real bin annotates a failing step', async () => {
    const { stdout } = await new Promise<{ stdout: string }>((resolve) => {
      execFile(
        'npx',
        ['tsx', 'src/cli.ts', 'scenarios', `${FIXTURES}/failing/wrong-verdict.json`],
        { encoding: 'utf8', timeout: 30_000, env: { ...plainEnv, GITHUB_ACTIONS: 'true' } },
        (_error, out) => resolve({ stdout: out }),
      );
    });
    expect(stdout).toContain(`::error file=${FIXTURES}/failing/wrong-verdict.json,line=6,title=deliberately wrong%3A expects a double tap`);
    expect(lastLine(stdout)).toBe('0 passed, 1 failed');
  });

  it('runs the bundled library by default', async () => {
    const { code, stdout } = await cli('scenarios');
    expect(lastLine(stdout)).toMatch(CLOSING);
    expect(code).toBe(lastLine(stdout)?.endsWith(' 0 failed') ? 0 : 1);
    expect(Number(lastLine(stdout)?.split(' ')[0])).toBeGreaterThan(0);
  });
});

/**
 * The scenario CLI masks card numbers in a step and, in text mode, in the
 * scenario's name; but it prints the file path as it is (text and --json,
 * for a failing run and for an invalid file), and the name as it is in
 * --json. A QA folder named after the test card, or a scenario named
 * "declined 4111 1111 1111 1111", puts the PAN into CI logs.
 */
const PAN_DIGITS = /4111[\s-]?1111[\s-]?1111[\s-]?1111/;
const panDirs: string[] = [];
afterEach(() => {
  for (const d of panDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function folder(file: string, content: unknown): string {
  const root = mkdtempSync(join(tmpdir(), 'review2-scen-'));
  panDirs.push(root);
  const dir = join(root, 'card-4111-1111-1111-1111');
  mkdirSync(dir);
  writeFileSync(join(dir, file), typeof content === 'string' ? content : JSON.stringify(content));
  return root;
}

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await scenariosCommand(args, { stdout: (t: string) => void (out += t), stderr: (t: string) => void (err += t) });
  return { code, out, err };
}

const failing = {
  name: 'declined 4111 1111 1111 1111',
  steps: [{ begin: { amount: 1250, currency: 'CNY', card: { pan: '4111 1111 1111 1111' } }, as: 'a1', expect: { verdict: 'block' } }],
};

describe('the scenario CLI never prints a card number (review2)', () => {
  it('text output of a failing scenario', async () => {
    const { code, out, err } = await run([folder('pan-4111111111111111.json', failing)]);
    expect(code).toBe(1);
    expect(out + err).not.toMatch(PAN_DIGITS);
  });

  it('--json output of a failing scenario (file and name)', async () => {
    const { code, out } = await run(['--json', folder('pan-4111111111111111.json', failing)]);
    expect(code).toBe(1);
    expect(out).not.toMatch(PAN_DIGITS);
  });

  it('a --filter naming a card, matching nothing', async () => {
    for (const json of [[], ['--json']]) {
      const { code, out, err } = await run([...json, '--filter', '5555 5555 5555 4444', folder('pan-4111111111111111.json', failing)]);
      expect(code).toBe(2);
      expect(out + err).toContain('no scenario matches');
      expect(out + err).not.toMatch(/5555[\s-]?5555[\s-]?5555[\s-]?4444/);
    }
  });

  it('--json and text output for an invalid file', async () => {
    const { code, out, err } = await run(['--json', folder('pan-4111111111111111.json', '{ "name": ')]);
    expect(code).toBe(2);
    expect(out + err).not.toMatch(PAN_DIGITS);
  });
});
