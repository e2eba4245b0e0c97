/**
 * Properties of `reconcile` over wide inputs: attempts made by guards on two
 * lanes, transactions that name them by reference, look like them, repeat,
 * are reversed or refunded, or are strangers.
 */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { reconcile, type Finding, type ProcessorTransaction } from '../../src/reconcile.js';
import type { AttemptRecord } from '../../src/index.js';
import { MINUTE, SECOND } from '../helpers/guard.js';
import { chargeOf, till, transaction, type Ending } from '../helpers/till.js';

const ENDINGS: Ending[] = ['approved', 'declined', 'unknown', 'pending', 'cancelled', 'voided'];
type Link =
  | 'none'
  | 'reference'
  | 'twice'
  | 'probable'
  | 'reversed'
  | 'refunded-twice'
  | 'other-amount'
  | 'twice-one-reversed'
  | 'twice-each-refunded';

const scenario = fc.record({
  sales: fc.array(
    fc.record({
      lane: fc.nat(1),
      // Unknown attempts are the ones findings pair: weighted up.
      ending: fc.oneof(fc.constant<Ending>('unknown'), fc.constantFrom(...ENDINGS)),
      // Few amounts and cards, close in time: look-alike attempts compete for one charge.
      amount: fc.integer({ min: 1, max: 2 }),
      card: fc.constantFrom('1111', '4242'),
      link: fc.oneof(
        fc.constantFrom<Link>('none', 'probable'),
        fc.constantFrom<Link>(
          'reference',
          'twice',
          'reversed',
          'refunded-twice',
          'other-amount',
          'twice-one-reversed',
          'twice-each-refunded',
        ),
      ),
      gapSeconds: fc.integer({ min: 0, max: 150 }),
    }),
    { maxLength: 14 },
  ),
  strangers: fc.array(fc.record({ amount: fc.integer({ min: 1, max: 3 }), offsetSeconds: fc.integer({ min: 0, max: 3000 }) }), {
    maxLength: 4,
  }),
  tolerance: fc.constantFrom('30s', '2m', '10m'),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

async function build(s: Scenario): Promise<{ attempts: AttemptRecord[]; transactions: ProcessorTransaction[]; links: Map<string, Link> }> {
  const links = new Map<string, Link>();
  const lane0 = await till();
  const lane1 = await till({ clock: lane0.clock });
  const lanes = [lane0, lane1];
  const transactions: ProcessorTransaction[] = [];
  for (const sale of s.sales) {
    let a: AttemptRecord;
    try {
      a = await lanes[sale.lane]!.sale(sale.amount * 100, sale.ending, { last4: sale.card, gapMs: sale.gapSeconds * SECOND });
    } catch {
      continue; // the guard held the sale (IN_FLIGHT, UNKNOWN_OUTCOME, DUPLICATE_CHARGE): no attempt
    }
    links.set(a.id, sale.link);
    const charge = chargeOf(a);
    if (sale.link === 'twice-one-reversed') {
      // Charged twice, one charge reversed by the till's reference (what a reversal request carries): still charged once.
      const reversal = transaction({ type: 'reversal', amount: charge.amount, original: a.idempotencyKey });
      transactions.push(charge, chargeOf(a, { at: a.pendingSince + 20 * SECOND }), reversal);
    }
    if (sale.link === 'twice-each-refunded') {
      // Charged twice, and each charge refunded once, both refunds naming the till's reference (the remedy, then a return).
      const refund = () => transaction({ type: 'refund', amount: charge.amount, original: a.idempotencyKey, at: a.pendingSince + MINUTE });
      transactions.push(refund(), charge, chargeOf(a, { at: a.pendingSince + 20 * SECOND }), refund());
    }
    if (sale.link === 'reference') transactions.push(charge);
    if (sale.link === 'twice') transactions.push(charge, chargeOf(a));
    if (sale.link === 'probable') transactions.push({ ...charge, reference: `elsewhere-${charge.id}` });
    if (sale.link === 'other-amount') transactions.push({ ...charge, amount: charge.amount + 1 });
    if (sale.link === 'reversed') transactions.push(charge, transaction({ type: 'reversal', original: charge.id }));
    if (sale.link === 'refunded-twice') {
      transactions.push(
        charge,
        transaction({ type: 'refund', amount: charge.amount, original: charge.id }),
        transaction({ type: 'refund', amount: 1, original: charge.id }),
      );
    }
  }
  for (const stranger of s.strangers) {
    transactions.push(
      transaction({ type: 'charge', amount: stranger.amount * 100, at: lane0.clock.now() - stranger.offsetSeconds * SECOND }),
    );
  }
  lane0.clock.advance(10 * MINUTE);
  return { attempts: [...(await lane0.attempts()), ...(await lane1.attempts())], transactions, links };
}

test('reconcile never reports an exact match twice: a transaction is paired with one attempt at most, and no finding repeats', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const { attempts, transactions } = await build(s);
      const report = reconcile(attempts, transactions, { tolerance: s.tolerance });
      const pairedWith = new Map<string, Set<string>>();
      for (const finding of report.findings) {
        if (finding.attempts.length !== 1) continue;
        for (const id of finding.transactions) {
          const set = pairedWith.get(id) ?? new Set<string>();
          set.add(finding.attempts[0]!);
          pairedWith.set(id, set);
        }
      }
      for (const [id, set] of pairedWith) expect([id, set.size]).toEqual([id, 1]);
      const seen = new Set(report.findings.map((f) => JSON.stringify(f)));
      expect(seen.size).toBe(report.findings.length);
      // At most one UNKNOWN_* finding per attempt: it is settled one way.
      const unknowns = report.findings.filter((f) => f.code.startsWith('UNKNOWN_')).map((f) => f.attempts[0]);
      expect(new Set(unknowns).size).toBe(unknowns.length);
      // A charge naming an attempt by reference is never taken for a stranger.
      const keys = new Set(attempts.map((a) => a.idempotencyKey));
      const strangers = report.findings.filter((f) => f.code === 'UNMATCHED_CHARGE' && f.attempts.length === 0);
      for (const f of strangers) expect(keys.has(transactions.find((t) => t.id === f.transactions[0])!.reference ?? '')).toBe(false);
      // Totals add up to the findings.
      const sum = (list: Finding[]) => list.reduce((n, f) => n + f.amount, 0);
      expect(report.totals.reduce((n, t) => n + t.count, 0)).toBe(report.findings.length);
      for (const total of report.totals) {
        expect(total.amount).toBe(sum(report.findings.filter((f) => f.code === total.code && f.currency === total.currency)));
      }
      // The same input, shuffled, gives the same findings: the order of the file does not decide a match by reference.
      const again = reconcile([...attempts].reverse(), [...transactions].reverse(), { tolerance: s.tolerance });
      const exactOf = (list: Finding[]) =>
        list
          .filter((f) => f.match === 'exact' && f.attempts.length === 1)
          .map((f) => `${f.code} ${f.attempts[0]}`)
          .sort();
      expect(exactOf(again.findings).filter((x) => !x.startsWith('UNMATCHED'))).toEqual(
        exactOf(report.findings).filter((x) => !x.startsWith('UNMATCHED')),
      );
    }),
    { numRuns: 100 },
  );
});

