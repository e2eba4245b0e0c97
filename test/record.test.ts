import { describe, expect, it } from 'vitest';
import { makeRecord, recordProblem, withChanges } from '../src/record.js';
import type { AttemptRecord } from '../src/types.js';
import { sampleRecord } from './helpers/records.js';

describe('makeRecord', () => {
  it('builds one frozen shape, common fields first, rare ones only when present', () => {
    const plain = makeRecord(sampleRecord('a'));
    const rich = makeRecord({ ...sampleRecord('b'), operator: 'alice', refundOf: 'x', terminalId: 'T-01' });
    expect(Object.isFrozen(plain)).toBe(true);
    expect(Object.keys(rich).slice(0, Object.keys(plain).length)).toEqual(Object.keys(plain));
    expect(Object.keys(plain)).not.toContain('operator');
    expect(rich).toMatchObject({ operator: 'alice', refundOf: 'x', terminalId: 'T-01' });
  });

  it('freezes what a record holds too: refunds, override and recovery cannot be edited through get()', () => {
    const record = makeRecord({
      ...sampleRecord('a'),
      refunds: [{ id: 'r1', amount: 100 }],
      override: { operator: 'alice', reason: 'repeat customer', lifted: ['DUPLICATE_CHARGE'] },
      recovery: { tries: 1 },
    });
    expect(() => record.refunds?.push({ id: 'r2', amount: 1 })).toThrow(TypeError);
    expect(() => Object.assign(record.refunds?.[0] ?? {}, { amount: 1 })).toThrow(TypeError);
    expect(() => Object.assign(record.override ?? {}, { operator: 'mallory' })).toThrow(TypeError);
    expect(() => Object.assign(record.recovery ?? {}, { tries: 0 })).toThrow(TypeError);
  });

  it('drops keys it does not know and normalises kind', () => {
    const odd = { ...sampleRecord('a'), kind: 'weird', extra: 1 } as unknown as AttemptRecord;
    const record = makeRecord(odd);
    expect(record.kind).toBe('sale');
    expect(record).not.toHaveProperty('extra');
  });

  it('withChanges makes a new frozen version and leaves the old one as it was', () => {
    const before = makeRecord(sampleRecord('a'));
    const after = withChanges(before, { status: 'approved', approvedAt: 5 });
    expect(after).toMatchObject({ id: 'a', status: 'approved', approvedAt: 5 });
    expect(before.status).toBe('pending');
    expect(Object.keys(after)).toEqual(Object.keys(before));
  });
});

describe('recordProblem', () => {
  it('accepts a record as the guard writes it, and one with fields from a newer release', () => {
    expect(recordProblem(sampleRecord('a'))).toBeUndefined();
    expect(
      recordProblem({
        ...sampleRecord('a'),
        refunds: [{ id: 'r', amount: 1 }],
        approvedAt: 1,
        orderId: 'O',
        orderTotal: 2,
        somethingNew: true,
      }),
    ).toBeUndefined();
  });

  it.each([
    ['not an object', 'x', /not a record object/],
    ['an array', [], /not a record object/],
    ['another version', { ...sampleRecord('a'), v: 2 }, /"v": 1/],
    ['no id', { ...sampleRecord('a'), id: '' }, /string "id"/],
    ['an unknown status', { ...sampleRecord('a'), status: 'paid' }, /unknown status/],
    ['no fingerprint', { ...sampleRecord('a'), fingerprint: 7 }, /no fingerprint/],
    ['a string amount', { ...sampleRecord('a'), amount: '1250' }, /amount is not a number/],
    ['no pendingSince', { ...sampleRecord('a'), pendingSince: undefined }, /pendingSince is not a number/],
    ['a null merchantId', { ...sampleRecord('a'), merchantId: null }, /merchantId is not a string/],
    ['a numeric orderId', { ...sampleRecord('a'), orderId: 42 }, /orderId is not a string/],
    ['a string approvedAt', { ...sampleRecord('a'), approvedAt: '2026-01-01' }, /approvedAt is not a number/],
    ['a string orderTotal', { ...sampleRecord('a'), orderTotal: '5000' }, /orderTotal is not a number/],
    ['refunds that are not a list', { ...sampleRecord('a'), refunds: { r: 1 } }, /refunds is not a list/],
    ['a refund entry without an amount', { ...sampleRecord('a'), refunds: [{ id: 'r' }] }, /refunds is not a list/],
  ])('refuses %s', (_, value, problem) => {
    expect(recordProblem(value)).toMatch(problem);
  });
});
