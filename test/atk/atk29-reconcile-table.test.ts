/**
 * atk29: hostile text in a settlement file reaching the manager's terminal
 * through `pos-duplicate-guard reconcile` (the table it prints by default).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reconcileCommand, type ReconcileIo } from '../../src/cli/reconcile.js';
import { fileStore } from '../../src/node.js';
import { ManualClock, MINUTE, SECRET } from '../helpers/guard.js';
import { scratch } from '../helpers/scratch.js';
import { till } from '../helpers/till.js';

const { tempDir } = scratch('atk29-rt-');
const FORGED = 'Nothing to do: every attempt matches the processor’s records.';

function fakeIo() {
  const out: string[] = [];
  const io: ReconcileIo = { stdout: (t) => void out.push(t), stderr: () => undefined, env: { GUARD_SECRET: SECRET }, stderrIsTTY: false };
  return { io, stdout: () => out.join('') };
}

/** A till with one approved sale, its charge in the file, and a charge the till never saw whose id is `badId`. */
async function scene(badId: string) {
  const dir = tempDir();
  const path = join(dir, 'guard.jsonl');
  const clock = new ManualClock(Date.now() - 30 * MINUTE);
  const t = await till({ store: fileStore(path), clock, pendingTimeout: '2m' });
  const paid = await t.sale(1250, 'approved', { last4: '3446', gapMs: MINUTE });
  await t.guard.close();
  const json = join(dir, 'settlement.json');
  const at = paid.pendingSince + 5_000;
  const charge = { type: 'charge', status: 'succeeded', currency: 'CNY', at };
  await writeFile(
    json,
    JSON.stringify([
      { ...charge, id: 'ch_1', amount: 1250, reference: paid.idempotencyKey, last4: '3446' },
      { ...charge, id: badId, amount: 99_900, last4: '9999' },
    ]),
  );
  return { path, json, now: String(clock.now()) };
}

describe('atk29: the reconcile table prints what a settlement file says, inert', () => {
  // What happens: a transaction id holding a line break (a quoted CSV cell,
  // a JSON string: readTransactions takes any 1-255 characters) is printed
  // raw in the table, so the file writes its own lines into the report the
  // manager reads: here a forged "Nothing to do" under an unmatched charge
  // of ¥999 (a charge the till never saw, to look into). The same for U+2028
  // and U+2029, which terminals and log viewers break lines on. The journal
  // report makes these visible (src/report/words.ts `visible`: "a newline
  // that would forge a row"); the reconcile table does not.
  // Why: src/cli/printable.ts:10 (UNPRINTABLE leaves out \n, U+2028, U+2029)
  // as used by src/cli/reconcile-table.ts:99 for every cell.
  it.each([
    ['a line feed', '\n'],
    ['a line separator (U+2028)', '\u2028'],
  ])('a transaction id holding %s cannot forge a line of the table', async (_, lineBreak) => {
    const s = await scene(`ch_evil${lineBreak}${lineBreak}${FORGED}${lineBreak}`);
    const { io, stdout } = fakeIo();
    const code = await reconcileCommand(['--store', s.path, '--transactions', s.json, '--now', s.now], io);
    expect(code).toBe(1);
    const lines = stdout().split(/\r\n|[\n\r\u2028\u2029]/);
    expect(lines).not.toContain(FORGED);
  });

  // Held: an ESC sequence and a bidi override in a transaction id are written out (\u001b, \u202e).
  it('a transaction id holding ESC [2J and a bidi override is printed written out', async () => {
    const s = await scene('ch_\u001b[2J\u202eevil');
    const { io, stdout } = fakeIo();
    await reconcileCommand(['--store', s.path, '--transactions', s.json, '--now', s.now], io);
    expect(stdout().includes('\u001b') || stdout().includes('\u202e')).toBe(false);
    expect(stdout()).toContain('\\u001b[2J\\u202eevil');
  });
});
