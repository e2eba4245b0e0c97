/**
 * SPEC §9, "every rule of §3 holds across terminals exactly as within one
 * guard, whatever the timing": four terminals, each a Node process of its
 * own with its own pg.Pool on one PostgreSQL database, race for one sale,
 * one order and one sale's refunds, round after round. What each terminal
 * answered is checked, and so is what the database holds at the end.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptRecord, Sale } from '../../../src/index.js';
import { DEFAULT_SCHEMA } from '../../../src/postgres.js';
import { freshDatabase, tcpProxy, type FreshDatabase, type TcpProxy } from '../../helpers/postgres.js';
import { dbConfig, killAll, startTerminal, type DecisionView, type Terminal } from './terminals.js';

const ROUNDS = 30;
/** Rounds of the races whose losers retry until the winner's outcome is known (each round waits for its notices). */
const RETRY_ROUNDS = 20;
const SECRET = 'races-test-secret-0123456789';

let db: FreshDatabase;
let pool: pg.Pool;
let terminals: Terminal[];
/** T4's LISTEN connection goes through it (transparent until paused): notices to T4 can be held back. */
let t4Notices: TcpProxy;
beforeAll(async () => {
  db = await freshDatabase('races');
  pool = db.pool({ max: 2 });
  t4Notices = await tcpProxy(Number(db.config.port));
  terminals = await Promise.all(
    ['T1', 'T2', 'T3', 'T4'].map((terminalId) =>
      startTerminal({
        db: dbConfig(db.config),
        ...(terminalId === 'T4' ? { listenDb: dbConfig(db.config, t4Notices.port) } : {}),
        merchantId: 'M-RACE',
        terminalId,
        secret: SECRET,
        pendingTimeout: '2m',
      }),
    ),
  );
}, 30_000);
afterAll(async () => {
  await Promise.all(terminals.map((t) => t.close().catch(() => undefined)));
  await killAll();
  await t4Notices.close();
  await db.drop();
});

const card = (n: number | string) => ({ token: `tok_race_${n}` });
const codes = (d: DecisionView) => d.codes.join('+') || d.verdict;

/** Every terminal begins its sale at the same moment (each line written to its stdin in one tick). */
const beginAll = (sales: Sale[]) => Promise.all(terminals.map((t, i) => t.begin(sales[i % sales.length] as Sale)));

/** The rows of the database, records parsed. */
async function rows(): Promise<{ record: AttemptRecord; version: number }[]> {
  const { rows: found } = await pool.query<{ record: string; version: string }>(
    `SELECT record, version FROM ${DEFAULT_SCHEMA}.attempts WHERE merchant_id = 'M-RACE'`,
  );
  return found.map((r) => ({ record: JSON.parse(r.record) as AttemptRecord, version: Number(r.version) }));
}

