/**
 * atk20: redact's new expiry and security-code patterns (src/redact.ts
 * NAMED_EXPIRY, SECURITY_CODE). A card expiry is a month and a year; a full
 * date (year, month AND day) never is one, but after a label ("expires",
 * 有效期至: the coupon wording on every Chinese receipt) the new YYYY-MM
 * branch masks its year and month and leaves "-31" behind. And the common
 * "CVV code 123" / "CVV number: 123" are missed.
 */
import { describe, expect, it } from 'vitest';
import { redact } from '../../src/redact.js';

describe('atk20: redact, false positives on full dates', () => {
  it.each([
    ['优惠券有效期至2026-12-31'],
    ['有效期至 2026.12.31 前使用'],
    ['Gift voucher, expires 2026-12-31'],
    ['Membership expiry date 2027-01-15'],
  ])('a full date after an expiry label is not a card expiry and is kept whole: %s', (text) => {
    expect(redact(text)).toBe(text);
  });

  it('a card expiry after a label is still masked (passing pin)', () => {
    expect(redact('有效期2028-06')).not.toContain('2028');
    expect(redact('exp 12/29')).not.toContain('12/29');
  });
});

describe('atk20: redact, misses', () => {
  it.each([['CVV code 123'], ['CVV number: 123'], ['CVC value 123']])(
    'a security code after "CVV code"-style wording is masked: %s',
    (text) => {
      expect(redact(text)).not.toContain('123');
    },
  );
});
