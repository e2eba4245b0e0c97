/**
 * A day downloaded twice and joined (SPEC §11): `reconcile` counts a
 * transaction listed twice under one id once, so each preset must give a
 * refund the same id in both downloads, also when the export leaves the
 * refund's own id blank and the row sits at another line (a later download
 * with more rows above it, or the second download pasted under the first).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parseTransactions, reconcile, type ReconcileReport, type TransactionFormat } from '../../src/reconcile.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/transactions/', import.meta.url));

interface Layout {
  file: string;
  format: TransactionFormat;
  /** The refund row's own id cells, made blank. */
  blank: (text: string) => string;
  /** A sale row, put right under the header: the later download's extra line. */
  extra: (text: string) => string;
  /** The second download, pasted under the first (undefined: the export ends with a totals block, read no further). */
  pasted?: (first: string, second: string) => string;
}

const findingsOf = (report: ReconcileReport): string[] => report.findings.map((f) => JSON.stringify(f)).sort();

const underHeader = (text: string, marker: string, row: string): string => {
  const lines = text.split('\n');
  const header = lines.findIndex((line) => line.includes(marker));
  lines.splice(header + 1, 0, row);
  return lines.join('\n');
};

const layouts: Layout[] = [
  {
    file: 'adyen.csv',
    format: 'adyen',
    blank: (text) => text.replace(',Refunded,8826178952381771,', ',Refunded,,'),
    extra: (text) =>
      underHeader(
        text,
        'Psp Reference',
        'ShopCo,ShopCoPOS_NL,8816178952380999,key-0009,visa,2026-03-01 08:00:00,CET,Settled,8816178952380999,EUR,,3.00,1,EUR,,2.90,,0.01,0.02,0.07,visadebit,,114,,,,,,,',
      ),
    pasted: (first, second) => `${first}\n${second}`,
  },
  {
    file: 'wechat.csv',
    format: 'wechat',
    blank: (text) => text.replace('`50000000012026030112345678901,`RF-0001,', '`,`,'),
    extra: (text) =>
      underHeader(
        text,
        '交易时间',
        '`2026-03-01 08:00:00,`wx2421b1c4370ec43b,`10000100,`0,`T-01,`4200001234202603011234567899,`key-0009,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MICROPAY,`SUCCESS,`CMB_DEBIT,`CNY,`3.00,`0.00,`0,`0,`0.00,`0.00,`,`,`水,`,`0.02,`0.60%,`3.00,`0.00,`',
      ),
  },
  {
    file: 'alipay.csv',
    format: 'alipay',
    blank: (text) => text.replace(',RF2026030100001\t,', ',,'),
    extra: (text) =>
      underHeader(
        text,
        '支付宝交易号',
        '2026030122001412345678909999\t,key-0009\t,交易\t,水\t,2026-03-01 08:00:00\t,2026-03-01 08:00:01\t,S001\t,一号店\t,op7\t,T-01\t,ab***@example.com\t,3.00\t,3.00\t,0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,\t,-0.02\t,0.00\t,',
      ),
    pasted: (first, second) => `${first}\n${second.replace(/^\uFEFF/, '')}`,
  },
];

describe.each(layouts)('$file downloaded twice and joined, its refund without an id of its own', (layout) => {
  const read = async () => layout.blank(await readFile(`${FIXTURES}${layout.file}`, 'utf8'));

  test('the morning and the evening download, read and joined: the refund counts once, no REFUNDED_TWICE', async () => {
    const morning = await read();
    const evening = layout.extra(morning);
    expect(evening).not.toBe(morning);
    const once = parseTransactions(evening, { format: layout.format, name: 'evening' });
    const refunds = once.filter((t) => t.type === 'refund');
    expect(refunds).toHaveLength(1);
    const joined = [...parseTransactions(morning, { format: layout.format, name: 'morning' }), ...once];
    const report = reconcile([], joined);
    expect(report.findings.map((f) => f.code)).not.toContain('REFUNDED_TWICE');
    // The same findings as the evening download alone (its extra sale listed first there: compared in any order).
    expect(findingsOf(report)).toEqual(findingsOf(reconcile([], once)));
    expect(report.totals).toEqual(reconcile([], once).totals);
  });
});

describe.each(layouts.filter((layout) => layout.pasted))('$file: the second download pasted under the first', (layout) => {
  test('one file, each row twice: the refund without an id counts once', async () => {
    const day = layout.blank(await readFile(`${FIXTURES}${layout.file}`, 'utf8'));
    const once = parseTransactions(day, { format: layout.format });
    const joined = parseTransactions(layout.pasted!(day, day), { format: layout.format });
    expect(joined.filter((t) => t.type === 'refund')).toHaveLength(2);
    expect(reconcile([], joined)).toEqual(reconcile([], once));
  });
});

test("wechat: `0`, the bill's 'none' in the refund id columns, is no id: two refunds so written are two, not one row listed twice", async () => {
  const day = (await readFile(`${FIXTURES}wechat.csv`, 'utf8')).replace('`50000000012026030112345678901,`RF-0001,', '`0,`0,');
  const refund = day.split('\n').find((line) => line.includes('`REFUND,'))!;
  // The coffee refunded at 11:00 and again at 15:00: 25.00 returned of a 12.50 charge.
  const twice = day.replace(refund, `${refund}\n${refund.replace('`2026-03-01 11:00:00', '`2026-03-01 15:00:00')}`);
  const transactions = parseTransactions(twice, { format: 'wechat' });
  const refunds = transactions.filter((t) => t.type === 'refund');
  expect(new Set(refunds.map((t) => t.id)).size).toBe(2);
  expect(refunds.every((t) => t.reference === undefined)).toBe(true);
  expect(reconcile([], transactions).findings.filter((f) => f.code === 'REFUNDED_TWICE')).toMatchObject([{ amount: 1250 }]);
});
