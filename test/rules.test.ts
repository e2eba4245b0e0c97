import { describe, expect, it } from 'vitest';
import { UNKNOWN_MAX_AGE_MS } from '../src/attempt-index.js';
import { VERDICT_OF, evaluate, statusAt, strictest, type Finding, type IndexView, type SaleFacts } from '../src/rules.js';
import type { AttemptRecord, ReasonCode } from '../src/types.js';

const NOW = 1_767_225_600_000 + 86_400_000;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const settings = { windowMs: 10 * MINUTE, pendingTimeoutMs: 2 * MINUTE };

/** An attempt record for the sale below, approved an hour ago unless patched. */
function record(id: string, patch: Partial<AttemptRecord> = {}): AttemptRecord {
  const createdAt = patch.createdAt ?? NOW - 60 * MINUTE;
  return Object.freeze({
    v: 1,
    id,
    idempotencyKey: `pdg_${id}_0123456789abcdef`,
    fingerprint: 'fp-A',
    merchantId: 'M-1',
    kind: 'sale',
    amount: 1250,
    currency: 'CNY',
    last4: '1111',
    status: 'approved',
    createdAt,
    updatedAt: createdAt,
    pendingSince: createdAt,
    approvedAt: createdAt,
    refunded: 0,
    ...patch,
  } satisfies AttemptRecord);
}

/**
 * A hand-built index view. Unlike the real index it returns records of every
 * status, so these tests also prove the rules ignore dead attempts themselves.
 */
function view(...records: AttemptRecord[]): IndexView {
  return {
    get: (id) => records.find((r) => r.id === id),
    byFingerprint: (fingerprint) => records.filter((r) => r.fingerprint === fingerprint),
    byOrder: (merchantId, orderId) => records.filter((r) => r.merchantId === merchantId && r.orderId === orderId),
    openRefundsOf: (originalId) => records.filter((r) => r.kind === 'refund' && r.refundOf === originalId),
    openUntil: (r) => r.pendingSince + UNKNOWN_MAX_AGE_MS,
    pendingFrom: (r) => r.pendingSince,
  };
}

const sale = (patch: Partial<SaleFacts> = {}): SaleFacts => ({
  fingerprint: 'fp-A',
  merchantId: 'M-1',
  kind: 'sale',
  amount: 1250,
  currency: 'CNY',
  ...patch,
});

const refund = (patch: Partial<SaleFacts> = {}): SaleFacts => sale({ fingerprint: 'fp-R', kind: 'refund', ...patch });

const codes = (findings: Finding[]): ReasonCode[] => findings.map((f) => f.code).sort();
const run = (facts: SaleFacts, ...records: AttemptRecord[]) => evaluate(facts, view(...records), NOW, settings);
const verdict = (findings: Finding[]) => strictest(findings.map((f) => VERDICT_OF[f.code]));

describe('evaluate: nothing to match', () => {
  it('allows a sale against an empty history', () => {
    expect(run(sale())).toEqual([]);
  });

  it.each(['declined', 'cancelled', 'voided', 'refunded'] as const)('never matches a %s attempt, by fingerprint or order', (status) => {
    const recent = record('a', { status, orderId: 'O-1', approvedAt: NOW - SECOND, updatedAt: NOW - SECOND, createdAt: NOW - 2 * SECOND });
    expect(run(sale({ orderId: 'O-1' }), recent)).toEqual([]);
  });
});

