/**
 * `readTransactions`: each preset against its shipped fixture (made to the
 * real export's columns), the generic layout in CSV and JSON, column
 * mappings, and errors that name the file, line and column.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { GuardConfigError, GuardInputError } from '../../src/index.js';
import { parseTransactions, readTransactions, reconcile, type ProcessorTransaction } from '../../src/reconcile.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/transactions/', import.meta.url));
const fixture = (name: string) => join(FIXTURES, name);
const at = (iso: string) => Date.parse(iso);

afterEach(() => {
  vi.useRealTimers();
});

describe('generic', () => {
  const expected: ProcessorTransaction[] = [
    {
      id: 'ch_1001',
      type: 'charge',
      status: 'succeeded',
      amount: 1250,
      currency: 'CNY',
      at: at('2026-03-01T01:00:05Z'),
      reference: 'key-0001',
      authCode: 'A1B2C3',
      last4: '4242',
      terminalId: 'T-01',
    },
    {
      id: 'ch_1002',
      type: 'charge',
      status: 'succeeded',
      amount: 123400,
      currency: 'CNY',
      at: at('2026-03-01T01:05:00Z'),
      reference: 'key-0002',
      last4: '1111',
      terminalId: 'T-01',
    },
    {
      id: 'ch_1003',
      type: 'charge',
      status: 'failed',
      amount: 10,
      currency: 'CNY',
      at: at('2026-03-01T01:06:00Z'),
      reference: 'key-0003',
      last4: '1111',
      terminalId: 'T-02',
    },
    {
      id: 're_2001',
      type: 'refund',
      status: 'succeeded',
      amount: 1250,
      currency: 'CNY',
      at: at('2026-03-01T02:00:00Z'),
      original: 'ch_1001',
    },
    {
      id: 'rv_3001',
      type: 'reversal',
      status: 'succeeded',
      amount: 123400,
      currency: 'CNY',
      at: at('2026-03-01T01:07:00Z'),
      original: 'ch_1002',
    },
    { id: 'ch_1004', type: 'charge', status: 'succeeded', amount: 500, currency: 'JPY', at: 1772326800000 },
  ];

  test('CSV: major units (0.10, 12.50, "1,234.00", JPY 500) to minor units; times with offsets or epoch ms', async () => {
    expect(await readTransactions(fixture('generic.csv'))).toEqual(expected);
  });

  test('JSON: an array of ProcessorTransaction in minor units, `at` made epoch ms', async () => {
    expect(await readTransactions(fixture('generic.json'))).toEqual(expected);
  });

  test('text instead of a path; a BOM and full-width digits are read', () => {
    const text = '\uFEFFid,type,status,amount,currency,at\nx1,charge,succeeded,１２．５０,CNY,2026-03-01 09:00:00\n';
    expect(parseTransactions(text, { timeZone: 'Asia/Shanghai' })).toEqual([
      { id: 'x1', type: 'charge', status: 'succeeded', amount: 1250, currency: 'CNY', at: at('2026-03-01T01:00:00Z') },
    ]);
  });

  test('a column mapping reads any other layout', async () => {
    const text = 'Txn ID,Kind,Result,Total,Ccy,When,Our Ref\nT-9,SALE,APPROVED,"1,234.50",usd,2026-03-01T09:00:00Z,key-9\n';
    const columns = { id: 'Txn ID', type: 'Kind', status: 'Result', amount: 'Total', currency: 'Ccy', at: 'When', reference: 'Our Ref' };
    expect(await readTransactions(text, { columns })).toEqual([
      {
        id: 'T-9',
        type: 'charge',
        status: 'succeeded',
        amount: 123450,
        currency: 'USD',
        at: at('2026-03-01T09:00:00Z'),
        reference: 'key-9',
      },
    ]);
  });

  test('a cell that cannot be read: GuardInputError naming the file, line and column', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pdg-read-'));
    const file = join(dir, 'settlement.csv');
    const lines = (await readFile(fixture('generic.csv'), 'utf8')).split('\n');
    lines[3] = lines[3]!.replace('0.10', '0.105');
    await writeFile(file, lines.join('\n'));
    const error = await readTransactions(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardInputError);
    expect(error).toMatchObject({ code: 'INVALID_TRANSACTION', field: 'amount' });
    expect((error as Error).message).toBe(`${file}:4: column "amount" "0.105" has more decimals than CNY has (2)`);
  });

  test.each([
    ['an unknown status word', 'x,charge,ok,1,CNY,2026-03-01T00:00Z', /f\.csv:2: column "status" must be one of/],
    [
      'a date that is none',
      'x,charge,paid,1,CNY,2026-02-31 10:00',
      /f\.csv:2: column "at" "2026-02-31 10:00" \(string\) is not a date-time/,
    ],
    ['an empty id', ',charge,paid,1,CNY,2026-03-01T00:00Z', /f\.csv:2: column "id" is empty/],
    [
      'a currency that is none',
      'x,charge,paid,1,EURO,2026-03-01T00:00Z',
      /f\.csv:2: column "currency" "EURO" \(string\) is not an ISO 4217 currency/,
    ],
    [
      // Three letters, but not a currency: read as 2 decimals it would be a guess, and match no attempt's CNY.
      'a currency of three letters that is none',
      'x,charge,paid,12.50,RMB,2026-03-01T00:00Z',
      /f\.csv:2: column "currency" "RMB" \(string\) is not an ISO 4217 currency/,
    ],
  ])('%s', (_, row, message) => {
    expect(() => parseTransactions(`id,type,status,amount,currency,at\n${row}\n`, { name: 'f.csv' })).toThrow(message);
  });

  test('no header row with the columns; a file that is not there; bad options', async () => {
    expect(() => parseTransactions('a,b\n1,2\n', { name: 'f.csv' })).toThrow(
      /f\.csv: no header row with the generic columns \(id, type, status, amount, currency, at\)/,
    );
    await expect(readTransactions('/nonexistent/settlement.csv')).rejects.toThrow(/\/nonexistent\/settlement\.csv: cannot be read/);
    await expect(readTransactions(fixture('generic.csv'), { format: 'square' as never })).rejects.toThrow(GuardConfigError);
    await expect(readTransactions(fixture('wechat.csv'), { format: 'wechat', columns: { id: 'x' } })).rejects.toThrow(
      /`columns` must be given only with format 'generic'/,
    );
    await expect(readTransactions(fixture('generic.json'), { format: 'stripe' })).rejects.toThrow(
      /`format` must be 'generic' for a JSON file/,
    );
    await expect(readTransactions(fixture('generic.csv'), { timeZone: 'Mars/Olympus' })).rejects.toThrow(
      /`timeZone` must be an IANA time zone/,
    );
    await expect(readTransactions(fixture('generic.csv'), { colums: {} } as never)).rejects.toThrow(
      /`colums` is not an option of readTransactions/,
    );
  });

  test('a JSON entry that is not a ProcessorTransaction names its index and field', () => {
    expect(() =>
      parseTransactions('[{"id":"a","type":"charge","status":"succeeded","amount":12.5,"currency":"CNY","at":0}]', { name: 't.json' }),
    ).toThrow(/t\.json:\[0\]: `amount` must be a safe integer number of minor units/);
  });

  test('a JSON `at` in epoch seconds is refused naming the entry, not read as 1970', () => {
    const entry = { id: 'ch_1', type: 'charge', status: 'succeeded', amount: 1250, currency: 'CNY', at: 1772330400 };
    expect(() => parseTransactions(JSON.stringify([entry]), { name: 'f.json' })).toThrow(
      /f\.json:\[0\]: `at` must be .*epoch ms \(milliseconds/,
    );
  });

  test('progress is reported every 10,000 rows of a long file', () => {
    const rows = Array.from({ length: 25_000 }, (_, i) => `c${i},charge,succeeded,1.00,CNY,${1772326800000 + i}`);
    const seen: number[] = [];
    const read = parseTransactions(['id,type,status,amount,currency,at', ...rows].join('\n'), { onProgress: (n) => seen.push(n) });
    expect(read).toHaveLength(25_000);
    expect(seen).toEqual([10_000, 20_000]);
  });
});

describe('stripe', () => {
  test('itemised balance change report: charges and refunds by reporting_category; fees skipped; reference from metadata', async () => {
    expect(await readTransactions(fixture('stripe.csv'), { format: 'stripe' })).toEqual([
      {
        id: 'pi_3OaA',
        type: 'charge',
        status: 'succeeded',
        amount: 1250,
        currency: 'USD',
        at: at('2026-03-01T09:00:05Z'),
        reference: 'key-0001',
      },
      {
        id: 'pi_3OaB',
        type: 'charge',
        status: 'succeeded',
        amount: 123400,
        currency: 'USD',
        at: at('2026-03-01T09:05:00Z'),
        reference: 'key-0002',
      },
      {
        id: 're_3OaC',
        type: 'refund',
        status: 'succeeded',
        amount: 1250,
        currency: 'USD',
        at: at('2026-03-01T10:00:00Z'),
        original: 'pi_3OaA',
      },
    ]);
  });

  test('the Dashboard payments export: status and captured, card last 4, refunds folded into the row', async () => {
    expect(await readTransactions(fixture('stripe-payments.csv'), { format: 'stripe' })).toEqual([
      {
        id: 'pi_3OaA',
        type: 'charge',
        status: 'succeeded',
        amount: 1250,
        currency: 'USD',
        at: at('2026-03-01T09:00:00Z'),
        reference: 'key-0001',
        last4: '4242',
      },
      {
        id: 'ch_3OaA:refunded',
        type: 'refund',
        status: 'succeeded',
        amount: 1250,
        currency: 'USD',
        at: at('2026-03-01T09:00:00Z'),
        original: 'pi_3OaA',
      },
      {
        id: 'pi_3OaB',
        type: 'charge',
        status: 'succeeded',
        amount: 123400,
        currency: 'USD',
        at: at('2026-03-01T09:05:00Z'),
        reference: 'key-0002',
        last4: '4444',
      },
      {
        id: 'pi_3OaE',
        type: 'charge',
        status: 'failed',
        amount: 10,
        currency: 'USD',
        at: at('2026-03-01T09:10:00Z'),
        reference: 'key-0003',
        last4: '0341',
      },
    ]);
  });
});

test("adyen: Settled and Refunded rows of the settlement details report, in each row's TimeZone; fees and payouts skipped", async () => {
  expect(await readTransactions(fixture('adyen.csv'), { format: 'adyen' })).toEqual([
    {
      id: '8816178952380553',
      type: 'charge',
      status: 'succeeded',
      amount: 1250,
      currency: 'EUR',
      at: at('2026-03-01T09:00:05Z'),
      reference: 'key-0001',
    },
    {
      id: '8816178952380662',
      type: 'charge',
      status: 'succeeded',
      amount: 123400,
      currency: 'EUR',
      at: at('2026-03-01T09:05:00Z'),
      reference: 'key-0002',
    },
    {
      id: '8826178952381771',
      type: 'refund',
      status: 'succeeded',
      amount: 1250,
      currency: 'EUR',
      at: at('2026-03-01T10:00:00Z'),
      original: '8816178952380553',
    },
    {
      id: '8816178952380774',
      type: 'charge',
      status: 'succeeded',
      amount: 1500,
      currency: 'JPY',
      at: at('2026-03-01T08:00:00Z'),
      reference: 'key-0004',
    },
  ]);
});

test('wechat: backquoted values, a BOM, China time; REVOKED is a charge and its reversal; the totals block is not read', async () => {
  const wechatOrder = '4200001234202603011234567892';
  expect(await readTransactions(fixture('wechat.csv'), { format: 'wechat' })).toEqual([
    {
      id: '4200001234202603011234567890',
      type: 'charge',
      status: 'succeeded',
      amount: 1250,
      currency: 'CNY',
      at: at('2026-03-01T01:00:05Z'),
      reference: 'key-0001',
      terminalId: 'T-01',
    },
    {
      id: '4200001234202603011234567891',
      type: 'charge',
      status: 'succeeded',
      amount: 123400,
      currency: 'CNY',
      at: at('2026-03-01T01:05:00Z'),
      reference: 'key-0002',
      terminalId: 'T-02',
    },
    {
      id: wechatOrder,
      type: 'charge',
      status: 'succeeded',
      amount: 10,
      currency: 'CNY',
      at: at('2026-03-01T01:06:00Z'),
      reference: 'key-0003',
      terminalId: 'T-01',
    },
    {
      id: `${wechatOrder}:revoked`,
      type: 'reversal',
      status: 'succeeded',
      amount: 10,
      currency: 'CNY',
      at: at('2026-03-01T01:06:00Z'),
      original: wechatOrder,
    },
    {
      id: '50000000012026030112345678901',
      type: 'refund',
      status: 'succeeded',
      amount: 1250,
      currency: 'CNY',
      at: at('2026-03-01T03:00:00Z'),
      reference: 'RF-0001',
      original: '4200001234202603011234567890',
    },
  ]);
});

test('alipay: # comment header and footer, full-width （元） headers, trailing tabs, negative refund amounts', async () => {
  expect(await readTransactions(fixture('alipay.csv'), { format: 'alipay' })).toEqual([
    {
      id: '2026030122001412345678901234',
      type: 'charge',
      status: 'succeeded',
      amount: 1250,
      currency: 'CNY',
      at: at('2026-03-01T01:00:05Z'),
      reference: 'key-0001',
      terminalId: 'T-01',
    },
    {
      id: '2026030122001412345678905678',
      type: 'charge',
      status: 'succeeded',
      amount: 123400,
      currency: 'CNY',
      at: at('2026-03-01T01:05:00Z'),
      reference: 'key-0002',
      terminalId: 'T-02',
    },
    {
      id: 'RF2026030100001',
      type: 'refund',
      status: 'succeeded',
      amount: 1250,
      currency: 'CNY',
      at: at('2026-03-01T03:00:00Z'),
      terminalId: 'T-01',
      original: '2026030122001412345678901234',
    },
  ]);
});

test('unionpay: 交易类型 01/04/31, fen or yuan amounts, only the last 4 of 主账号 kept, MMDDhhmmss in the latest year not ahead', async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2026-03-02T00:00:00Z'));
  const read = await readTransactions(fixture('unionpay.csv'), { format: 'unionpay' });
  expect(read).toEqual([
    {
      id: '202603010900050012345',
      type: 'charge',
      status: 'succeeded',
      amount: 1250,
      currency: 'CNY',
      at: at('2026-03-01T01:00:05Z'),
      reference: 'key-0001',
      last4: '1234',
      terminalId: 'T-01',
    },
    {
      id: '202603010905000012346',
      type: 'charge',
      status: 'succeeded',
      amount: 123400,
      currency: 'CNY',
      at: at('2026-03-01T01:05:00Z'),
      reference: 'key-0002',
      last4: '3446',
      terminalId: 'T-02',
    },
    {
      id: '202603010906000012347',
      type: 'reversal',
      status: 'succeeded',
      amount: 10,
      currency: 'CNY',
      at: at('2026-03-01T01:06:00Z'),
      reference: 'key-0003',
      last4: '1234',
      terminalId: 'T-01',
      original: '202603010905590012340',
    },
    {
      id: '202603011100000012348',
      type: 'refund',
      status: 'succeeded',
      amount: 1250,
      currency: 'CNY',
      at: at('2026-03-01T03:00:00Z'),
      reference: 'RF-0001',
      last4: '1234',
      terminalId: 'T-01',
      original: '202603010900050012345',
    },
  ]);
  // Nothing of a card number but its last 4 digits leaves the file.
  expect(JSON.stringify(read)).not.toMatch(/621483|622202/);
  // In January, a 0301 time is last year's March.
  vi.setSystemTime(new Date('2027-01-05T00:00:00Z'));
  expect((await readTransactions(fixture('unionpay.csv'), { format: 'unionpay' }))[0]!.at).toBe(at('2026-03-01T01:00:05Z'));
});

describe('two refunds a file lists alike (no refund id, same charge, amount and second) are two refunds', () => {
  /** The file with its refund row made a partial refund without an id of its own, then listed twice. */
  const twice = (text: string, refund: (line: string) => boolean, partial: (line: string) => string): string => {
    const lines = text.split('\n');
    const at = lines.findIndex(refund);
    lines.splice(at, 1, partial(lines[at]!), partial(lines[at]!));
    return lines.join('\n');
  };
  const excess = (transactions: ProcessorTransaction[]) => reconcile([], transactions).findings.filter((f) => f.code === 'REFUNDED_TWICE');

  test('alipay, no 退款批次号/请求号: the coffee refunded 7.00 twice in one second is 14.00 of a 12.50 charge', async () => {
    const trade = '2026030122001412345678901234';
    const day = twice(
      await readFile(fixture('alipay.csv'), 'utf8'),
      (line) => line.includes(',退款\t,'),
      (line) => line.replace(',RF2026030100001\t,', ',,').replaceAll(',-12.50\t,', ',-7.00\t,'),
    );
    const read = parseTransactions(day, { format: 'alipay' });
    const id = `${trade}:refund:700@2026-03-01T03:00:00.000Z`;
    // Both refunds count: 1.50 returned beyond the charge.
    expect(excess(read)).toMatchObject([{ amount: 150, transactions: [trade, id, `${id}#2`] }]);
    // The first keeps the id made from its content; the second listed alike is told apart by its occurrence.
    expect(read.filter((t) => t.type === 'refund').map((t) => [t.id, t.amount, t.original])).toEqual([
      [id, 700, trade],
      [`${id}#2`, 700, trade],
    ]);
    // The same file read twice and joined, or pasted under itself with its header: the same ids, still two refunds.
    expect(reconcile([], [...read, ...parseTransactions(day, { format: 'alipay' })])).toEqual(reconcile([], read));
    const pasted = parseTransactions(`${day}\n${day.replace(/^\uFEFF/, '')}`, { format: 'alipay' });
    expect(pasted.filter((t) => t.type === 'refund').map((t) => t.id)).toEqual([id, `${id}#2`, id, `${id}#2`]);
    expect(reconcile([], pasted)).toEqual(reconcile([], read));
  });

  test('adyen, Modification Reference and Modification Merchant Reference empty: two refunds of 7.00, both counted', async () => {
    const psp = '8816178952380553';
    const day = twice(
      await readFile(fixture('adyen.csv'), 'utf8'),
      (line) => line.includes(',Refunded,'),
      (line) => line.replace(',Refunded,8826178952381771,', ',Refunded,,').replace(',refund-0001,', ',,').replaceAll(',12.50,', ',7.00,'),
    );
    const read = parseTransactions(day, { format: 'adyen' });
    const id = `${psp}:refund:700@2026-03-01T10:00:00.000Z`;
    expect(excess(read)).toMatchObject([{ amount: 150, currency: 'EUR', transactions: [psp, id, `${id}#2`] }]);
    expect(read.filter((t) => t.type === 'refund').map((t) => [t.id, t.amount, t.original])).toEqual([
      [id, 700, psp],
      [`${id}#2`, 700, psp],
    ]);
  });
});
