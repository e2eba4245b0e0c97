/**
 * atk19a: a settlement export whose id column holds the card number (a
 * shifted column: docs/reconciliation.md already masks such ids before
 * --apply persists them, "a card number in a shifted column is never
 * persisted") is printed by `reconcile` as it is, in the table and in
 * --json. SPEC §5: a PAN is never logged; a reconciliation table is pasted
 * into tickets and e-mails, and --json is kept by CI.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reconcileCommand, type ReconcileIo } from '../../src/cli/reconcile.js';
import { fileStore } from '../../src/node.js';
import { ManualClock, MINUTE, SECRET } from '../helpers/guard.js';
import { till } from '../helpers/till.js';
import { cardNumberLeaks } from '../helpers/cards.js';

function fakeIo() {
  const out: string[] = [];
  const err: string[] = [];
  const io: ReconcileIo = {
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    env: { GUARD_SECRET: SECRET },
    stderrIsTTY: false,
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

async function scene() {
  const dir = await mkdtemp(join(tmpdir(), 'atk19a-rec-'));
  const path = join(dir, 'guard.jsonl');
  const clock = new ManualClock(Date.now() - 30 * MINUTE);
  const t = await till({ store: fileStore(path), clock, pendingTimeout: '2m' });
  const unknown = await t.sale(1250, 'unknown', { last4: '3446', gapMs: MINUTE });
  await t.guard.close();
  const csv = join(dir, 'settlement.csv');
  // The card number where the transaction id belongs; the charge is found by its reference.
  await writeFile(
    csv,
    [
      'id,type,status,amount,currency,at,reference,last4',
      `6222020200112233446,charge,succeeded,12.50,CNY,${unknown.pendingSince + 5_000},${unknown.idempotencyKey},3446`,
      '',
    ].join('\n'),
  );
  return { path, csv, now: String(clock.now()), id: unknown.id };
}

describe('atk19a: reconcile never prints a card number that came in a transaction id', () => {
  for (const extra of [[], ['--json'], ['--locale', 'zh-CN']]) {
    it(`reconcile ${extra.join(' ') || '(table)'}: the finding is printed, the card number in its transaction id is masked`, async () => {
      const s = await scene();
      const { io, stdout, stderr } = fakeIo();
      const code = await reconcileCommand(['--store', s.path, '--transactions', s.csv, '--now', s.now, ...extra], io);
      expect(code).toBe(1);
      expect(stdout()).toContain(s.id);
      expect(cardNumberLeaks([stdout(), stderr()])).toEqual([]);
    });
  }
  it('holds: --apply persists the id masked (file and journal hold no card number)', async () => {
    const s = await scene();
    const { io } = fakeIo();
    await reconcileCommand(['--store', s.path, '--transactions', s.csv, '--now', s.now, '--apply', '--merchant', 'M-0001'], io);
    const kept = [await readFile(s.path, 'utf8'), existsSync(`${s.path}.journal`) ? await readFile(`${s.path}.journal`, 'utf8') : ''];
    expect(kept[1]).toContain('UNKNOWN_WAS_CHARGED');
    expect(cardNumberLeaks(kept)).toEqual([]);
  });
});