describe('IN_FLIGHT', () => {
  it('matches a pending attempt with the same fingerprint, with its age since it became pending', () => {
    const pending = record('p', { status: 'pending', createdAt: NOW - 5 * SECOND, approvedAt: undefined });
    expect(run(sale(), pending)).toEqual([expect.objectContaining({ code: 'IN_FLIGHT', attemptId: 'p', ageMs: 5 * SECOND })]);
  });

  it('matches a pending attempt on the same merchant and order, of any kind and any fingerprint', () => {
    const pendingRefund = record('p', {
      status: 'pending',
      kind: 'refund',
      fingerprint: 'fp-other',
      orderId: 'O-1',
      createdAt: NOW - SECOND,
    });
    expect(codes(run(sale({ orderId: 'O-1' }), pendingRefund))).toEqual(['IN_FLIGHT']);
    const pendingSale = record('q', { status: 'pending', fingerprint: 'fp-other', amount: 99, orderId: 'O-1', createdAt: NOW - SECOND });
    expect(codes(run(refund({ orderId: 'O-1' }), pendingSale))).toEqual(['IN_FLIGHT']);
  });

  it("ignores another merchant's order with the same id", () => {
    const elsewhere = record('p', {
      status: 'pending',
      fingerprint: 'fp-other',
      merchantId: 'M-2',
      orderId: 'O-1',
      createdAt: NOW - SECOND,
    });
    expect(run(sale({ orderId: 'O-1' }), elsewhere)).toEqual([]);
  });

  it('is still pending at exactly pendingTimeout, measured from pendingSince (resume restarts it)', () => {
    const resumed = record('p', { status: 'pending', createdAt: NOW - 60 * MINUTE, pendingSince: NOW - settings.pendingTimeoutMs });
    expect(run(sale(), resumed)).toEqual([expect.objectContaining({ code: 'IN_FLIGHT', ageMs: settings.pendingTimeoutMs })]);
  });
});

describe('UNKNOWN_OUTCOME', () => {
  it('matches an unknown attempt with the same fingerprint', () => {
    const unknown = record('u', { status: 'unknown', approvedAt: undefined });
    expect(run(sale(), unknown)).toEqual([expect.objectContaining({ code: 'UNKNOWN_OUTCOME', attemptId: 'u' })]);
  });

  it('matches an unknown attempt on the same order, of any kind', () => {
    const unknownRefund = record('u', { status: 'unknown', kind: 'refund', fingerprint: 'fp-other', orderId: 'O-1' });
    expect(codes(run(sale({ orderId: 'O-1' }), unknownRefund))).toEqual(['UNKNOWN_OUTCOME']);
  });

  it('reads a pending older than pendingTimeout (strictly) as unknown', () => {
    const stale = record('p', { status: 'pending', pendingSince: NOW - settings.pendingTimeoutMs - 1 });
    expect(codes(run(sale(), stale))).toEqual(['UNKNOWN_OUTCOME']);
    const staleOnOrder = record('q', {
      status: 'pending',
      fingerprint: 'fp-other',
      orderId: 'O-1',
      pendingSince: NOW - settings.pendingTimeoutMs - 1,
    });
    expect(codes(run(sale({ orderId: 'O-1' }), staleOnOrder))).toEqual(['UNKNOWN_OUTCOME']);
  });

  it('matches regardless of window, up to 7 days old, and no longer after', () => {
    const atLimit = record('u', { status: 'unknown', createdAt: NOW - UNKNOWN_MAX_AGE_MS });
    expect(codes(run(sale(), atLimit))).toEqual(['UNKNOWN_OUTCOME']);
    const tooOld = record('u', { status: 'unknown', createdAt: NOW - UNKNOWN_MAX_AGE_MS - 1 });
    expect(run(sale(), tooOld)).toEqual([]);
    const staleTooOld = record('p', { status: 'pending', createdAt: NOW - UNKNOWN_MAX_AGE_MS - 1 });
    expect(run(sale({ orderId: 'O-1' }), { ...staleTooOld, orderId: 'O-1' })).toEqual([]);
  });
});

describe('DUPLICATE_CHARGE', () => {
  it('matches an approved attempt with the same fingerprint while less than window has passed since approval', () => {
    const justInside = record('a', { approvedAt: NOW - settings.windowMs + 1, createdAt: NOW - 20 * MINUTE });
    expect(run(sale(), justInside)).toEqual([
      expect.objectContaining({ code: 'DUPLICATE_CHARGE', attemptId: 'a', ageMs: settings.windowMs - 1 }),
    ]);
  });

  it('stops matching at exactly window', () => {
    expect(run(sale(), record('a', { approvedAt: NOW - settings.windowMs }))).toEqual([]);
    expect(run(sale(), record('a', { approvedAt: NOW - settings.windowMs - 1 }))).toEqual([]);
  });

  it('measures from approval, not creation', () => {
    const slowApproval = record('a', { createdAt: NOW - 30 * MINUTE, approvedAt: NOW - MINUTE });
    expect(codes(run(sale(), slowApproval))).toEqual(['DUPLICATE_CHARGE']);
  });

  it('ignores an approved attempt with another fingerprint', () => {
    expect(run(sale(), record('a', { fingerprint: 'fp-B', approvedAt: NOW - SECOND }))).toEqual([]);
  });

  it('passes what the message needs, and no card data', () => {
    const [finding] = run(sale(), record('a', { approvedAt: NOW - 2 * MINUTE }));
    expect(finding?.facts).toEqual({ amount: 1250, currency: 'CNY', last4: '1111', ageMs: 2 * MINUTE });
  });
});

