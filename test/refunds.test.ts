import { describe, expect, it } from 'vitest';
import { GuardStateError } from '../src/errors.js';
import { makeRecord } from '../src/record.js';
import { applyRefund, externalRefund, overGrown, overRefund, revokeRefund, voidedOver } from '../src/refunds.js';
import type { AttemptRecord } from '../src/types.js';

const T0 = 1_767_225_600_000;

function record(id: string, patch: Partial<AttemptRecord> = {}): AttemptRecord {
  return makeRecord({
    v: 1,
    id,
    idempotencyKey: id,
    fingerprint: `fp-${id}`,
    merchantId: 'M-1',
    kind: 'sale',
    amount: 1000,
    currency: 'CNY',
    status: 'approved',
    createdAt: T0,
    updatedAt: T0,
    pendingSince: T0,
    approvedAt: T0,
    refunded: 0,
    ...patch,
  });
}
const refund = (id: string, amount: number, status: AttemptRecord['status'] = 'approved') =>
  record(id, { kind: 'refund', refundOf: 's', amount, status });

describe('applyRefund', () => {
  it('adds an approved refund to the sale, listed with its amount', () => {
    const after = applyRefund(record('s'), refund('r1', 400), T0 + 1);
    expect(after).toMatchObject({ status: 'approved', refunded: 400, updatedAt: T0 + 1, refunds: [{ id: 'r1', amount: 400 }] });
    expect(after?.refunds?.[0]).not.toHaveProperty('over');
  });

  it('never lists a refund as zero: beyond what remains, it keeps its amount and the excess as `over`', () => {
    const full = applyRefund(record('s'), refund('r1', 1000), T0) as AttemptRecord;
    const twice = applyRefund(full, refund('r2', 1000), T0 + 1);
    expect(twice).toMatchObject({
      status: 'refunded',
      refunded: 1000,
      refunds: [
        { id: 'r1', amount: 1000 },
        { id: 'r2', amount: 1000, over: 1000 },
      ],
    });
    const partly = applyRefund(applyRefund(record('s'), refund('r1', 700), T0) as AttemptRecord, refund('r2', 500), T0);
    expect(partly).toMatchObject({
      status: 'refunded',
      refunded: 1000,
      refunds: [
        { id: 'r1', amount: 700 },
        { id: 'r2', amount: 500, over: 200 },
      ],
    });
  });

  it('is idempotent, and leaves a sale that was never approved alone', () => {
    const once = applyRefund(record('s'), refund('r1', 400), T0) as AttemptRecord;
    expect(applyRefund(once, refund('r1', 400), T0)).toBeUndefined();
    // On a sale voided meanwhile, the whole refund is money to recover: listed as over, the sale stays voided.
    expect(applyRefund(record('s', { status: 'voided' }), refund('r1', 400), T0)).toMatchObject({
      status: 'voided',
      refunded: 0,
      refunds: [{ id: 'r1', amount: 400, over: 400 }],
    });
    expect(applyRefund(refund('x', 400), refund('r1', 400), T0)).toBeUndefined();
  });
});

describe('revokeRefund', () => {
  it('takes back what a voided refund counted', () => {
    const once = applyRefund(record('s'), refund('r1', 400), T0) as AttemptRecord;
    expect(revokeRefund(once, refund('r1', 400), T0)).toMatchObject({ status: 'approved', refunded: 0, refunds: [] });
    expect(revokeRefund(once, refund('r2', 400), T0)).toBeUndefined();
  });

  it('lets over-refunds count in the room the voided refund frees, in the order they were listed', () => {
    let s = record('s');
    for (const [id, amount] of [
      ['r1', 600],
      ['r2', 700],
      ['r3', 500],
    ] as const) {
      s = applyRefund(s, refund(id, amount), T0) as AttemptRecord;
    }
    expect(s.refunds).toEqual([
      { id: 'r1', amount: 600 },
      { id: 'r2', amount: 700, over: 300 },
      { id: 'r3', amount: 500, over: 500 },
    ]);
    const after = revokeRefund(s, refund('r1', 600), T0);
    // r2's 700 all counts now, r3 fills the last 300.
    expect(after).toMatchObject({
      status: 'refunded',
      refunded: 1000,
      refunds: [
        { id: 'r2', amount: 700 },
        { id: 'r3', amount: 500, over: 200 },
      ],
    });
    // Voiding an over-refund takes back only what it counted.
    expect(revokeRefund(s, refund('r3', 500), T0)).toMatchObject({
      status: 'refunded',
      refunded: 1000,
      refunds: [
        { id: 'r1', amount: 600 },
        { id: 'r2', amount: 700, over: 300 },
      ],
    });
  });

  it('leaves a voided sale voided: reversing one of its refunds does not bring it back, and takes it off the money to recover', () => {
    const once = applyRefund(record('s'), refund('r1', 400), T0) as AttemptRecord;
    const voided = voidedOver(applyRefund(once, refund('r2', 100), T0) as AttemptRecord, T0);
    const revoked = revokeRefund(voided, refund('r1', 400), T0 + 1);
    expect(revoked).toMatchObject({ status: 'voided', refunded: 0, refunds: [{ id: 'r2', amount: 100, over: 100 }], updatedAt: T0 + 1 });
    // Not listed (never counted, or taken back already): nothing changes.
    expect(revokeRefund(revoked as AttemptRecord, refund('r1', 400), T0 + 2)).toBeUndefined();
  });

  it('reads lists written before `over` existed (the amount counted) and ignores a mangled `over`', () => {
    const old = record('s', {
      refunded: 1000,
      status: 'refunded',
      refunds: [
        { id: 'r1', amount: 1000 },
        { id: 'r2', amount: 0 },
      ],
    });
    expect(revokeRefund(old, refund('r1', 1000), T0)).toMatchObject({
      status: 'approved',
      refunded: 0,
      refunds: [{ id: 'r2', amount: 0 }],
    });
    const mangled = record('s', {
      refunded: 400,
      refunds: [{ id: 'r1', amount: 400, over: 'x' } as unknown as { id: string; amount: number }],
    });
    expect(revokeRefund(mangled, refund('r1', 400), T0)).toMatchObject({ refunded: 0 });
  });
});