test('reconcile never settles a charged unknown attempt as not charged or reversed, reports refunds only beyond their charges, and reads a file joined with itself the same', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const { attempts, transactions, links } = await build(s);
      const report = reconcile(attempts, transactions, { tolerance: s.tolerance });
      // What applyReconciliation would do to each attempt: exact findings, and probable UNKNOWN_WAS_CHARGED.
      const applied = new Map(
        report.findings
          .filter((f) => f.code.startsWith('UNKNOWN_') && (f.match === 'exact' || f.code === 'UNKNOWN_WAS_CHARGED'))
          .map((f) => [f.attempts[0]!, f.code]),
      );
      for (const attempt of attempts) {
        if (attempt.status !== 'unknown') continue;
        const link = links.get(attempt.id)!;
        // A charge of it that was not reversed is in the file: never settled cancelled, never voided.
        const charged = link !== 'none' && link !== 'reversed';
        if (charged) expect([attempt.id, link, applied.get(attempt.id)]).not.toContainEqual('UNKNOWN_NOT_CHARGED');
        if (charged) expect([attempt.id, link, applied.get(attempt.id)]).not.toContainEqual('UNKNOWN_WAS_REVERSED');
        // Its only charge reversed: never settled cancelled as if nothing had happened, nor approved.
        if (link === 'reversed') expect([attempt.id, applied.get(attempt.id)]).toEqual([attempt.id, 'UNKNOWN_WAS_REVERSED']);
      }
      // Refunds are money returned twice only when they are: one more than its charge took, never two of two charges.
      for (const attempt of attempts) {
        const link = links.get(attempt.id);
        const over = report.findings.filter(
          (f) =>
            f.code === 'REFUNDED_TWICE' && transactions.some((t) => t.id === f.transactions[0] && t.reference === attempt.idempotencyKey),
        );
        if (link === 'twice-each-refunded') expect([attempt.id, over]).toEqual([attempt.id, []]);
        if (link === 'refunded-twice') expect([attempt.id, over.map((f) => f.amount)]).toEqual([attempt.id, [1]]);
      }
      // A day downloaded twice and joined lists each transaction twice under its id: the same report.
      expect(reconcile(attempts, [...transactions, ...transactions], { tolerance: s.tolerance })).toEqual(report);
    }),
    { numRuns: 100 },
  );
});
