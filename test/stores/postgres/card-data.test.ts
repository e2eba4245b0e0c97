/**
 * Card data and hostile text through postgresStore (SPEC §5, §9): sales made
 * with real card numbers (written with spaces and dashes too), card numbers
 * typed into override reasons and processor messages, NUL characters, lone
 * surrogates and 10 KB strings. Afterwards the database's pg_dump holds no
 * card number, and every piece of text either came back unchanged through
 * another terminal (read from the database, not from memory) or was refused
 * with a GuardInputError / GuardConfigError: never a store that failed.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGuard, GuardConfigError, GuardInputError, type AttemptRecord, type Guard, type Sale } from '../../../src/index.js';
import { containsCardNumber } from '../../../src/pan.js';
import { DEFAULT_SCHEMA, postgresStore } from '../../../src/postgres.js';
import { freshDatabase, pgDumpText, type FreshDatabase } from '../../helpers/postgres.js';

const SECRET = 'card-data-secret-0123456789';
const PANS = ['6222020200112233446', '4111 1111 1111 1111', '4111-1111-1111-1111', '5555555555554444', '3782 822463 10005'];
const digitsOf = (pan: string) => pan.replace(/\D/g, '');

let db: FreshDatabase;
let pool: pg.Pool;
const guards: Guard[] = [];
beforeAll(async () => {
  db = await freshDatabase('card_data');
  pool = db.pool({ max: 6 });
});
afterAll(async () => {
  await Promise.all(guards.map((guard) => guard.close().catch(() => undefined)));
  await db.drop();
});

async function terminal(terminalId: string, merchantId = 'M-CARD'): Promise<Guard> {
  const guard = await createGuard({ merchantId, terminalId, secret: SECRET, store: postgresStore({ pool }), authorize: () => true });
  guards.push(guard);
  return guard;
}

/** A record as another terminal reads it from the database: a fresh guard holds nothing of it in memory. */
async function fromDatabase(id: string, merchantId = 'M-CARD'): Promise<AttemptRecord | undefined> {
  const reader = await terminal(`R-${guards.length}`, merchantId);
  try {
    return await reader.get(id);
  } finally {
    await reader.close();
  }
}

/** Every string in a JSON value (keys too), however deep. */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => [k, ...stringsOf(v)]);
  return [];
}