describe('ORDER_ALREADY_PAID and ORDER_SAME_AMOUNT (no orderTotal)', () => {
  it('blocks the same amount on the same card when the order already has an approved sale', () => {
    const paid = record('a', { orderId: 'O-1' });
    const findings = run(sale({ orderId: 'O-1' }), paid);
    expect(findings).toEqual([expect.objectContaining({ code: 'ORDER_ALREADY_PAID', attemptId: 'a' })]);
    expect(verdict(findings)).toBe('block');
  });

  it('prompts for the same amount on another card', () => {
    const paid = record('a', { orderId: 'O-1', fingerprint: 'fp-B' });
    const findings = run(sale({ orderId: 'O-1' }), paid);
    expect(findings).toEqual([expect.objectContaining({ code: 'ORDER_SAME_AMOUNT', attemptId: 'a' })]);
    expect(verdict(findings)).toBe('prompt');
  });

  it('compares amounts only in the same currency: 1250 JPY is not the same amount as 1250 CNY', () => {
    const paid = record('a', { orderId: 'O-1', fingerprint: 'fp-JPY', currency: 'JPY' });
    expect(run(sale({ orderId: 'O-1', fingerprint: 'fp-CNY' }), paid)).toEqual([]);
  });

  it('lets another amount on the order through (a split payment)', () => {
    const paid = record('a', { orderId: 'O-1', fingerprint: 'fp-B', amount: 500 });
    expect(run(sale({ orderId: 'O-1' }), paid)).toEqual([]);
    expect(run(sale({ orderId: 'O-1' }), { ...paid })).toEqual([]);
  });

  it('considers approved sales of any age that are still retained', () => {
    const lastWeek = record('a', { orderId: 'O-1', createdAt: NOW - 6 * 86_400_000 });
    expect(codes(run(sale({ orderId: 'O-1' }), lastWeek))).toEqual(['ORDER_ALREADY_PAID']);
  });

  it('ignores orders when the sale has no orderId', () => {
    expect(run(sale(), record('a', { orderId: 'O-1', fingerprint: 'fp-B' }))).toEqual([]);
  });

  it('ignores refunds on the order, either side', () => {
    const approvedRefund = record('r', { kind: 'refund', fingerprint: 'fp-R', orderId: 'O-1', refundOf: 'x' });
    expect(run(sale({ orderId: 'O-1' }), approvedRefund)).toEqual([]);
    const paid = record('a', { orderId: 'O-1', fingerprint: 'fp-B' });
    expect(run(refund({ orderId: 'O-1' }), paid)).toEqual([]);
    expect(run(refund({ orderId: 'O-1' }), { ...paid })).toEqual([]);
  });
});

