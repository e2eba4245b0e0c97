/**
 * `reconcile` (SPEC §11): every finding, exact and probable matches, and
 * the checks at its boundary. Attempts come from a guard (the public API).
 */
import { describe, expect, test } from 'vitest';
import { GuardConfigError, GuardInputError, memoryStore } from '../../src/index.js';
import { reconcile, type Finding } from '../../src/reconcile.js';
import { MINUTE, SECOND } from '../helpers/guard.js';
import { chargeOf, till, transaction } from '../helpers/till.js';

const codes = (findings: Finding[]) => findings.map((f) => f.code);

describe('unknown attempts', () => {
  test('charged, by reference: UNKNOWN_WAS_CHARGED, exact, settle approved', async () => {
    const t = await till();
    const a = await t.sale(1250, 'unknown');
    const charge = chargeOf(a);
    const report = reconcile(await t.attempts(), [charge]);
    expect(report.findings).toEqual([
      {
        code: 'UNKNOWN_WAS_CHARGED',
        attempts: [a.id],
        transactions: [charge.id],
        amount: 1250,
        currency: 'CNY',
        action: 'settle-approved',
        match: 'exact',
      },
    ]);
    expect(report.totals).toEqual([{ code: 'UNKNOWN_WAS_CHARGED', currency: 'CNY', count: 1, amount: 1250 }]);
  });

  test('the attempt id as reference matches too', async () => {
    const t = await till();
    const a = await t.sale(1250, 'unknown');
    const report = reconcile(await t.attempts(), [chargeOf(a, { reference: a.id })]);
    expect(report.findings.map((f) => [f.code, f.match])).toEqual([['UNKNOWN_WAS_CHARGED', 'exact']]);
  });

  test('charged, by amount, currency, card and time within tolerance: probable', async () => {
    const t = await till();
    const a = await t.sale(1250, 'unknown', { last4: '4242' });
    const { reference: _, ...noReference } = chargeOf(a, { at: a.pendingSince + 90 * SECOND });
    const report = reconcile(await t.attempts(), [noReference], { tolerance: '2m' });
    expect(report.findings).toMatchObject([{ code: 'UNKNOWN_WAS_CHARGED', match: 'probable', transactions: [noReference.id] }]);
  });

  test('a charge on another card, or outside tolerance, is no probable match', async () => {
    const t = await till();
    const a = await t.sale(1250, 'unknown', { last4: '4242' });
    const { reference: _o, ...other } = chargeOf(a, { last4: '0005' });
    const { reference: _l, ...late } = chargeOf(a, { at: a.pendingSince + 3 * MINUTE });
    const report = reconcile(await t.attempts(), [other, late], { tolerance: '2m', now: a.pendingSince + 10 * MINUTE });
    expect(codes(report.findings)).toEqual(['UNKNOWN_NOT_CHARGED', 'UNMATCHED_CHARGE', 'UNMATCHED_CHARGE']);
  });

  test('the nearest charge in time is taken, and each charge by one attempt only', async () => {
    // Two lanes, the same card and amount 40 s apart (one lane would block the second as UNKNOWN_OUTCOME).
    const lane1 = await till();
    const lane2 = await till({ clock: lane1.clock });
    const a = await lane1.sale(1250, 'unknown', { last4: '4242', gapMs: 40 * SECOND });
    const b = await lane2.sale(1250, 'unknown', { last4: '4242' });
    const { reference: _a, ...first } = chargeOf(a, { at: a.pendingSince + 2 * SECOND });
    const { reference: _b, ...second } = chargeOf(b, { at: b.pendingSince + 2 * SECOND });
    const report = reconcile([...(await lane2.attempts()), ...(await lane1.attempts())], [second, first]);
    expect(report.findings.map((f) => [f.code, f.attempts, f.transactions, f.match])).toEqual([
      ['UNKNOWN_WAS_CHARGED', [a.id], [first.id], 'probable'],
      ['UNKNOWN_WAS_CHARGED', [b.id], [second.id], 'probable'],
      // The same sale charged on two lanes 40 s apart, with nobody confirming the repeat.
      ['CHARGED_TWICE', [a.id, b.id], [first.id, second.id], 'probable'],
    ]);
  });

  test('one charge that looks like two attempts goes to one of them only; the other is not charged only probably', async () => {
    const lane1 = await till();
    const lane2 = await till({ clock: lane1.clock });
    const a = await lane1.sale(1250, 'unknown', { last4: '4242', gapMs: 10 * SECOND });
    const b = await lane2.sale(1250, 'unknown', { last4: '4242' });
    // The charge is in fact b's; a, served first, takes it.
    const { reference: _, ...charge } = chargeOf(b);
    const report = reconcile([...(await lane1.attempts()), ...(await lane2.attempts())], [charge], { now: b.pendingSince + 5 * MINUTE });
    // b's "no charge" rests on a probable pairing: not exact, so applyReconciliation does not settle b cancelled
    // (its customer, charged, would be asked to pay again). A person decides.
    expect(report.findings.map((f) => [f.code, f.attempts, f.transactions, f.match])).toEqual([
      ['UNKNOWN_WAS_CHARGED', [a.id], [charge.id], 'probable'],
      ['UNKNOWN_NOT_CHARGED', [b.id], [], 'probable'],
    ]);
    // A charge an exact match took is certain: beside it, no charge is exact.
    const byReference = chargeOf(a, { at: b.pendingSince + 5 * SECOND });
    const exact = reconcile([...(await lane1.attempts()), ...(await lane2.attempts())], [byReference], {
      now: b.pendingSince + 5 * MINUTE,
    });
    expect(exact.findings.map((f) => [f.code, f.attempts, f.match])).toEqual([
      ['UNKNOWN_WAS_CHARGED', [a.id], 'exact'],
      ['UNKNOWN_NOT_CHARGED', [b.id], 'exact'],
    ]);
  });

  test('no charge, older than tolerance at now: UNKNOWN_NOT_CHARGED (exact, settle cancelled); younger: nothing yet', async () => {
    const t = await till();
    const a = await t.sale(1250, 'unknown');
    const attempts = await t.attempts();
    expect(reconcile(attempts, [], { now: a.pendingSince + 3 * MINUTE }).findings).toEqual([
      {
        code: 'UNKNOWN_NOT_CHARGED',
        attempts: [a.id],
        transactions: [],
        amount: 1250,
        currency: 'CNY',
        action: 'settle-cancelled',
        match: 'exact',
      },
    ]);
    expect(reconcile(attempts, [], { now: a.pendingSince + MINUTE }).findings).toEqual([]);
    // The default tolerance is 2 minutes exactly.
    expect(reconcile(attempts, [], { now: a.pendingSince + 2 * MINUTE }).findings).toEqual([]);
    expect(codes(reconcile(attempts, [], { now: a.pendingSince + 2 * MINUTE + 1 }).findings)).toEqual(['UNKNOWN_NOT_CHARGED']);
    expect(reconcile(attempts, [], { now: new Date(a.pendingSince + 3 * MINUTE).toISOString() }).findings).toHaveLength(1);
  });

  test('a charge of its amount, card and time under another terminal name makes "not charged" probable, never exact', async () => {
    // The till calls itself lane-1; the processor knows the device as T0001: no
    // probable match. The charge is likely this attempt's all the same: settling cancelled would charge the customer again.
    const t = await till({ terminalId: 'lane-1' });
    const a = await t.sale(1250, 'unknown', { last4: '4242' });
    const { reference: _, ...charge } = chargeOf(a, { terminalId: 'T0001' });
    const before = transaction({ type: 'charge', status: 'failed', at: a.pendingSince - MINUTE });
    const report = reconcile(await t.attempts(), [before, charge], { now: a.pendingSince + 5 * MINUTE });
    expect(report.findings.map((f) => [f.code, f.attempts, f.match])).toEqual([
      ['UNKNOWN_NOT_CHARGED', [a.id], 'probable'],
      ['UNMATCHED_CHARGE', [], 'exact'],
    ]);
    // Another amount, or outside tolerance: no doubt.
    const other = { ...charge, amount: 1300 };
    expect(reconcile(await t.attempts(), [before, other], { now: a.pendingSince + 5 * MINUTE }).findings[0]).toMatchObject({
      code: 'UNKNOWN_NOT_CHARGED',
      match: 'exact',
    });
    // Another card's charge of the same amount at the same moment is another customer's (SPEC §11: no charge is exact).
    const anotherCard = { ...charge, last4: '1111' };
    expect(reconcile(await t.attempts(), [before, anotherCard], { now: a.pendingSince + 5 * MINUTE }).findings[0]).toMatchObject({
      code: 'UNKNOWN_NOT_CHARGED',
      match: 'exact',
    });
  });

  test('now defaults to the latest transaction', async () => {
    const t = await till();
    const a = await t.sale(1250, 'unknown');
    const later = transaction({ type: 'charge', amount: 999, at: a.pendingSince + 5 * MINUTE });
    expect(codes(reconcile(await t.attempts(), [later]).findings)).toEqual(['UNKNOWN_NOT_CHARGED', 'UNMATCHED_CHARGE']);
  });

  test('charged then reversed: UNKNOWN_WAS_REVERSED, settle voided, naming the charge and its reversal', async () => {
    const t = await till();
    const a = await t.sale(1250, 'unknown');
    const charge = chargeOf(a);
    const reversal = transaction({ type: 'reversal', original: charge.id, at: a.pendingSince + 20 * SECOND });
    const report = reconcile(await t.attempts(), [charge, reversal]);
    expect(report.findings).toEqual([
      expect.objectContaining({
        code: 'UNKNOWN_WAS_REVERSED',
        transactions: [charge.id, reversal.id],
        action: 'settle-voided',
        match: 'exact',
      }),
    ]);
  });

  test('a reversal naming a reference two charges share reverses one of them: the other still charged the customer', async () => {
    const t = await till();
    const a = await t.sale(2000, 'unknown');
    const first = chargeOf(a);
    const second = chargeOf(a, { at: a.pendingSince + 9 * SECOND });
    // The processor reversed one charge, named by the till's reference (what a reversal request carries).
    const reversal = transaction({ type: 'reversal', amount: 2000, original: a.idempotencyKey, at: a.pendingSince + 20 * SECOND });
    const report = reconcile(await t.attempts(), [first, second, reversal]);
    // Not UNKNOWN_WAS_REVERSED (settle voided): the customer paid once, the attempt was charged.
    expect(report.findings).toEqual([
      expect.objectContaining({ code: 'UNKNOWN_WAS_CHARGED', transactions: [second.id], action: 'settle-approved' }),
    ]);
    // Both reversed, each by its own reversal: now it is.
    const again = transaction({ type: 'reversal', amount: 2000, original: a.idempotencyKey, at: a.pendingSince + 30 * SECOND });
    expect(codes(reconcile(await t.attempts(), [first, second, reversal, again]).findings)).toEqual(['UNKNOWN_WAS_REVERSED']);
  });

  test('a failed charge is no charge', async () => {
    const t = await till();
    const a = await t.sale(1250, 'unknown');
    const report = reconcile(await t.attempts(), [chargeOf(a, { status: 'failed' })], { now: a.pendingSince + 5 * MINUTE });
    expect(codes(report.findings)).toEqual(['UNKNOWN_NOT_CHARGED']);
  });
});