describe('externalRefund', () => {
  it('is the amount asked, or the rest', () => {
    expect(externalRefund(record('s', { refunded: 300 }), 200, [])).toBe(200);
    expect(externalRefund(record('s', { refunded: 300 }), undefined, [])).toBe(700);
  });

  it('counts open refund attempts as refunded, and names them when it refuses', () => {
    const open = [refund('u1', 300, 'unknown'), refund('p1', 200, 'pending')];
    expect(externalRefund(record('s', { refunded: 100 }), 400, open)).toBe(400);
    expect(externalRefund(record('s', { refunded: 100 }), undefined, open)).toBe(400);
    let error: unknown;
    try {
      externalRefund(record('s', { refunded: 100 }), 401, open);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GuardStateError);
    expect(error).toMatchObject({ code: 'REFUND_EXCEEDS_CHARGE' });
    expect((error as Error).message).toMatch(/401 exceeds .* \(400; open refunds: \[u1,p1\]\)/);
  });

  it('refuses "the rest" when open refunds leave none, rather than recording a refund of 0', () => {
    expect(() => externalRefund(record('s'), undefined, [refund('u1', 1000, 'unknown')])).toThrow(
      /the rest exceeds .* \(0; open refunds: \[u1\]\)/,
    );
    // An override let open refunds exceed the sale: still nothing, not a negative refund.
    expect(() => externalRefund(record('s'), 1, [refund('u1', 800, 'unknown'), refund('u2', 800, 'unknown')])).toThrow(GuardStateError);
  });
});

describe('overRefund', () => {
  it('reports a refund that paid out beyond what remained: a journal entry and a settle event of the sale', () => {
    const s = applyRefund(record('s'), refund('r1', 800), T0) as AttemptRecord;
    const r2 = refund('r2', 500);
    const after = applyRefund(s, r2, T0 + 5) as AttemptRecord;
    const report = overRefund(s, after, r2, T0 + 5);
    expect(report?.entry).toEqual({ at: T0 + 5, type: 'settle', attemptId: 's', amount: 300, detail: 'over-refund by r2' });
    expect(report?.event).toEqual({ type: 'settle', record: after, from: 'approved' });
  });

  it('says nothing of a refund that fit', () => {
    const r1 = refund('r1', 1000);
    const s = record('s');
    expect(overRefund(s, applyRefund(s, r1, T0) as AttemptRecord, r1, T0)).toBeUndefined();
  });
});

describe('voidedOver', () => {
  it('voids a sale refunded elsewhere meanwhile: every refund listed is over (money to recover), nothing counts as refunded', () => {
    const sale = applyRefund(applyRefund(record('s'), refund('r1', 300), T0 + 1)!, refund('r2', 200), T0 + 2)!;
    expect(sale).toMatchObject({ status: 'approved', refunded: 500 });
    const voided = voidedOver(sale, T0 + 3);
    expect(voided).toMatchObject({
      status: 'voided',
      refunded: 0,
      updatedAt: T0 + 3,
      refunds: [
        { id: 'r1', amount: 300, over: 300 },
        { id: 'r2', amount: 200, over: 200 },
      ],
    });
    // A refund that reaches it later is over as a whole too, and listed once.
    expect(applyRefund(voided, refund('r3', 100), T0 + 4)?.refunds?.at(-1)).toEqual({ id: 'r3', amount: 100, over: 100 });
    expect(applyRefund(voided, refund('r1', 300), T0 + 4)).toBeUndefined();
  });

  it('a sale never refunded: voided, no refunds list', () => {
    const voided = voidedOver(record('s'), T0 + 1);
    expect(voided.status).toBe('voided');
    expect(voided.refunds).toBeUndefined();
  });
});

describe('overGrown: the money to recover one version of a sale lists beyond others', () => {
  const sale = (refunds: { id: string; amount: number; over?: number }[]) => record('s', { refunds });
  it('finds an over a refund grew', () => {
    expect(overGrown(sale([{ id: 'a', amount: 600, over: 300 }]), sale([{ id: 'a', amount: 600 }]))).toEqual([
      { id: 'a', amount: 600, over: 300 },
    ]);
  });

  it('finds none when the same sum of over is listed on another refund (two rows merged in the other order)', () => {
    const before = sale([
      { id: 'a', amount: 600, over: 100 },
      { id: 'b', amount: 500 },
    ]);
    const after = sale([
      { id: 'a', amount: 600 },
      { id: 'b', amount: 500, over: 100 },
    ]);
    expect(overGrown(after, before)).toEqual([]);
  });

  it('finds none when it adds up the overs two other versions each listed (each is theirs to report)', () => {
    const after = sale([
      { id: 'a', amount: 600, over: 100 },
      { id: 'b', amount: 500, over: 100 },
    ]);
    expect(overGrown(after, sale([{ id: 'a', amount: 600, over: 100 }]), sale([{ id: 'b', amount: 500, over: 100 }]))).toEqual([]);
  });
});
