/* eslint-disable no-control-regex -- control characters in names and reports are what these tests look for */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scenariosCommand, type CommandIo } from '../../src/scenarios/cli.js';
import { stepLines } from '../../src/scenarios/step-lines.js';

/**
 * Attacks on the scenario CLI of issue 16: text a scenario file controls
 * (a name, a tag, an `as` name that reaches expected and actual) printed raw
 * where a person or GitHub Actions reads it, and `--output-file` paths that
 * destroy what the run was given.
 */

const root = mkdtempSync(join(tmpdir(), 'pdg-attack16-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sale = { amount: 1250, currency: 'CNY', card: { pan: '4111 1111 1111 1111' } };
/** A line break then a workflow command, a clear-screen escape and a fake TAP line. */
const EVIL = 'x\n::error file=ci.yml::injected\u001b[2J\nok 9 - fake\u009b31m';

function write(name: string, content: unknown): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'scenario.json');
  writeFileSync(file, JSON.stringify(content, null, 2));
  return file;
}

async function run(args: string[], extra: Partial<CommandIo> = {}) {
  let out = '';
  let err = '';
  const code = await scenariosCommand(args, { stdout: (t) => void (out += t), stderr: (t) => void (err += t), ...extra });
  return { code, out, err };
}

/** Every line a hostile file could have forged, or a raw escape character. */
function forged(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('::') || line.startsWith('ok ') || /[\u001b\u009b]/.test(line));
}

describe('attack: text from a scenario file reaches the terminal raw', () => {
  it('--list prints a name and tags on one line each, escapes written out', async () => {
    const file = write('list', { name: `name ${EVIL}`, tags: [`tag ${EVIL}`], steps: [{ advance: '1s' }] });
    const { code, out } = await run([file, '--list']);
    expect(code).toBe(0);
    expect(forged(out)).toEqual([]);
    expect(out.trimEnd().split('\n')).toHaveLength(2);
  });

  it('the default reporter prints expected and actual on one line each, escapes written out (with GITHUB_ACTIONS, nothing forges a command)', async () => {
    const as = `a ${EVIL}`;
    const file = write('as', {
      name: 'an as name with a line break',
      steps: [{ begin: sale, as, expect: { verdict: 'allow' } }, { expectAttempt: { attempt: as, status: 'approved' } }],
    });
    const { code, out } = await run([file], { env: { GITHUB_ACTIONS: 'true' } });
    expect(code).toBe(1);
    // The one annotation the run makes is the only line starting with `::`.
    expect(forged(out)).toEqual([expect.stringMatching(/^::error file=/)]);
    expect(out).not.toMatch(/[\u001b\u009b]/);
    expect(out).toMatch(/expected: attempt "a x\\n::error file=ci\.yml::injected\\u001b\[2J\\nok 9 - fake\\u009b31m" is approved/);
  });
});