describe('card numbers', () => {
  it('never reach the database, neither from sales nor from free text, and the dump holds none', async () => {
    const t1 = await terminal('T1');
    const t2 = await terminal('T2');
    for (const [i, pan] of PANS.entries()) {
      const sold = await t1.begin({ amount: 1000 + i, currency: 'CNY', card: { pan }, orderId: `ORD-PAN-${i}` });
      expect(sold.verdict).toBe('allow');
      const id = sold.attempt?.id as string;
      await t1.settle(id, { status: 'approved', authCode: 'A1B2C3', message: `approved card ${pan} exp 12/29` });
      // The same card on another terminal: a duplicate it knows of by the keyed fingerprint alone
      // (once it heard of the approval: see races.test.ts, 'approved on one terminal, begun on the others at once').
      await vi.waitFor(async () => expect((await t2.get(id))?.status).toBe('approved'), { timeout: 2_000 });
      const again = await t2.begin({ amount: 1000 + i, currency: 'CNY', card: { pan: digitsOf(pan) } });
      expect(again.reasons.map((r) => r.code)).toContain('DUPLICATE_CHARGE');
      const confirmed = await t2.override(again, { operator: `amy ${pan}`, reason: `customer says card ${pan} was charged once` });
      await t2.settle(confirmed.attempt?.id as string, { status: 'declined', code: '05', message: `do not honour ${digitsOf(pan)}` });
      const refund = await t1.begin({ kind: 'refund', refundOf: id, amount: 500 + i, currency: 'CNY', card: { pan } });
      await t1.settle(refund.attempt?.id as string, { status: 'approved', processorRef: `ref ${pan}` });
    }
    // An identifier holding a card number is refused, not stored.
    await expect(t1.begin({ amount: 1, currency: 'CNY', card: { token: 't' }, operator: PANS[1] })).rejects.toBeInstanceOf(GuardInputError);
    await expect(
      t1.begin({ amount: 1, currency: 'CNY', card: { token: 't' }, orderId: digitsOf(PANS[0] as string) }),
    ).rejects.toBeInstanceOf(GuardInputError);

    const dump = await pgDumpText(db.url);
    expect(dump).toContain(`${DEFAULT_SCHEMA}.attempts`);
    for (const pan of PANS) {
      const digits = digitsOf(pan);
      expect(dump, pan).not.toContain(digits);
      expect(dump, pan).not.toContain(pan);
      // Nor 12 of its digits in a row: at most its BIN (6) and last 4 are kept, in fields of their own.
      expect(dump, pan).not.toContain(digits.slice(0, 12));
      expect(dump, pan).not.toContain(digits.slice(-12));
    }
    // Every piece of text the database holds, read by the project's own detector: in the rows'
    // JSON (records, journal entries), in the metadata and every other text column.
    const texts: string[] = [];
    for (const table of ['attempts', 'journal', 'meta']) {
      const { rows } = await pool.query<Record<string, unknown>>(`SELECT * FROM ${DEFAULT_SCHEMA}.${table}`);
      for (const row of rows) {
        for (const [column, value] of Object.entries(row)) {
          if (column === 'record' || column === 'entry') texts.push(...stringsOf(JSON.parse(value as string)));
          else if (typeof value === 'string' && !/^\d+$/.test(value)) texts.push(value);
          else if (Array.isArray(value)) texts.push(...value.map(String));
        }
      }
    }
    expect(texts.length).toBeGreaterThan(100);
    // Keyed fingerprints and ids are hex or base64url: runs of digits in them are no card numbers, but
    // one could pass Luhn by chance. Only free text and identifiers a person typed are read.
    const machine = /^(pdg_[\w-]{16}|[0-9a-f]{32,}|w_[\w-]+)$/;
    const found = texts.filter((text) => !machine.test(text) && containsCardNumber(text));
    expect(found).toEqual([]);
  });
});

