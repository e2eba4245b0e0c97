import { describe, expect, it } from 'vitest';
import { GuardInputError } from '../src/errors.js';
import { validateOutcome } from '../src/outcome.js';

function inputError(outcome: unknown): GuardInputError {
  try {
    validateOutcome(outcome);
  } catch (error) {
    expect(error).toBeInstanceOf(GuardInputError);
    expect((error as Error).name).toBe('GuardInputError');
    expect((error as GuardInputError).code).toBe('INVALID_OUTCOME');
    return error as GuardInputError;
  }
  throw new Error(`expected ${JSON.stringify(outcome)} to be rejected`);
}

describe('validateOutcome: accepted', () => {
  it.each(['approved', 'declined', 'unknown', 'cancelled', 'voided'] as const)('passes %s through with its details', (status) => {
    const outcome = { status, authCode: 'A1B2C3', processorRef: 'ch_123', code: '51', message: 'insufficient funds' };
    expect(validateOutcome(outcome)).toEqual(outcome);
    expect(validateOutcome({ status })).toEqual({ status });
  });

  it('passes a refund with and without an amount', () => {
    expect(validateOutcome({ status: 'refunded' })).toEqual({ status: 'refunded' });
    expect(validateOutcome({ status: 'refunded', amount: 500 })).toEqual({ status: 'refunded', amount: 500 });
    expect(validateOutcome({ status: 'refunded', amount: Number.MAX_SAFE_INTEGER })).toEqual({ status: 'refunded', amount: Number.MAX_SAFE_INTEGER });
  });

  it('returns a clean copy: unknown keys dropped, details absent when not given', () => {
    const input = { status: 'approved', authCode: 'X', extra: 'dropped', pan: '4111111111111111' };
    const clean = validateOutcome(input);
    expect(clean).toEqual({ status: 'approved', authCode: 'X' });
    expect(clean).not.toBe(input);
    expect(validateOutcome({ status: 'refunded', amount: 5, authCode: 'X' })).toEqual({ status: 'refunded', amount: 5 });
  });

  it('accepts details up to 512 characters', () => {
    expect(validateOutcome({ status: 'declined', message: 'x'.repeat(512) })).toMatchObject({ status: 'declined' });
  });
});

describe('validateOutcome: rejected', () => {
  it.each([null, undefined, 'approved', 42])('rejects %o as an outcome', (outcome) => {
    expect(inputError(outcome).field).toBe('outcome');
  });

  it.each(['pending', 'paid', 'APPROVED', undefined, 1])('rejects status %o, naming the allowed ones', (status) => {
    const error = inputError({ status });
    expect(error.field).toBe('status');
    expect(error.message).toContain('`status`');
    expect(error.message).toContain("'approved'");
  });

  it('says pending comes back only through resume', () => {
    expect(inputError({ status: 'pending' }).message).toMatch(/resume/);
  });

  it.each(['approved', 'declined', 'voided'])('rejects an amount on %s', (status) => {
    const error = inputError({ status, amount: 100 });
    expect(error.field).toBe('amount');
    expect(error.message).toMatch(/refunded/);
  });

  it.each([12.5, 0, -1, '500', Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('rejects refund amount %o', (amount) => {
    const error = inputError({ status: 'refunded', amount });
    expect(error.field).toBe('amount');
    expect(error.message).toContain('`amount`');
  });

  it.each(['authCode', 'processorRef', 'code', 'message'])('rejects a too long or non-string %s', (field) => {
    for (const value of ['x'.repeat(513), 42, { nested: true }]) {
      const error = inputError({ status: 'approved', [field]: value });
      expect(error.field).toBe(field);
      expect(error.message).toContain(`\`${field}\``);
    }
  });
});