describe('charged twice', () => {
  test('two charges for one reference: CHARGED_TWICE, the extra charge at stake', async () => {
    const t = await till();
    const a = await t.sale(1250, 'approved');
    const [one, two] = [chargeOf(a), chargeOf(a, { at: a.pendingSince + 30 * SECOND })];
    const report = reconcile(await t.attempts(), [one, two]);
    expect(report.findings).toEqual([
      {
        code: 'CHARGED_TWICE',
        attempts: [a.id],
        transactions: [one.id, two.id],
        amount: 1250,
        currency: 'CNY',
        action: 'refund-one',
        match: 'exact',
      },
    ]);
  });

  test('one sale approved on two tills inside window, no override: CHARGED_TWICE naming both attempts', async () => {
    const lane1 = await till();
    const lane2 = await till({ clock: lane1.clock });
    const a = await lane1.sale(1250, 'approved', { last4: '4242', gapMs: MINUTE });
    const b = await lane2.sale(1250, 'approved', { last4: '4242' });
    const attempts = [...(await lane1.attempts()), ...(await lane2.attempts())];
    const report = reconcile(attempts, [chargeOf(a), chargeOf(b)], { window: '10m' });
    expect(report.findings).toMatchObject([{ code: 'CHARGED_TWICE', attempts: [a.id, b.id], amount: 1250, match: 'exact' }]);
    // Outside window: a customer buying the same thing again.
    expect(reconcile(attempts, [chargeOf(a), chargeOf(b)], { window: '30s' }).findings).toEqual([]);
  });

  test('the default window is 10 minutes: 9 min 59 s apart is CHARGED_TWICE, 10 min is not (SPEC §11)', async () => {
    const pair = async (gapMs: number) => {
      const lane1 = await till();
      const lane2 = await till({ clock: lane1.clock });
      const a = await lane1.sale(1250, 'approved', { last4: '4242', gapMs });
      const b = await lane2.sale(1250, 'approved', { last4: '4242' });
      return reconcile([...(await lane1.attempts()), ...(await lane2.attempts())], [chargeOf(a), chargeOf(b)]).findings;
    };
    expect(codes(await pair(10 * MINUTE - SECOND))).toEqual(['CHARGED_TWICE']);
    expect(codes(await pair(10 * MINUTE))).toEqual([]);
  });

  test('a repeat the cashier confirmed (an override note) is not CHARGED_TWICE', async () => {
    const t = await till();
    const a = await t.sale(1250, 'approved', { last4: '4242' });
    const prompt = await t.guard.begin({ amount: 1250, currency: 'CNY', card: { last4: '4242' } });
    expect(prompt.reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
    const allowed = await t.guard.override(prompt, { operator: 'cashier-7', reason: 'customer bought two' });
    await allowed.attempt!.approve();
    const b = (await t.guard.get(allowed.attempt!.id))!;
    expect(reconcile(await t.attempts(), [chargeOf(a), chargeOf(b)]).findings).toEqual([]);
  });
});

describe('approved, amounts, strangers, refunds', () => {
  test('approved in the guard, no charge at the processor: APPROVED_NOT_CHARGED (exact)', async () => {
    const t = await till();
    const a = await t.sale(1250, 'approved');
    const report = reconcile(await t.attempts(), [], { now: a.pendingSince + 5 * MINUTE });
    expect(report.findings).toEqual([
      {
        code: 'APPROVED_NOT_CHARGED',
        attempts: [a.id],
        transactions: [],
        amount: 1250,
        currency: 'CNY',
        action: 'look-into-it',
        match: 'exact',
      },
    ]);
  });

  test('matched by reference with another amount: AMOUNT_MISMATCH, the difference at stake', async () => {
    const t = await till();
    const a = await t.sale(1250, 'approved');
    const charge = chargeOf(a, { amount: 12500 });
    const report = reconcile(await t.attempts(), [charge]);
    expect(report.findings).toEqual([
      {
        code: 'AMOUNT_MISMATCH',
        attempts: [a.id],
        transactions: [charge.id],
        amount: 11250,
        currency: 'CNY',
        action: 'look-into-it',
        match: 'exact',
      },
    ]);
  });

  test('matched by auth code, or by processor reference: exact', async () => {
    const t = await till();
    const a = await t.sale(1250, 'unknown');
    const b = await t.sale(800, 'approved', { authCode: 'A1B2C3' });
    const c = await t.sale(900, 'approved', { processorRef: 'PSP-77' });
    const report = reconcile(await t.attempts(), [
      { ...chargeOf(b, { authCode: 'A1B2C3', amount: 810 }), reference: 'someone-else' },
      { ...chargeOf(c, { id: 'PSP-77', amount: 910 }), reference: 'someone-else-too' },
      chargeOf(a),
    ]);
    expect(report.findings.map((f) => [f.code, f.attempts[0], f.match])).toEqual([
      ['UNKNOWN_WAS_CHARGED', a.id, 'exact'],
      ['AMOUNT_MISMATCH', b.id, 'exact'],
      ['AMOUNT_MISMATCH', c.id, 'exact'],
    ]);
  });

  test('a charge the guard never saw: UNMATCHED_CHARGE (exact, pairs nothing)', async () => {
    const t = await till();
    const stranger = transaction({ type: 'charge', amount: 4400, currency: 'USD' });
    const report = reconcile(await t.attempts(), [stranger]);
    expect(report.findings).toEqual([
      {
        code: 'UNMATCHED_CHARGE',
        attempts: [],
        transactions: [stranger.id],
        amount: 4400,
        currency: 'USD',
        action: 'look-into-it',
        match: 'exact',
      },
    ]);
  });

  test('a charge of a declined attempt is reported as a charge the guard does not count, naming the attempt', async () => {
    const t = await till();
    const a = await t.sale(1250, 'declined');
    const charge = chargeOf(a);
    expect(reconcile(await t.attempts(), [charge]).findings).toMatchObject([
      { code: 'UNMATCHED_CHARGE', attempts: [a.id], transactions: [charge.id] },
    ]);
  });

  test('a charge of a voided attempt that the processor never reversed is reported, naming the attempt', async () => {
    const t = await till();
    const a = await t.sale(1250, 'voided');
    const charge = chargeOf(a);
    // The guard counts no money for it; the processor kept the charge: the customer paid for a sale the till undid.
    expect(reconcile(await t.attempts(), [charge]).findings).toMatchObject([
      { code: 'UNMATCHED_CHARGE', attempts: [a.id], transactions: [charge.id], amount: 1250, action: 'look-into-it' },
    ]);
    // Reversed at the processor too: nothing to say.
    const reversal = transaction({ type: 'reversal', amount: 1250, original: charge.id });
    expect(reconcile(await t.attempts(), [charge, reversal]).findings).toEqual([]);
  });

  test('a pending attempt takes its charge and is reported on nothing', async () => {
    const t = await till();
    const a = await t.sale(1250, 'pending');
    expect(reconcile(await t.attempts(), [chargeOf(a)]).findings).toEqual([]);
  });

  test('a charge reversed and refunded too: the refund is money returned twice, REFUNDED_TWICE', async () => {
    const t = await till();
    const a = await t.sale(1000, 'approved');
    const charge = chargeOf(a);
    const reversal = transaction({ type: 'reversal', amount: 1000, original: charge.id });
    const refund = transaction({ type: 'refund', amount: 400, original: charge.id });
    const report = reconcile(await t.attempts(), [charge, reversal, refund]);
    expect(report.findings).toEqual([
      {
        code: 'REFUNDED_TWICE',
        attempts: [a.id],
        transactions: [charge.id, reversal.id, refund.id],
        amount: 400,
        currency: 'CNY',
        action: 'recover-excess',
        match: 'exact',
      },
    ]);
    // Reversed and not refunded: nothing was returned twice.
    expect(reconcile(await t.attempts(), [charge, reversal]).findings).toEqual([]);
  });

  test('a file downloaded twice and joined: each charge, refund and reversal counts once', async () => {
    const t = await till();
    const sold = await t.sale(1000, 'approved');
    const charge = chargeOf(sold);
    const refund = transaction({ type: 'refund', amount: 600, original: charge.id });
    const twice = await t.sale(2000, 'unknown');
    const [c1, c2] = [chargeOf(twice), chargeOf(twice, { at: twice.pendingSince + 9 * SECOND })];
    const reversal = transaction({ type: 'reversal', amount: 2000, original: twice.idempotencyKey });
    const file = [charge, refund, c1, c2, reversal];
    const once = reconcile(await t.attempts(), file);
    // One refund of 6.00 of a 10.00 charge is not REFUNDED_TWICE; one reversal does not undo both charges.
    expect(codes(once.findings)).toEqual(['UNKNOWN_WAS_CHARGED']);
    expect(reconcile(await t.attempts(), [...file, ...file])).toEqual(once);
  });

  test('refunds of one charge adding up to more than it: REFUNDED_TWICE, the excess at stake', async () => {
    const t = await till();
    const a = await t.sale(1250, 'approved');
    const charge = chargeOf(a);
    const r1 = transaction({ type: 'refund', amount: 1250, original: charge.id });
    const r2 = transaction({ type: 'refund', amount: 1000, original: charge.id });
    const report = reconcile(await t.attempts(), [charge, r1, r2]);
    expect(report.findings).toEqual([
      {
        code: 'REFUNDED_TWICE',
        attempts: [a.id],
        transactions: [charge.id, r1.id, r2.id],
        amount: 1000,
        currency: 'CNY',
        action: 'recover-excess',
        match: 'exact',
      },
    ]);
    // A refund naming the charge by its reference counts too; a partial refund alone is fine.
    expect(reconcile(await t.attempts(), [charge, { ...r1, original: a.idempotencyKey }, r2]).findings).toHaveLength(1);
    expect(reconcile(await t.attempts(), [charge, r2]).findings).toEqual([]);
  });
});

describe('report', () => {
  test('findings in the table order; totals per code and currency', async () => {
    const t = await till();
    const u1 = await t.sale(1000, 'unknown');
    const u2 = await t.sale(2000, 'unknown', { currency: 'USD' });
    const u3 = await t.sale(500, 'unknown');
    const stranger = transaction({ type: 'charge', amount: 700, at: u3.pendingSince });
    const report = reconcile(await t.attempts(), [stranger, chargeOf(u3), chargeOf(u2), chargeOf(u1)]);
    expect(codes(report.findings)).toEqual(['UNKNOWN_WAS_CHARGED', 'UNKNOWN_WAS_CHARGED', 'UNKNOWN_WAS_CHARGED', 'UNMATCHED_CHARGE']);
    expect(report.totals).toEqual([
      { code: 'UNKNOWN_WAS_CHARGED', currency: 'CNY', count: 2, amount: 1500 },
      { code: 'UNKNOWN_WAS_CHARGED', currency: 'USD', count: 1, amount: 2000 },
      { code: 'UNMATCHED_CHARGE', currency: 'CNY', count: 1, amount: 700 },
    ]);
    // Plain data: JSON as it is.
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  test('refund attempts are left to the processor side; no attempts and no transactions: nothing', async () => {
    expect(reconcile([], [])).toEqual({ findings: [], totals: [] });
    const t = await till({ store: memoryStore() });
    const a = await t.sale(1250, 'approved');
    const refund = await t.guard.begin({ amount: 1250, currency: 'CNY', card: { last4: a.last4! }, kind: 'refund', refundOf: a.id });
    await refund.attempt!.approve();
    expect(reconcile(await t.attempts(), [chargeOf(a)]).findings).toEqual([]);
  });
});

describe('checks at the boundary', () => {
  test('a bad transaction: GuardInputError INVALID_TRANSACTION naming its index and field', () => {
    const bad = { ...transaction({ type: 'charge' }), amount: 12.5 };
    expect(() => reconcile([], [bad])).toThrow(GuardInputError);
    expect(() => reconcile([], [transaction({ type: 'charge' }), bad])).toThrow(/`transactions\[1\]\.amount` must be a safe integer/);
    expect(() => reconcile([], [{ ...bad, amount: 1, at: '2026-03-01 09:00' }])).toThrow(/transactions\[0\]\.at/);
    expect(() => reconcile([], [{ ...bad, amount: 1, type: 'sale' }])).toThrow(
      /`transactions\[0\]\.type` must be 'charge', 'refund' or 'reversal'/,
    );
  });

  test('epoch seconds where epoch ms belong are refused, not read as January 1970', () => {
    // 1772330400 s is 2026-03-01; as ms it is 1970-01-21, where nothing matches and every unknown reads not charged.
    const seconds = transaction({ type: 'charge', at: 1772330400 });
    expect(() => reconcile([], [seconds])).toThrow(
      expect.objectContaining({ name: 'GuardInputError', code: 'INVALID_TRANSACTION', field: 'transactions[0].at' }),
    );
    expect(() => reconcile([], [seconds])).toThrow(/epoch ms \(milliseconds/);
    expect(() => reconcile([], [], { now: 1772330400 })).toThrow(expect.objectContaining({ field: 'now', code: 'INVALID_OPTION' }));
    expect(reconcile([], [{ ...seconds, at: 1772330400000 }]).findings).toHaveLength(1);
  });

  test('an ISO date that does not exist (30 February) is refused, not rolled over into March', () => {
    for (const at of ['2026-02-30T10:00:00Z', '2026-04-31T10:00:00+08:00', '2025-02-29T00:00Z']) {
      expect(() => reconcile([], [transaction({ type: 'charge', at })])).toThrow(
        expect.objectContaining({ code: 'INVALID_TRANSACTION', field: 'transactions[0].at' }),
      );
      expect(() => reconcile([], [], { now: at })).toThrow(expect.objectContaining({ field: 'now' }));
    }
    expect(reconcile([], [transaction({ type: 'charge', at: '2028-02-29T10:00:00Z' })]).findings).toHaveLength(1);
  });

  test('bad attempts: GuardInputError INVALID_ATTEMPT', () => {
    expect(() => reconcile('nope' as never, [])).toThrow(expect.objectContaining({ name: 'GuardInputError', code: 'INVALID_ATTEMPT' }));
    expect(() => reconcile([{ id: 'x' } as never], [])).toThrow(/attempts\[0\]/);
  });

  test('bad options: GuardConfigError naming the option', () => {
    expect(() => reconcile([], [], { tolerance: '2 minutes' })).toThrow(
      expect.objectContaining({ name: 'GuardConfigError', code: 'INVALID_DURATION', field: 'tolerance' }),
    );
    expect(() => reconcile([], [], { window: -1 })).toThrow(expect.objectContaining({ field: 'window' }));
    expect(() => reconcile([], [], { now: 'yesterday' })).toThrow(expect.objectContaining({ field: 'now', code: 'INVALID_OPTION' }));
    expect(() => reconcile([], [], { tolerence: '2m' } as never)).toThrow(GuardConfigError);
    expect(() => reconcile([], [], { tolerence: '2m' } as never)).toThrow(/`tolerence` is not an option of reconcile/);
  });
});
