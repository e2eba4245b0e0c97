import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redact } from '../src/redact.js';

describe('redact', () => {
  it('masks card numbers however they are spaced', () => {
    for (const text of ['4111111111111111', '4111 1111 1111 1111', '4111-1111-1111-1111', '6222 0202 0011 2233 446', '378282246310005']) {
      expect(redact(`card ${text} declined`)).toBe('card [card number removed] declined');
    }
  });

  it('masks expiry dates and security codes', () => {
    expect(redact('exp 12/29, CVV: 123, pin 1234')).toBe('exp [expiry removed], CVV: [removed], pin [removed]');
  });

  it('leaves ordinary processor text alone', () => {
    for (const text of ['Insufficient funds', 'Do not honour (05)', 'auth A1B2C3', 'ref ch_3NqA0x2eZvKYlo2C', 'amount 1250']) {
      expect(redact(text)).toBe(text);
    }
  });

  it('never leaves a run of 12+ digits (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.stringMatching(/^\d{12,19}$/), fc.string(), (before, digits, after) => {
        expect(redact(`${before} ${digits} ${after}`)).not.toMatch(/\d{12}/);
      }),
    );
  });
});