describe('ORDER_ALREADY_PAID with orderTotal (overpay)', () => {
  const first = record('a', { orderId: 'O-1', amount: 1000, fingerprint: 'fp-1000' });
  const second = record('b', { orderId: 'O-1', amount: 1000, fingerprint: 'fp-1000b' });

  it('blocks when approved sum + amount exceeds orderTotal', () => {
    const findings = run(sale({ orderId: 'O-1', orderTotal: 2500, amount: 501, fingerprint: 'fp-501' }), first, second);
    expect(codes(findings)).toEqual(['ORDER_ALREADY_PAID']);
    expect(findings[0]?.facts).toMatchObject({ orderId: 'O-1', paid: 2000 });
  });

  it('allows up to exactly orderTotal', () => {
    expect(run(sale({ orderId: 'O-1', orderTotal: 2500, amount: 500, fingerprint: 'fp-500' }), first, second)).toEqual([]);
  });

  it('applies only the overpay test: same amount on the same or another card is fine under the total', () => {
    const sameAmountSameCard = sale({ orderId: 'O-1', orderTotal: 3000, amount: 1000, fingerprint: 'fp-other' });
    expect(run(sameAmountSameCard, first)).toEqual([]);
    expect(run({ ...sameAmountSameCard, fingerprint: 'fp-9' }, first)).toEqual([]);
  });

  it('counts only approved sales: declined, voided and refund attempts do not add to the paid sum', () => {
    const declined = record('d', { orderId: 'O-1', amount: 5000, fingerprint: 'fp-d', status: 'declined' });
    const voided = record('v', { orderId: 'O-1', amount: 5000, fingerprint: 'fp-v', status: 'voided' });
    const approvedRefund = record('r', { orderId: 'O-1', amount: 5000, fingerprint: 'fp-r', kind: 'refund', refundOf: 'a' });
    expect(
      run(sale({ orderId: 'O-1', orderTotal: 2000, amount: 1000, fingerprint: 'fp-x' }), first, declined, voided, approvedRefund),
    ).toEqual([]);
  });
});

describe('refund rules', () => {
  const original = record('s', { amount: 1000, refunded: 400, fingerprint: 'fp-S' });

  it('allows a refund within what remains refundable', () => {
    expect(run(refund({ refundOf: 's', amount: 600 }), original)).toEqual([]);
  });

  it('blocks a refund above what remains: REFUND_EXCEEDS_CHARGE', () => {
    const findings = run(refund({ refundOf: 's', amount: 601 }), original);
    expect(findings).toEqual([expect.objectContaining({ code: 'REFUND_EXCEEDS_CHARGE', attemptId: 's' })]);
    expect(findings[0]?.facts).toMatchObject({ amount: 601, remaining: 600 });
    expect(verdict(findings)).toBe('block');
  });

  it('counts a fully refunded sale as found, with nothing left to refund', () => {
    const full = record('s', { amount: 1000, refunded: 1000, status: 'refunded' });
    expect(codes(run(refund({ refundOf: 's', amount: 1 }), full))).toEqual(['REFUND_EXCEEDS_CHARGE']);
  });

  it('counts a partly refunded (still approved) sale as found', () => {
    expect(codes(run(refund({ refundOf: 's', amount: 1000 }), original))).toEqual(['REFUND_EXCEEDS_CHARGE']);
  });

  it('prompts REFUND_ORIGINAL_NOT_FOUND when refundOf names nothing', () => {
    const findings = run(refund({ refundOf: 'missing' }));
    expect(findings).toEqual([expect.objectContaining({ code: 'REFUND_ORIGINAL_NOT_FOUND' })]);
    expect(findings[0]?.facts).toMatchObject({ refundOf: 'missing' });
    expect(verdict(findings)).toBe('prompt');
  });

  it.each(['voided', 'declined', 'cancelled', 'unknown', 'pending'] as const)('does not count a %s original as found', (status) => {
    const notApproved = record('s', { status, fingerprint: 'fp-S', approvedAt: undefined });
    expect(codes(run(refund({ refundOf: 's' }), notApproved))).toEqual(['REFUND_ORIGINAL_NOT_FOUND']);
  });

  it('does not count a refund attempt as the original', () => {
    const otherRefund = record('r0', { kind: 'refund', fingerprint: 'fp-R0', refundOf: 's' });
    expect(codes(run(refund({ refundOf: 'r0', amount: 1 }), otherRefund))).toEqual(['REFUND_ORIGINAL_NOT_FOUND']);
  });

  it('applies no refund rule without refundOf', () => {
    expect(run(refund())).toEqual([]);
  });

  it('applies no refund rule to a sale', () => {
    expect(run(sale({ fingerprint: 'fp-X', refundOf: 'missing' }))).toEqual([]);
  });
});

