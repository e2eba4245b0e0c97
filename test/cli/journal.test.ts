import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { journalCommand } from '../../src/cli/journal.js';
import { createGuard } from '../../src/index.js';
import { journalSeal } from '../../src/journal/chain.js';
import { fileStore } from '../../src/node.js';
import type { JournalHead } from '../../src/index.js';
import { ManualClock, SECRET } from '../helpers/guard.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pdg-cli-journal-'));
  dirs.push(dir);
  return join(dir, 'guard.jsonl');
}

/** A till's journal: a few sales approved, each followed by a prompted duplicate. */
async function till(path: string): Promise<void> {
  const clock = new ManualClock();
  const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store: fileStore(path), clock });
  for (let i = 0; i < 3; i++) {
    const sale = { amount: 100 + i, currency: 'CNY', card: { token: `tok_${i}` } };
    await (await guard.begin(sale)).attempt?.approve();
    await guard.begin(sale);
    clock.advance(1_000);
  }
  await guard.close();
}

async function run(args: string[], { secret = SECRET, progress = false } = {}) {
  let [stdout, stderr] = ['', ''];
  const code = await journalCommand(args, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env: { GUARD_SECRET: secret },
    progress,
  });
  return { code, stdout, stderr };
}

describe('pos-duplicate-guard journal verify', () => {
  it('exits 0 on an intact journal: how many entries, from which seq', async () => {
    const path = tempFile();
    await till(path);
    const n = readFileSync(`${path}.journal`, 'utf8').trimEnd().split('\n').length;
    const { code, stdout, stderr } = await run(['verify', '--store', path]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toBe(`intact: ${n} entries, seq 1 to ${n}\n`);
  });

  it('exits 1 on a tampered journal, naming the first bad seq and the problem', async () => {
    const path = tempFile();
    await till(path);
    const lines = readFileSync(`${path}.journal`, 'utf8').trimEnd().split('\n');
    lines[2] = JSON.stringify({ ...JSON.parse(lines[2] as string), amount: 1 });
    writeFileSync(`${path}.journal`, `${lines.join('\n')}\n`);
    const { code, stdout } = await run(['verify', '--store', path]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^tampered: seq 3 edited \(/);
    // A cut tail against the head in the data file.
    writeFileSync(`${path}.journal`, `${lines.slice(0, 2).join('\n')}\n`);
    expect(await run(['verify', '--store', path])).toMatchObject({ code: 1, stdout: expect.stringMatching(/^tampered: seq 3 truncated/) });
    // A line that is not an entry at all.
    writeFileSync(`${path}.journal`, `${lines[0]}\nnot json\n`);
    expect(await run(['verify', '--store', path])).toMatchObject({ code: 1, stdout: expect.stringMatching(/^tampered: seq 2 edited/) });
  });

  it('fails an intact journal checked with another secret', async () => {
    const path = tempFile();
    await till(path);
    expect(await run(['verify', '--store', path], { secret: 'another-secret-0123456789' })).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/^tampered: seq 1 edited/),
    });
  });

  it('says what a journal it cannot fully prove holds: unsealed entries, no head', async () => {
    const path = tempFile();
    const old = `${JSON.stringify({ at: 1, type: 'start' })}\n`;
    writeFileSync(`${path}.journal`, old);
    expect(await run(['verify', '--store', path])).toMatchObject({
      code: 0,
      stdout: 'unsealed: 1 entries, none on the chain (written before it existed): nothing proven\n',
    });
    // The same old entry, then a till that seals.
    await till(path);
    const { code, stdout } = await run(['verify', '--store', path]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^intact: \d+ entries, seq 1 to \d+\n {2}1 unsealed entries before the chain/);
    // Without the data file, no head.
    rmSync(path);
    expect((await run(['verify', '--store', path])).stdout).toContain('a cut tail cannot be seen');
  });

  it('exits 2 on bad input, saying why', async () => {
    const path = tempFile();
    await till(path);
    const cases: [string[], string, RegExp][] = [
      [['verify'], SECRET, /--store <path> is required/],
      [['verify', '--store', path], '', /GUARD_SECRET is not set/],
      [['verify', '--store', path], 'short', /secret.*at least 16 bytes/],
      [['verify', '--store', join(path, '..', 'none.jsonl')], SECRET, /no file store at/],
      [['verify', '--store', path, '--nope'], SECRET, /Unknown option '--nope'/],
      [['frobnicate'], SECRET, /unknown command "frobnicate"/],
    ];
    for (const [args, secret, message] of cases) {
      const { code, stdout, stderr } = await run(args, { secret });
      expect({ args, code, stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(stderr).toMatch(message);
    }
  });

  it("does not take an empty <path>.journal.1 for a rotation: a start dropped from a journal never rotated is 'missing'", async () => {
    const path = tempFile();
    await till(path);
    const lines = readFileSync(`${path}.journal`, 'utf8').trimEnd().split('\n');
    writeFileSync(`${path}.journal`, `${lines.slice(3).join('\n')}\n`);
    writeFileSync(`${path}.journal.1`, '');
    const { code, stdout } = await run(['verify', '--store', path]);
    expect({ code, stdout: stdout.split(' (')[0] }).toEqual({ code: 1, stdout: 'tampered: seq 1 missing' });
  });

  it("after a rotation, holds the journal to the first seq the store kept when it rotated: .journal.1's start dropped is 'missing'", async () => {
    const path = tempFile();
    const seal = journalSeal(SECRET);
    const store = fileStore(path, { journalMaxBytes: 400 });
    for (let i = 0; i < 20; i++) {
      await store.appendJournal({ at: i, type: 'settle', detail: `e${i}` }, seal);
      await new Promise((resolve) => setTimeout(resolve, 5)); // each its own batch: the store rotates between batches
    }
    await store.close();
    expect((await run(['verify', '--store', path])).code).toBe(0);
    const rotated = readFileSync(`${path}.journal.1`, 'utf8').trimEnd().split('\n');
    const first = (JSON.parse(rotated[0] as string) as { seq: number }).seq;
    writeFileSync(`${path}.journal.1`, `${rotated.slice(2).join('\n')}\n`);
    const { code, stdout } = await run(['verify', '--store', path]);
    expect({ code, stdout: stdout.split(' (')[0] }).toEqual({ code: 1, stdout: `tampered: seq ${first} missing` });
  });

  it('calls a line edited when its bytes are not what the store wrote, though JSON.parse reads the honest entry from it', async () => {
    // A duplicated key: JSON.parse keeps the last value (the honest one, so the HMAC matches);
    // grep, a person, or a first-wins parser reads the first. So do `1.25e3` for 1250, spaces, \u escapes.
    const path = tempFile();
    await till(path);
    const lines = readFileSync(`${path}.journal`, 'utf8').trimEnd().split('\n');
    const forged = lines.map((line, i) => (i === 2 ? line.replace(/^\{/, '{"type":"override",') : line));
    writeFileSync(`${path}.journal`, `${forged.join('\n')}\n`);
    expect(JSON.parse(forged[2] as string)).toStrictEqual(JSON.parse(lines[2] as string));
    const { code, stdout } = await run(['verify', '--store', path]);
    expect({ code, stdout: stdout.split(' (')[0] }).toEqual({ code: 1, stdout: 'tampered: seq 3 edited' });
  });

  it('has --help for journal and for verify', async () => {
    expect(await run(['--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('verify   Check the journal') });
    expect(await run(['verify', '--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Exit codes:') });
  });

  it('streams a 100k-line journal, showing progress on a terminal only', async () => {
    const path = tempFile();
    const seal = journalSeal(SECRET);
    const lines: string[] = [];
    let head: JournalHead | undefined;
    for (let i = 0; i < 100_000; i++) {
      const entry = seal({ at: 1_000 + i, type: 'settle', attemptId: `pdg_${i}`, from: 'pending', to: 'approved' }, head);
      lines.push(JSON.stringify(entry));
      head = entry;
    }
    writeFileSync(`${path}.journal`, `${lines.join('\n')}\n`);
    writeFileSync(
      path,
      `${JSON.stringify({ op: 'meta', key: 'journal-head', value: JSON.stringify({ seq: head?.seq, hash: head?.hash }) })}\n`,
    );
    const quiet = await run(['verify', '--store', path]);
    expect(quiet).toEqual({ code: 0, stdout: 'intact: 100000 entries, seq 1 to 100000\n', stderr: '' });
    const shown = await run(['verify', '--store', path], { progress: true });
    expect(shown.code).toBe(0);
    expect(shown.stderr).toContain('\rverifying: 50000 entries…');
    expect(shown.stderr).toContain('\rverifying: 100000 entries…');
  });
});

describe('the real bin', { timeout: 60_000 }, () => {
  const bin = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const env = { ...process.env, GUARD_SECRET: SECRET };
      execFile('npx', ['tsx', 'src/cli.ts', ...args], { encoding: 'utf8', timeout: 30_000, env }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      });
    });

  it('routes `journal verify` and `journal --help`, with their exit codes', async () => {
    const path = tempFile();
    await till(path);
    expect(await bin('journal', 'verify', '--store', path)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^intact: /) });
    expect(await bin('journal', '--help')).toMatchObject({ code: 0, stdout: expect.stringContaining('journal <command>') });
    expect(await bin('--help')).toMatchObject({ code: 0, stdout: expect.stringContaining('journal verify --store <path>') });
  });
});
