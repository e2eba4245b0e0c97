/**
 * atk19a: `journal report` of a journal (a browser till's export, an older
 * writer) that carries card numbers in its free-text and id fields prints
 * none of them, in any format.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { journalCommand } from '../../src/cli/journal.js';
import { createGuard } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { virtualTime } from '../../src/testing.js';
import { cardNumberLeaks, panVariants } from '../helpers/cards.js';
import { VISA } from '../helpers/guard.js';

const SECRET = 'atk19a-report-secret-0123456789abcdef';
const START = Date.parse('2026-03-01T09:00:00Z');
const root = mkdtempSync(join(tmpdir(), 'atk19a-rep-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let PAN = '5555 5555 5555 4444';
const KEEP = new Set([
  'type',
  'verdict',
  'code',
  'status',
  'kind',
  'currency',
  'seq',
  'hash',
  'at',
  'from',
  'answer',
  'operation',
  'problem',
  'resolvedBy',
  'lifted',
  'reasons',
]);

async function run(args: string[]) {
  let [stdout, stderr] = ['', ''];
  const code = await journalCommand(args, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: { GUARD_SECRET: SECRET },
    progress: false,
  });
  return { code, stdout, stderr };
}

function poison(value: unknown, key = ''): unknown {
  if (typeof value === 'string') return KEEP.has(key) ? value : `${value} ${PAN}`;
  if (Array.isArray(value)) return value.map((v) => poison(v, key));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, KEEP.has(k) && typeof v !== 'object' ? v : poison(v, k)]));
  }
  return value;
}

describe('atk19a: journal report never prints a card number', () => {
  it('every format, a journal whose id and text fields hold a card number', async () => {
    const path = join(root, 'guard.jsonl');
    const time = virtualTime(START);
    const g = await createGuard({
      merchantId: 'M1',
      secret: SECRET,
      store: fileStore(path),
      clock: time.clock,
      scheduler: time.scheduler,
      authorize: async () => true,
    });
    const sale = { amount: 1000, currency: 'CNY', card: { pan: VISA }, orderId: 'O-1', operator: 'ann' };
    const a = await g.begin(sale);
    await a.attempt!.approve();
    const p = await g.begin(sale);
    const o = await g.override(p, { operator: 'bob', reason: 'two', supervisor: 'sue' });
    await o.attempt!.markUnknown();
    await g.settle(o.attempt!.id, { status: 'approved', authCode: 'A1', processorRef: 'R1', message: 'ok' });
    const r = await g.begin({ amount: 400, currency: 'CNY', card: { pan: VISA }, kind: 'refund', refundOf: a.attempt!.id });
    await r.attempt!.approve();
    await g.settle(a.attempt!.id, { status: 'refunded', amount: 100 });
    await time.advance(3 * 60_000);
    await g.close();
    const lines = readFileSync(`${path}.journal`, 'utf8').trimEnd().split('\n');
    const file = join(root, 'export.jsonl');
    writeFileSync(file, `${lines.map((l) => JSON.stringify(poison(JSON.parse(l)))).join('\n')}\n`);
    const outs: unknown[] = [];
    for (const variant of panVariants(['5555555555554444'])) {
      PAN = variant;
      writeFileSync(file, `${lines.map((l) => JSON.stringify(poison(JSON.parse(l)))).join('\n')}\n`);
      for (const extra of [[], ['--json'], ['--csv'], ['--locale', 'zh-CN'], ['--html', join(root, 'r.html')]]) {
        const res = await run(['report', '--journal', file, '--tz', 'UTC', ...extra]);
        outs.push(res);
      }
      outs.push(readFileSync(join(root, 'r.html'), 'utf8'));
    }
    const leaks = cardNumberLeaks(outs, ['5555555555554444']);
    expect(leaks.map((l) => l.slice(0, 300))).toEqual([]);
  });
});
