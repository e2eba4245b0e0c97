import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectCommand } from '../../src/cli/inspect.js';
import { createGuard } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { ManualClock, SECRET, START, VISA, MASTERCARD } from '../helpers/guard.js';

/**
 * `pos-duplicate-guard inspect` on a data file a till wrote through the
 * public API: a sale begun then approved, a decline, and a duplicate a
 * supervisor overrode. Never a file written by hand: the command must read
 * what the store really writes.
 */

const dir = mkdtempSync(join(tmpdir(), 'pdg-inspect-'));
const path = join(dir, 'guard.jsonl');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  const clock = new ManualClock();
  const guard = await createGuard({
    merchantId: 'M-0001',
    terminalId: 'T-07',
    secret: SECRET,
    store: fileStore(path),
    clock,
    authorize: ({ supervisor }) => supervisor === 'S-1',
  });
  const tea = { amount: 1250, currency: 'CNY', card: { pan: VISA }, orderId: 'ORD-1' };
  const first = await guard.begin(tea);
  await first.attempt?.approve({ authCode: 'A1B2C3' });
  clock.advance(60_000);
  const declined = await guard.begin({ amount: 990, currency: 'CNY', card: { pan: MASTERCARD } });
  await declined.attempt?.decline({ code: '51', message: 'insufficient funds' });
  clock.advance(60_000);
  // The same tea again on the same order: blocked, then lifted by a supervisor.
  const again = await guard.begin(tea);
  expect(again.verdict).not.toBe('allow');
  const lifted = await guard.override(again, { operator: 'cashier-3', reason: 'customer bought a second tea', supervisor: 'S-1' });
  await lifted.attempt?.approve();
  await guard.close();
});

async function run(args: string[]) {
  let [stdout, stderr] = ['', ''];
  const code = await inspectCommand(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

const CARD_DIGITS = /4111[\s-]?1111[\s-]?1111[\s-]?1111|5555[\s-]?5555[\s-]?5555[\s-]?4444/;

describe('pos-duplicate-guard inspect', () => {
  it('prints each attempt as a labelled block of JSON, oldest first, times as ISO strings', async () => {
    const { code, stdout, stderr } = await run([path]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const blocks = stdout.trimEnd().split('\n\n');
    expect(blocks.at(-1)).toBe(`3 attempts in ${path}`);
    const attempts = blocks.slice(0, -1).map((block) => {
      const [label, ...json] = block.split('\n');
      return { label, record: JSON.parse(json.join('\n')) as Record<string, unknown> };
    });
    expect(attempts.map(({ label, record }) => [label, record.status, record.amount])).toEqual([
      [`attempt 1 of 3: ${String(attempts[0]?.record.id)} (sale approved)`, 'approved', 1250],
      [`attempt 2 of 3: ${String(attempts[1]?.record.id)} (sale declined)`, 'declined', 990],
      [`attempt 3 of 3: ${String(attempts[2]?.record.id)} (sale approved)`, 'approved', 1250],
    ]);
    const [sale, decline, overridden] = attempts.map((a) => a.record) as [
      Record<string, unknown>,
      Record<string, unknown>,
      Record<string, unknown>,
    ];
    expect(sale).toMatchObject({
      createdAt: new Date(START).toISOString(),
      approvedAt: new Date(START).toISOString(),
      authCode: 'A1B2C3',
      orderId: 'ORD-1',
      terminalId: 'T-07',
      last4: '1111',
    });
    expect(decline).toMatchObject({ createdAt: new Date(START + 60_000).toISOString(), code: '51', message: 'insufficient funds' });
    expect(overridden.override).toMatchObject({ operator: 'cashier-3', reason: 'customer bought a second tea', supervisor: 'S-1' });
    for (const record of [sale, decline, overridden]) {
      for (const field of ['createdAt', 'updatedAt', 'pendingSince']) {
        expect(record[field]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      }
    }
  });

  it('--json prints one JSON object per attempt and nothing else (NDJSON)', async () => {
    const { code, stdout } = await run(['--json', path]);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const records = lines.map((line) => JSON.parse(line) as { status: string; createdAt: string });
    expect(records.map((r) => r.status)).toEqual(['approved', 'declined', 'approved']);
    expect(records[0]?.createdAt).toBe(new Date(START).toISOString());
  });

  it('never prints card data: the file has none, and the output neither', async () => {
    expect(readFileSync(path, 'utf8')).not.toMatch(CARD_DIGITS);
    for (const args of [[path], ['--json', path]]) expect((await run(args)).stdout).not.toMatch(CARD_DIGITS);
  });

  it('a torn last line is reported on stderr, and the rest is printed', async () => {
    const torn = join(dir, 'torn.jsonl');
    const whole = readFileSync(path, 'utf8');
    appendFileSync(torn, `${whole}{"v":1,"id":"pdg_half","status":"pen`);
    const lineCount = whole.split('\n').length;
    const { code, stdout, stderr } = await run([torn]);
    expect(code).toBe(0);
    expect(stderr).toBe(`${torn}:${lineCount}: skipped, not valid JSON\n`);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe(`3 attempts in ${torn}`);
  });

  it('a file that is not a data file, or cannot be read, or wrong arguments: exit 2 in words', async () => {
    const journal = await run([`${path}.journal`]);
    expect(journal.code).toBe(2);
    expect(journal.stderr).toContain('no line could be read as a file store record');
    const missing = await run([join(dir, 'nope.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.jsonl: cannot be read');
    expect(await run([path, '--jsn'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown option --jsn (did you mean --json?)') as unknown,
    });
    expect(await run([])).toMatchObject({ code: 2, stderr: expect.stringContaining('give the data file to read') as unknown });
  });

  it('is a command of the bin, with its help', { timeout: 60_000 }, async () => {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile('npx', ['tsx', 'src/cli.ts', 'inspect', '--json', path], { encoding: 'utf8', timeout: 30_000 }, (error, out) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: out });
      });
    });
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toHaveLength(3);
    expect((await run(['--help'])).stdout).toContain('Usage: pos-duplicate-guard inspect <file> [--json]');
  });
});
