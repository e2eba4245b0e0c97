import { describe, expect, it } from 'vitest';
import { conflictsOf } from '../../src/shared/conflicts.js';
import type { SharedRow } from '../../src/shared/remote.js';
import type { AttemptRecord } from '../../src/types.js';
import { sampleRecord } from '../helpers/records.js';

const MINUTE = 60_000;
const at = 1_780_000_000_000;
const approved = (id: string, patch: Partial<AttemptRecord>): AttemptRecord =>
  sampleRecord(id, {
    status: 'approved',
    approvedAt: at,
    updatedAt: at,
    merchantId: 'M1',
    orderId: 'O-1',
    amount: 1_250,
    currency: 'CNY',
    ...patch,
  });
const row = (record: AttemptRecord, skew = 0): SharedRow => ({ record, skew, version: 1, changedAt: at });

describe('conflictsOf: what a catch-up reports', () => {
  it('another approval of the same fingerprint inside window: DUPLICATE_CHARGE, on the database’s clock', () => {
    const own = approved('own', { fingerprint: 'fp', orderId: undefined });
    expect(
      conflictsOf(own, 0, [row(approved('other', { fingerprint: 'fp', orderId: undefined, approvedAt: at + 9 * MINUTE }))], 10 * MINUTE),
    ).toEqual([{ code: 'DUPLICATE_CHARGE', other: 'other' }]);
    // 11 minutes apart once each writer's skew is added: outside the window.
    expect(
      conflictsOf(
        own,
        0,
        [row(approved('other', { fingerprint: 'fp', orderId: undefined, approvedAt: at + 9 * MINUTE }), 2 * MINUTE)],
        10 * MINUTE,
      ),
    ).toEqual([]);
  });

  it('another approved sale of the same order and amount: ORDER_ALREADY_PAID, only in the same currency', () => {
    const own = approved('own', { fingerprint: 'fp-a' });
    expect(conflictsOf(own, 0, [row(approved('other', { fingerprint: 'fp-b' }))], 10 * MINUTE)).toEqual([
      { code: 'ORDER_ALREADY_PAID', other: 'other' },
    ]);
    expect(conflictsOf(own, 0, [row(approved('other', { fingerprint: 'fp-b', currency: 'JPY' }))], 10 * MINUTE)).toEqual([]);
  });

  it('with orderTotal, only an overpayment (split tender across devices is fine)', () => {
    const own = approved('own', { fingerprint: 'fp-a', amount: 600, orderTotal: 1_000 });
    expect(conflictsOf(own, 0, [row(approved('other', { fingerprint: 'fp-b', amount: 400 }))], 10 * MINUTE)).toEqual([]);
    expect(conflictsOf(own, 0, [row(approved('other', { fingerprint: 'fp-b', amount: 500 }))], 10 * MINUTE)).toEqual([
      { code: 'ORDER_ALREADY_PAID', other: 'other' },
    ]);
  });

  it('with orderTotal, a payment counts less what was refunded of it (the rest paid on another card after a partial refund)', () => {
    const own = approved('own', { fingerprint: 'fp-a', amount: 500, orderTotal: 1_000 });
    const partlyRefunded = approved('other', { fingerprint: 'fp-b', amount: 1_000, refunded: 500 });
    expect(conflictsOf(own, 0, [row(partlyRefunded)], 10 * MINUTE)).toEqual([]);
    expect(conflictsOf(own, 0, [row({ ...partlyRefunded, refunded: 499 })], 10 * MINUTE)).toEqual([
      { code: 'ORDER_ALREADY_PAID', other: 'other' },
    ]);
  });
});
