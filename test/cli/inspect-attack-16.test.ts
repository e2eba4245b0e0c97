/* eslint-disable no-control-regex -- control characters in the output are what these tests look for */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectCommand } from '../../src/cli/inspect.js';
import { createGuard } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { ManualClock, SECRET, VISA } from '../helpers/guard.js';

/**
 * Attacks on `pos-duplicate-guard inspect` (issue 16): a path that is no
 * regular file, and a data file a live till holds, written through the
 * public API with hostile free text in it.
 */

const dir = mkdtempSync(join(tmpdir(), 'pdg-inspect-attack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]) {
  let [stdout, stderr] = ['', ''];
  const code = await inspectCommand(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

/** The command's answer, or 'hung' if it has none within `ms`. */
async function within(ms: number, work: Promise<Awaited<ReturnType<typeof run>>>) {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)));
  try {
    return await Promise.race([work, hung]);
  } finally {
    clearTimeout(timer);
  }
}

describe('attack: inspect on a path that is no regular file', () => {
  it('a FIFO (a named pipe no one writes to) is refused at once, not read forever', async () => {
    const fifo = join(dir, 'guard.jsonl.fifo');
    execFileSync('mkfifo', [fifo]);
    const answer = await within(3_000, run([fifo]));
    expect(answer).not.toBe('hung');
    if (answer === 'hung') return;
    expect(answer.code).toBe(2);
    expect(answer.stderr).toMatch(/not a regular file/);
  });

  it('a folder is refused in words, exit 2', async () => {
    const answer = await run([dir]);
    expect(answer.code).toBe(2);
    expect(answer.stderr).toMatch(/not a regular file|folder/);
  });
});

describe('attack: inspect beside a live till, on hostile free text', () => {
  it('prints the records without card data or raw escapes, and the till keeps charging', async () => {
    const path = join(dir, 'live.jsonl');
    const clock = new ManualClock();
    const guard = await createGuard({
      merchantId: 'M-1',
      terminalId: 'T-1',
      secret: SECRET,
      store: fileStore(path),
      clock,
      authorize: () => true,
    });
    try {
      const first = await guard.begin({ amount: 100, currency: 'CNY', card: { pan: VISA }, orderId: 'O-1' });
      await first.attempt?.decline({ code: '05', message: `do not honour 4111 1111 1111 1111 \u001b[2J\u009b31m\u202egnp.exe` });
      clock.advance(1_000);
      const again = await guard.begin({ amount: 100, currency: 'CNY', card: { pan: VISA }, orderId: 'O-1' });
      if (again.verdict !== 'allow') {
        const lifted = await guard.override(again, {
          operator: 'c-1',
          reason: `card 4111111111111111\n\u001b]0;owned\u0007`,
          supervisor: 'S',
        });
        await lifted.attempt?.approve();
      } else await again.attempt?.approve();

      for (const args of [[path], [path, '--json']]) {
        const { code, stdout, stderr } = await run(args);
        expect(code).toBe(0);
        for (const text of [stdout, stderr]) {
          expect(text).not.toMatch(/4111[\s-]?1111[\s-]?1111[\s-]?1111/);
          expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
        }
      }
      // The till was not disturbed: it still decides and records.
      clock.advance(1_000);
      const later = await guard.begin({ amount: 555, currency: 'CNY', card: { pan: VISA } });
      expect(later.verdict).toBe('allow');
      await later.attempt?.approve();
    } finally {
      await guard.close();
    }
  });
});

describe('attack: inspect on a damaged data file', () => {
  it('a line it cannot read is named without the card number it holds', async () => {
    const path = join(dir, 'card-lines.jsonl');
    const lines = [
      JSON.stringify({ op: '4111 1111 1111 1111' }),
      JSON.stringify({ v: 1, id: '4111111111111111', status: 'charged' }),
      JSON.stringify({ v: 1, id: '5555-5555-5555-4444', status: 'approved', fingerprint: 'f' }),
    ];
    writeFileSync(path, `${lines.join('\n')}\n`);
    const { code, stdout, stderr } = await run([path]);
    expect(code).toBe(2);
    expect(stderr.split('\n').filter((line) => line.includes('skipped'))).toHaveLength(3);
    expect(`${stdout}${stderr}`).not.toMatch(/4111[\s-]?1111[\s-]?1111[\s-]?1111|5555[\s-]?5555[\s-]?5555[\s-]?4444/);
  });

  it('100,000 unreadable lines are summed up, not printed one by one', async () => {
    const path = join(dir, 'garbage.jsonl');
    writeFileSync(path, 'not json\n'.repeat(100_000));
    const { code, stderr } = await run([path]);
    expect(code).toBe(2);
    const lines = stderr.trimEnd().split('\n');
    expect(lines.length).toBeLessThan(50);
    expect(stderr).toMatch(/99,9\d\d more lines? could not be read/);
  });
});