describe('attack: a document printed on stdout carries no raw control character', () => {
  it.each(['tap', 'junit', 'json'])('--reporter %s: C1 controls and bidi overrides from an as-name are written out', async (reporter) => {
    const as = 'a\u009b2J\u202eevil\u0085';
    const file = write(`doc-${reporter}`, {
      name: 'c1',
      steps: [{ begin: sale, as, expect: { verdict: 'allow' } }, { expectAttempt: { attempt: as, status: 'approved' } }],
    });
    const { code, out } = await run([file, '--reporter', reporter]);
    expect(code).toBe(1);
    expect(out).toContain('evil');
    expect(out).not.toMatch(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });
});

describe('attack: --output-file over what the run reads or writes', () => {
  it('refuses a report path that is a scenario file of the run, leaving the file as it was', async () => {
    const file = write('over', { name: 'kept', steps: [{ advance: '1s' }] });
    const before = readFileSync(file, 'utf8');
    const { code, err } = await run([file, '--output-file.junit', file]);
    expect(code).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(err).toMatch(/scenario file/);
  });

  it('refuses a report path that is a scenario file inside a folder being run, however it is spelt', async () => {
    const file = write('over-folder', { name: 'kept', steps: [{ advance: '1s' }] });
    const before = readFileSync(file, 'utf8');
    const spelt = join(root, 'over-folder', '.', '..', 'over-folder', 'scenario.json');
    const { code } = await run([join(root, 'over-folder'), '--reporter', 'tap', '--output-file', spelt]);
    expect(code).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('refuses the same path for two reporters (one report would silently replace the other)', async () => {
    const file = write('twice', { name: 'twice', steps: [{ advance: '1s' }] });
    const report = join(root, 'twice', 'report.out');
    const { code, err } = await run([file, '--output-file.junit', report, '--output-file.tap', join(root, 'twice', '.', 'report.out')]);
    expect(code).toBe(2);
    expect(err).toMatch(/junit and tap/);
  });
});

describe('attack: step lines in a file whose lines end in CR alone', () => {
  it('counts a lone CR as a line break, as JSON.parse, editors and GitHub do (CRLF still counts once)', () => {
    const steps = ['{', '"name": "old Mac file",', '"steps": [', '{ "advance": "1s" },', '{ "advance": "2s" }', ']', '}'];
    expect(stepLines(steps.join('\r'))).toEqual([4, 5]);
    expect(stepLines(steps.join('\r\n'))).toEqual([4, 5]);
    expect(stepLines(steps.join('\n'))).toEqual([4, 5]);
  });
});

describe('attack: a file named like a workflow command, run from its own folder', () => {
  it(
    'no line of stdout or stderr starts with :: but the annotations (Actions reads a command after leading spaces)',
    { timeout: 60_000 },
    async () => {
      const dir = join(root, 'commands');
      mkdirSync(dir, { recursive: true });
      const failing = '::error title=forged::all good.json';
      writeFileSync(join(dir, failing), JSON.stringify({ name: 'fails', steps: [{ begin: sale, expect: { verdict: 'block' } }] }, null, 2));
      const invalid = '::warning::invalid.json';
      writeFileSync(join(dir, invalid), '{ "name": "typo", "stepz": [] }');
      const cli = join(process.cwd(), 'src', 'cli.ts');
      const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
      const env = { ...process.env, GITHUB_ACTIONS: 'true', FORCE_COLOR: '0' };
      const run = (...args: string[]) =>
        new Promise<{ stdout: string; stderr: string }>((resolve) => {
          execFile(tsx, [cli, 'scenarios', ...args], { cwd: dir, env, encoding: 'utf8', timeout: 50_000 }, (_e, stdout, stderr) =>
            resolve({ stdout, stderr }),
          );
        });
      const commands = (text: string) => text.split('\n').filter((line) => line.trimStart().startsWith('::'));
      const listed = await run(failing, '--list');
      expect(commands(listed.stdout + listed.stderr)).toEqual([]);
      const ran = await run(failing);
      expect(commands(ran.stderr)).toEqual([]);
      expect(commands(ran.stdout)).toEqual([
        expect.stringMatching(/^::error file=%3A%3Aerror title=forged%3A%3Aall good\.json,line=\d+,title=fails::/),
      ]);
      const broken = await run(invalid);
      expect(broken.stderr).toContain('./::warning::invalid.json');
      expect(commands(broken.stderr)).toEqual([]);
      expect(commands(broken.stdout).every((line) => line.startsWith('::error file=%3A%3Awarning%3A%3Ainvalid.json,'))).toBe(true);
    },
  );
});

describe('attack: a scenario path that is no regular file', () => {
  it('a FIFO given as a scenario file is refused at once, not read until a writer comes (or never)', async () => {
    const fifo = join(root, 'pipe.json');
    execFileSync('mkfifo', [fifo]);
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), 3_000)));
    const answer = await Promise.race([run([fifo]), hung]);
    clearTimeout(timer);
    expect(answer).not.toBe('hung');
    if (answer === 'hung') return;
    expect(answer.code).toBe(2);
    expect(answer.err).toMatch(/not a regular file/);
  });
});
