/**
 * Each shipped fixture, end to end: a till's attempts (made through the
 * public API) reconciled against the preset's file, with the fixture's
 * `key-000N` references replaced by the attempts' idempotency keys, as the
 * till would have sent them.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, test, vi } from 'vitest';
import { parseTransactions, reconcile, type TransactionFormat } from '../../src/reconcile.js';
import { ManualClock } from '../helpers/guard.js';
import { till } from '../helpers/till.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/transactions/', import.meta.url));

/** A, B, C: 12.50 unknown, 1,234.00 approved, 0.10 unknown, rung up a second apart from `start`. */
const cases: [file: string, format: TransactionFormat, currency: string, start: string, expected: string[]][] = [
  ['generic.csv', 'generic', 'CNY', '2026-03-01T01:00:00Z', ['UNKNOWN_WAS_CHARGED A', 'UNKNOWN_NOT_CHARGED C', 'UNMATCHED_CHARGE ch_1004']],
  [
    'generic.json',
    'generic',
    'CNY',
    '2026-03-01T01:00:00Z',
    ['UNKNOWN_WAS_CHARGED A', 'UNKNOWN_NOT_CHARGED C', 'UNMATCHED_CHARGE ch_1004'],
  ],
  ['stripe.csv', 'stripe', 'USD', '2026-03-01T09:00:00Z', ['UNKNOWN_WAS_CHARGED A', 'UNKNOWN_NOT_CHARGED C']],
  ['stripe-payments.csv', 'stripe', 'USD', '2026-03-01T09:00:00Z', ['UNKNOWN_WAS_CHARGED A', 'UNKNOWN_NOT_CHARGED C']],
  [
    'adyen.csv',
    'adyen',
    'EUR',
    '2026-03-01T09:00:00Z',
    ['UNKNOWN_WAS_CHARGED A', 'UNKNOWN_NOT_CHARGED C', 'UNMATCHED_CHARGE 8816178952380774'],
  ],
  ['wechat.csv', 'wechat', 'CNY', '2026-03-01T01:00:00Z', ['UNKNOWN_WAS_CHARGED A', 'UNKNOWN_WAS_REVERSED C']],
  ['alipay.csv', 'alipay', 'CNY', '2026-03-01T01:00:00Z', ['UNKNOWN_WAS_CHARGED A', 'UNKNOWN_NOT_CHARGED C']],
  ['unionpay.csv', 'unionpay', 'CNY', '2026-03-01T01:00:00Z', ['UNKNOWN_WAS_CHARGED A', 'UNKNOWN_NOT_CHARGED C']],
];

describe('reconciling each preset fixture', () => {
  test.each(cases)('%s (%s)', async (file, format, currency, start, expected) => {
    const t = await till({ clock: new ManualClock(Date.parse(start)) });
    const a = await t.sale(1250, 'unknown', { currency });
    const b = await t.sale(123400, 'approved', { currency });
    const c = await t.sale(10, 'unknown', { currency });
    const text = (await readFile(`${FIXTURES}${file}`, 'utf8'))
      .replaceAll('key-0001', a.idempotencyKey)
      .replaceAll('key-0002', b.idempotencyKey)
      .replaceAll('key-0003', c.idempotencyKey);
    // UnionPay's MMDDhhmmss needs a year: the file is read as of the day after.
    const transactions = format === 'unionpay' ? parseUnionPay(text) : parseTransactions(text, { format, name: file });
    const report = reconcile(await t.attempts(), transactions);
    const letter = new Map([
      [a.id, 'A'],
      [b.id, 'B'],
      [c.id, 'C'],
    ]);
    expect(report.findings.map((f) => `${f.code} ${f.attempts.map((id) => letter.get(id)).join('') || f.transactions.join(',')}`)).toEqual(
      expected,
    );
    // Each finding's money at stake is the attempt's amount here (nothing differs, nothing was charged twice).
    for (const f of report.findings.filter((f) => f.attempts.length > 0)) expect(f.currency).toBe(currency);
  });
});

function parseUnionPay(text: string) {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2026-03-02T00:00:00Z'));
  try {
    return parseTransactions(text, { format: 'unionpay', name: 'unionpay.csv' });
  } finally {
    vi.useRealTimers();
  }
}