describe('refund rules: open refunds of the same sale (SPEC §3)', () => {
  const original = record('s', { amount: 1000, refunded: 400, fingerprint: 'fp-S' });
  const openRefund = (id: string, patch: Partial<AttemptRecord>) =>
    record(id, {
      kind: 'refund',
      refundOf: 's',
      fingerprint: `fp-${id}`,
      amount: 300,
      status: 'unknown',
      approvedAt: undefined,
      createdAt: NOW - MINUTE,
      ...patch,
    });

  it('holds a refund on any card with UNKNOWN_OUTCOME, and counts the unknown one against what remains', () => {
    const unknown = openRefund('u', {});
    expect(codes(run(refund({ refundOf: 's', amount: 300 }), original, unknown))).toEqual(['UNKNOWN_OUTCOME']);
    const findings = run(refund({ refundOf: 's', amount: 301 }), original, unknown);
    expect(codes(findings)).toEqual(['REFUND_EXCEEDS_CHARGE', 'UNKNOWN_OUTCOME']);
    expect(findings.find((f) => f.code === 'UNKNOWN_OUTCOME')).toMatchObject({ attemptId: 'u', ageMs: MINUTE, facts: { amount: 300 } });
    expect(findings.find((f) => f.code === 'REFUND_EXCEEDS_CHARGE')?.facts).toMatchObject({ amount: 301, remaining: 300 });
  });

  it('holds a refund with IN_FLIGHT while another refund of the sale is pending, and as UNKNOWN_OUTCOME once it is stale', () => {
    const pending = openRefund('p', { status: 'pending', createdAt: NOW - SECOND });
    expect(run(refund({ refundOf: 's', amount: 100 }), original, pending)).toEqual([
      expect.objectContaining({ code: 'IN_FLIGHT', attemptId: 'p' }),
    ]);
    const stale = openRefund('p', { status: 'pending', createdAt: NOW - 2 * MINUTE - 1 });
    expect(codes(run(refund({ refundOf: 's', amount: 100 }), original, stale))).toEqual(['UNKNOWN_OUTCOME']);
  });

  it('sums every open refund: nothing may remain, and what remains never reads below zero', () => {
    const findings = run(
      refund({ refundOf: 's', amount: 1 }),
      original,
      openRefund('u', {}),
      openRefund('v', { amount: 400, createdAt: NOW - HOUR }),
    );
    expect(codes(findings)).toEqual(['REFUND_EXCEEDS_CHARGE', 'UNKNOWN_OUTCOME']);
    expect(findings.find((f) => f.code === 'REFUND_EXCEEDS_CHARGE')?.facts).toMatchObject({ remaining: 0 });
    // The most recent open refund is the one named.
    expect(findings.find((f) => f.code === 'UNKNOWN_OUTCOME')?.attemptId).toBe('u');
  });

  it.each(['approved', 'declined', 'cancelled', 'voided'] as const)('neither holds nor counts a %s refund of the sale', (status) => {
    expect(run(refund({ refundOf: 's', amount: 600 }), original, openRefund('r', { status }))).toEqual([]);
  });

  it('stops holding and counting an unknown refund 7 days after it last became pending', () => {
    const old = openRefund('u', { createdAt: NOW - UNKNOWN_MAX_AGE_MS - 1 });
    expect(run(refund({ refundOf: 's', amount: 600 }), original, old)).toEqual([]);
  });

  it('holds refunds of a sale it cannot find as well', () => {
    expect(codes(run(refund({ refundOf: 's', amount: 1 }), openRefund('u', {})))).toEqual(['REFUND_ORIGINAL_NOT_FOUND', 'UNKNOWN_OUTCOME']);
  });

  it('does not hold a refund of another sale, nor a sale', () => {
    const unknown = openRefund('u', {});
    expect(run(refund({ refundOf: 'other-sale' }), original, unknown)).toEqual([
      expect.objectContaining({ code: 'REFUND_ORIGINAL_NOT_FOUND' }),
    ]);
    expect(run(sale({ fingerprint: 'fp-X' }), original, unknown)).toEqual([]);
  });
});