describe('hostile text', () => {
  const NUL = 'before\u0000after';
  const SURROGATES = 'lone \ud800 high, lone \udfff low, pair \ud83d\ude00';
  const LONG = 'x'.repeat(10_240);
  const values: [string, string][] = [
    ['a NUL character', NUL],
    ['lone surrogates', SURROGATES],
    ['10 KB', LONG],
  ];
  // What each field does with it: kept exactly, or refused by its rule (ids: 128 characters, details and override text: 512).
  // A sale's terminalId other than the guard's own is refused on a shared store whatever it holds (it says whose charge
  // it is); the guard's own terminalId with such text is the test above.
  const expected: Record<string, Record<string, 'round-trip' | 'refused'>> = {
    // A control character in an identifier is refused (it is shown as it is); free text keeps it.
    [NUL]: { 'sale.terminalId': 'refused', 'sale.orderId': 'refused', 'sale.operator': 'refused' },
    [SURROGATES]: { 'sale.terminalId': 'refused' },
    [LONG]: {
      'sale.orderId': 'refused',
      'sale.operator': 'refused',
      'sale.terminalId': 'refused',
      'override reason': 'refused',
      'outcome message': 'refused',
    },
  };

  it.each(values)('%s in a sale, an override and an outcome: round-trips through the database or is refused', async (_, text) => {
    // A terminal of its own: the others stay open until the end, each holding its terminalId.
    const t1 = await terminal(`T-HOSTILE-${guards.length}`);
    const outcomes: { field: string; result: 'round-trip' | 'refused' }[] = [];
    const attempt = async (field: string, run: () => Promise<AttemptRecord | undefined>, expected: (r: AttemptRecord) => unknown) => {
      let record: AttemptRecord | undefined;
      try {
        record = await run();
      } catch (error) {
        // Refused at the boundary, with the rule: fine. A storage failure is not.
        expect(error, field).toBeInstanceOf(GuardInputError);
        outcomes.push({ field, result: 'refused' });
        return;
      }
      const stored = await fromDatabase((record as AttemptRecord).id);
      expect(stored, field).toBeDefined();
      expect(expected(stored as AttemptRecord), field).toBe(expected(record as AttemptRecord));
      outcomes.push({ field, result: 'round-trip' });
    };
    const token = `tok-${text.length}-${text.charCodeAt(6)}`;
    const base = (extra: Partial<Sale>): Sale => ({
      amount: 700,
      currency: 'CNY',
      card: { token: `${token}-${outcomes.length}` },
      ...extra,
    });
    const begun = async (sale: Sale) => {
      const d = await t1.begin(sale);
      return d.attempt && (await t1.get(d.attempt.id));
    };
    await attempt(
      'sale.orderId',
      () => begun(base({ orderId: text })),
      (r) => r.orderId,
    );
    if (outcomes.at(-1)?.result === 'round-trip') {
      // The order is found under its key by another terminal: its pending holds a payment of the same order.
      const other = await terminal('T-OTHER');
      const d = await other.begin({ amount: 700, currency: 'CNY', card: { token: `${token}-other` }, orderId: text });
      expect(d.reasons.map((r) => r.code)).toEqual(['IN_FLIGHT']);
      await other.close();
    }
    await attempt(
      'sale.operator',
      () => begun(base({ operator: text })),
      (r) => r.operator,
    );
    await attempt(
      'sale.terminalId',
      () => begun(base({ terminalId: text })),
      (r) => r.terminalId,
    );
    await attempt(
      'override reason',
      async () => {
        const twice = base({ card: { token: `${token}-twice` } });
        await (await t1.begin(twice)).attempt?.approve();
        const d = await t1.override(await t1.begin(twice), { operator: 'amy', reason: text });
        return d.attempt && (await t1.get(d.attempt.id));
      },
      (r) => JSON.stringify(r.override ?? null),
    );
    await attempt(
      'outcome message',
      async () => {
        const d = await t1.begin(base({}));
        return t1.settle(d.attempt?.id as string, { status: 'declined', code: '05', message: text });
      },
      (r) => r.message,
    );
    // An id nobody issued, with the text in it: no such attempt, or refused; the store does not fail.
    for (const call of [() => t1.get(`pdg_${text}`), () => t1.settle(`pdg_${text}`, { status: 'approved' })]) {
      try {
        expect(await call()).toBeUndefined();
      } catch (error) {
        expect((error as Error).name).toMatch(/^Guard(Input|State)Error$/);
      }
    }
    // And the store still works.
    expect((await t1.begin(base({ amount: 1 }))).verdict).toBe('allow');
    expect(Object.fromEntries(outcomes.map((o) => [o.field, o.result]))).toEqual({
      'sale.orderId': 'round-trip',
      'sale.operator': 'round-trip',
      'sale.terminalId': 'round-trip',
      'override reason': 'round-trip',
      'outcome message': 'round-trip',
      ...expected[text],
    });
    await t1.close();
  });

  it.each(values)('%s in a terminal id or merchant id: a guard that works, or a GuardConfigError naming the field', async (_, text) => {
    for (const field of ['terminalId', 'merchantId'] as const) {
      const ids = { merchantId: 'M-HOSTILE', terminalId: 'T-HOSTILE', [field]: text.slice(0, 128) };
      let guard: Guard;
      try {
        guard = await createGuard({ ...ids, secret: SECRET, store: postgresStore({ pool }) });
      } catch (error) {
        expect(error, field).toBeInstanceOf(GuardConfigError);
        expect((error as GuardConfigError).field).toBe(field);
        continue;
      }
      const errors: unknown[] = [];
      guard.on('storage-error', (e) => errors.push(e.error));
      const d = await guard.begin({ amount: 900, currency: 'CNY', card: { token: `tok-${field}-${text.length}` } });
      await d.attempt?.approve();
      await guard.close();
      expect(errors, field).toEqual([]);
      const stored = await fromDatabase(d.attempt?.id as string, ids.merchantId);
      expect(stored?.[field], field).toBe(ids[field]);
      const { rows } = await pool.query<{ terminal_id: string }>(
        `SELECT DISTINCT terminal_id FROM ${DEFAULT_SCHEMA}.journal WHERE merchant_id = $1`,
        [ids.merchantId],
      );
      expect(rows.map((r) => r.terminal_id)).toContain(ids.terminalId);
    }
  });
});