describe('four terminals, one database', () => {
  it(`one sale begun on all four at once: exactly one allow, the other three IN_FLIGHT (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const sale: Sale = { amount: 1000 + round, currency: 'CNY', card: card(`same-${round}`) };
      const decisions = await beginAll([sale]);
      const allowed = decisions.filter((d) => d.verdict === 'allow');
      expect(allowed, `round ${round}: ${decisions.map(codes).join(', ')}`).toHaveLength(1);
      expect(decisions.filter((d) => d.verdict !== 'allow').map(codes)).toEqual(['IN_FLIGHT', 'IN_FLIGHT', 'IN_FLIGHT']);
      // The winner's charge declines: the sale is free again, and the next round's race starts clean.
      const winner = terminals[decisions.indexOf(allowed[0] as DecisionView)] as Terminal;
      await winner.settle(allowed[0]?.attemptId as string, { status: 'declined', code: '51' });
    }
    const mine = (await rows()).filter(({ record }) => record.amount >= 1000 && record.amount < 1000 + ROUNDS);
    expect(mine).toHaveLength(ROUNDS);
  });

  it(`one order paid on one terminal: every other terminal is told so, same card or another (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const orderId = `ORD-PAID-${round}`;
      const payer = terminals[round % 4] as Terminal;
      const others = terminals.filter((t) => t !== payer);
      const first = await payer.begin({ amount: 2000, currency: 'CNY', card: card(`order-${round}`), orderId });
      expect(first.verdict).toBe('allow');
      const id = first.attemptId as string;
      await payer.settle(id, { status: 'approved', authCode: 'A1' });
      // Another card, the same amount (SPEC §3: a prompt), and the same card (a block); at once on the three others.
      const answers = await Promise.all(
        others.map((t, i) =>
          t.begin({ amount: 2000, currency: 'CNY', card: card(i === 0 ? `order-${round}` : `order-${round}-other-${i}`), orderId }),
        ),
      );
      expect(answers.map(codes), `round ${round}`).toEqual([
        'DUPLICATE_CHARGE+ORDER_ALREADY_PAID',
        'ORDER_SAME_AMOUNT',
        'ORDER_SAME_AMOUNT',
      ]);
    }
  });

  it(`split tenders with orderTotal begun at once that together overpay are never both approved (${RETRY_ROUNDS} rounds)`, async () => {
    for (let round = 0; round < RETRY_ROUNDS; round++) {
      const orderId = `ORD-SPLIT-${round}`;
      // 4 × 300 against a total of 1000: at most three of them may be charged.
      const tender = (i: number): Sale => ({ amount: 300, currency: 'CNY', card: card(`split-${round}-${i}`), orderId, orderTotal: 1000 });
      const pay = async (t: Terminal, i: number) => {
        // A till retries while another tender of the order is in flight, and charges when allowed.
        for (;;) {
          const d = await t.begin(tender(i));
          if (d.verdict === 'allow') {
            await t.settle(d.attemptId as string, { status: 'approved' });
            return 'approved';
          }
          if (!d.codes.includes('IN_FLIGHT')) return codes(d);
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      };
      const results = await Promise.all(terminals.map((t, i) => pay(t, i)));
      expect(
        results.filter((r) => r === 'approved'),
        `round ${round}: ${results.join(', ')}`,
      ).toHaveLength(3);
      expect(results.filter((r) => r !== 'approved')).toEqual(['ORDER_ALREADY_PAID']);
    }
    // The database: no order's approved tenders add up to more than its total.
    const paid = new Map<string, number>();
    for (const { record } of await rows()) {
      if (record.orderId?.startsWith('ORD-SPLIT-') && record.status === 'approved') {
        paid.set(record.orderId, (paid.get(record.orderId) ?? 0) + record.amount);
      }
    }
    expect(paid.size).toBe(RETRY_ROUNDS);
    for (const [orderId, sum] of paid) expect(sum, orderId).toBeLessThanOrEqual(1000);
  });

  it(`refunds of one sale begun on four terminals at once never refund more than the sale (${RETRY_ROUNDS} rounds)`, async () => {
    const sales: string[] = [];
    for (let round = 0; round < RETRY_ROUNDS; round++) {
      const seller = terminals[round % 4] as Terminal;
      const sold = await seller.begin({ amount: 1000, currency: 'CNY', card: card(`refunded-${round}`) });
      const saleId = sold.attemptId as string;
      sales.push(saleId);
      await seller.settle(saleId, { status: 'approved' });
      // 4 × 400 against 1000, each from another card, begun at once: an
      // open refund of the sale holds the others (IN_FLIGHT, SPEC §3).
      const refundOf = (i: number): Sale => ({
        kind: 'refund',
        refundOf: saleId,
        amount: 400,
        currency: 'CNY',
        card: card(`refund-${round}-${i}`),
      });
      const first = await Promise.all(terminals.map((t, i) => t.begin(refundOf(i))));
      expect(first.map(codes).sort(), `round ${round}`).toEqual(['IN_FLIGHT', 'IN_FLIGHT', 'IN_FLIGHT', 'allow']);
      // Then each till retries until it may pay out, or is told it would exceed the sale.
      const refund = async (t: Terminal, i: number) => {
        let d = first[i] as DecisionView;
        for (;;) {
          if (d.verdict === 'allow') {
            await t.settle(d.attemptId as string, { status: 'approved' });
            return 'approved';
          }
          if (!d.codes.includes('IN_FLIGHT')) return codes(d);
          await new Promise((resolve) => setTimeout(resolve, 2));
          d = await t.begin(refundOf(i));
        }
      };
      const results = await Promise.all(terminals.map((t, i) => refund(t, i)));
      expect(
        results.filter((r) => r === 'approved'),
        `round ${round}: ${results.join(', ')}`,
      ).toHaveLength(2);
      expect(results.filter((r) => r !== 'approved')).toEqual(['REFUND_EXCEEDS_CHARGE', 'REFUND_EXCEEDS_CHARGE']);
    }
    // The database: what each sale says was refunded, and what its approved refunds add up to, stay within it.
    const all = await rows();
    for (const saleId of sales) {
      const sale = all.find(({ record }) => record.id === saleId)?.record as AttemptRecord;
      const refunded = all
        .filter(({ record }) => record.refundOf === saleId && record.status === 'approved')
        .reduce((sum, { record }) => sum + record.amount, 0);
      expect(refunded, saleId).toBeLessThanOrEqual(sale.amount);
      expect(sale.refunded, saleId).toBe(refunded);
      expect(sale.status).toBe(refunded === sale.amount ? 'refunded' : 'approved');
    }
  });

  /**
   * No rule depends on a notice (SPEC §9): T4 has heard the pending and its
   * notices are held back (a slow network) when T1's approval commits; T4's
   * begin must still be the DUPLICATE_CHARGE prompt, not a stale IN_FLIGHT
   * (a held-back decision reads the store's versions first).
   */
  it(`approved on one terminal, begun on another at once: DUPLICATE_CHARGE, notices or not (${ROUNDS} rounds)`, async () => {
    const [t1, , , t4] = terminals as [Terminal, Terminal, Terminal, Terminal];
    for (let round = 0; round < ROUNDS; round++) {
      const sale: Sale = { amount: 5000 + round, currency: 'CNY', card: card(`approved-${round}`) };
      const id = (await t1.begin(sale)).attemptId as string;
      // T4 holds the pending (a new sale's reservation is not announced: its own claim met it).
      expect(codes(await t4.begin(sale)), `round ${round}`).toBe('IN_FLIGHT');
      t4Notices.pause();
      try {
        await t1.settle(id, { status: 'approved' });
        expect(codes(await t4.begin(sale)), `round ${round}`).toBe('DUPLICATE_CHARGE');
      } finally {
        t4Notices.restore();
      }
    }
  });

  // Declined is filed under no key: the claim must still meet the new version of the pending it judged on.
  it('declined on one terminal, begun again on another at once: allowed, notices or not', async () => {
    const [t1, , , t4] = terminals as [Terminal, Terminal, Terminal, Terminal];
    const sale: Sale = { amount: 7100, currency: 'CNY', card: card('declined-at-once') };
    const id = (await t1.begin(sale)).attemptId as string;
    expect(codes(await t4.begin(sale))).toBe('IN_FLIGHT');
    t4Notices.pause();
    try {
      await t1.settle(id, { status: 'declined' });
      expect(codes(await t4.begin(sale))).toBe('allow');
    } finally {
      t4Notices.restore();
    }
  });

  // What a refund reads of its sale (and an order's payments) is taken in even where memory holds an older
  // version: a refund of a sale approved a moment ago elsewhere is allowed, notices or not.
  it('approved on one terminal, refunded on another at once: allowed, notices or not', async () => {
    const [t1, , , t4] = terminals as [Terminal, Terminal, Terminal, Terminal];
    const sold: Sale = { amount: 7000, currency: 'CNY', card: card('refunded-at-once') };
    const id = (await t1.begin(sold)).attemptId as string;
    // T4 holds the pending (a new sale's reservation is not announced: its own claim met it).
    expect(codes(await t4.begin(sold))).toBe('IN_FLIGHT');
    t4Notices.pause();
    try {
      await t1.settle(id, { status: 'approved' });
      const refund = await t4.begin({ kind: 'refund', refundOf: id, amount: 7000, currency: 'CNY', card: card('refunded-at-once') });
      expect(codes(refund)).toBe('allow');
    } finally {
      t4Notices.restore();
    }
  });

  it('leaves no two live attempts of one sale pending at once in the database', async () => {
    const pending = new Map<string, string[]>();
    for (const { record } of await rows()) {
      if (record.status !== 'pending') continue;
      pending.set(record.fingerprint, [...(pending.get(record.fingerprint) ?? []), record.id]);
    }
    expect([...pending.values()].filter((ids) => ids.length > 1)).toEqual([]);
  });
});