describe('several reasons at once', () => {
  it('reports every matching reason, and the verdict is the strictest', () => {
    const pending = record('p', { status: 'pending', createdAt: NOW - SECOND, approvedAt: undefined });
    const approved = record('a', { approvedAt: NOW - MINUTE });
    const otherCard = record('o', { fingerprint: 'fp-B', orderId: 'O-1' });
    const findings = run(sale({ orderId: 'O-1' }), pending, approved, otherCard);
    expect(codes(findings)).toEqual(['DUPLICATE_CHARGE', 'IN_FLIGHT', 'ORDER_SAME_AMOUNT']);
    expect(verdict(findings)).toBe('block');
  });

  it('reports one finding per code: the most recent match, whatever the order of the view', () => {
    const older = record('old', { approvedAt: NOW - 5 * MINUTE });
    const newer = record('new', { approvedAt: NOW - MINUTE });
    for (const records of [
      [older, newer],
      [newer, older],
    ]) {
      const findings = run(sale(), ...records);
      expect(findings).toHaveLength(1);
      expect(findings[0]).toMatchObject({ code: 'DUPLICATE_CHARGE', attemptId: 'new', ageMs: MINUTE });
    }
  });

  it('picks the most recent pending of several, on fingerprint or order', () => {
    const a = record('a', { status: 'pending', createdAt: NOW - 30 * SECOND });
    const b = record('b', { status: 'pending', createdAt: NOW - 10 * SECOND, fingerprint: 'fp-B', orderId: 'O-1' });
    for (const records of [
      [a, b],
      [b, a],
    ]) {
      expect(run(sale({ orderId: 'O-1' }), ...records)).toEqual([
        expect.objectContaining({ code: 'IN_FLIGHT', attemptId: 'b', ageMs: 10 * SECOND }),
      ]);
    }
  });
});

describe('VERDICT_OF and strictest', () => {
  it('maps each code to its SPEC §3 verdict; warnings have none', () => {
    expect(VERDICT_OF).toEqual({
      IN_FLIGHT: 'block',
      UNKNOWN_OUTCOME: 'block',
      DUPLICATE_CHARGE: 'prompt',
      ORDER_ALREADY_PAID: 'block',
      ORDER_SAME_AMOUNT: 'prompt',
      REFUND_EXCEEDS_CHARGE: 'block',
      REFUND_ORIGINAL_NOT_FOUND: 'prompt',
      STORAGE_UNAVAILABLE: undefined,
      CLOCK_ANOMALY: undefined,
    });
  });

  it('picks block over prompt over allow, and ignores warnings', () => {
    expect(strictest([])).toBe('allow');
    expect(strictest([undefined, undefined])).toBe('allow');
    expect(strictest(['allow', undefined, 'prompt'])).toBe('prompt');
    expect(strictest(['block', 'prompt', 'allow'])).toBe('block');
    expect(strictest(['prompt', undefined, 'block', 'prompt'])).toBe('block');
    expect(strictest(new Set(['prompt'] as const))).toBe('prompt');
  });
});

describe('statusAt', () => {
  const pending = record('p', { status: 'pending', pendingSince: NOW - 100 * SECOND });
  const bySince = view();

  it('reads a pending as unknown only when strictly older than pendingTimeout since pendingSince', () => {
    expect(statusAt(pending, NOW, 100 * SECOND, bySince)).toBe('pending');
    expect(statusAt(pending, NOW + 1, 100 * SECOND, bySince)).toBe('unknown');
    expect(statusAt(pending, NOW, 99 * SECOND, bySince)).toBe('unknown');
  });

  it('counts the age from where the index says it counts (a pending first seen dated ahead)', () => {
    const ahead = record('a', { status: 'pending', pendingSince: NOW + 3600 * SECOND });
    const seenAt = { pendingFrom: () => NOW - 121 * SECOND };
    expect(statusAt(ahead, NOW, 120 * SECOND, bySince)).toBe('pending');
    expect(statusAt(ahead, NOW, 120 * SECOND, seenAt)).toBe('unknown');
  });

  it('leaves every other status as it is, however old', () => {
    for (const status of ['unknown', 'approved', 'declined', 'cancelled', 'voided', 'refunded'] as const) {
      expect(statusAt(record('x', { status, pendingSince: 0 }), NOW, 1, bySince)).toBe(status);
    }
  });
});
