/** Major units as exports write them → minor units, exactly (never through floating point). */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { currencyExponent, toHalfWidth, toMinorUnits } from '../../src/reconcile/amount.js';

describe('toMinorUnits', () => {
  test.each([
    ['0.10', 'CNY', 10],
    ['12.50', 'CNY', 1250],
    ['1,234.00', 'CNY', 123400],
    ['12,345,678.91', 'USD', 1234567891],
    ['12.5', 'CNY', 1250],
    ['12', 'CNY', 1200],
    ['-12.50', 'CNY', -1250],
    ['(12.50)', 'USD', -1250],
    ['¥12.50', 'CNY', 1250],
    ['￥ 12.50', 'CNY', 1250],
    ['$1,234.00', 'USD', 123400],
    ['１２．５０', 'CNY', 1250],
    ['１，２３４．００', 'CNY', 123400],
    ['12.500', 'CNY', 1250],
    ['1,500', 'JPY', 1500],
    ['1500.00', 'JPY', 1500],
    ['1.234', 'KWD', 1234],
    ['0.1', 'KWD', 100],
    ['0.29', 'USD', 29], // 0.29 * 100 is 28.999999999999996 in floating point
    ['1.15', 'EUR', 115],
    ['0', 'CNY', 0],
    ['90071992547409.91', 'USD', 9007199254740991],
    ['1 234.50', 'EUR', 123450],
    ['1\u00a0234\u00a0567.00', 'EUR', 123456700],
    ['- ¥12.50', 'CNY', -1250],
    ['( 12.50 )', 'CNY', -1250],
  ])('%s %s → %i', (text, currency, minor) => {
    expect(toMinorUnits(text, currency)).toBe(minor);
  });

  test.each([
    ['12.345', 'CNY', /more decimals than CNY has \(2\)/],
    ['12.5', 'JPY', /more decimals than JPY has \(0\)/],
    ['1,23.00', 'CNY', /is not an amount/],
    ['12,50', 'CNY', /is not an amount/],
    ['1e3', 'CNY', /is not an amount/],
    ['', 'CNY', /is not an amount/],
    ['abc', 'CNY', /is not an amount/],
    ['90071992547409.92', 'USD', /too large/],
    ['12.50', 'XYZ1', /not an ISO 4217 code/],
    // Not thousands: a group never starts with 0, and a space parts groups of three only (else 12 50 read as 1,250).
    ['0,500', 'KWD', /is not an amount/],
    ['0,500', 'CNY', /is not an amount/],
    ['12 50', 'CNY', /is not an amount/],
    ['1 2.50', 'CNY', /is not an amount/],
    ['1,234 567.00', 'CNY', /is not an amount/],
    // Well-formed but no currency: Intl formats any three letters with 2 decimals, which is a guess, not an exponent.
    ['12.50', 'RMB', /not an ISO 4217 code/],
    ['12.50', 'ABC', /not an ISO 4217 code/],
  ])('%s %s is refused with a sentence', (text, currency, why) => {
    expect(toMinorUnits(text, currency)).toMatch(why);
  });

  test('any minor amount written in major units, grouped or not, reads back exactly', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('JPY', 'CNY', 'KWD'),
        fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }),
        fc.boolean(),
        (currency, minor, grouped) => {
          const exponent = currencyExponent(currency)!;
          const digits = minor.toString().padStart(exponent + 1, '0');
          const whole = digits.slice(0, digits.length - exponent);
          const text = (grouped ? whole.replace(/\B(?=(\d{3})+$)/g, ',') : whole) + (exponent ? `.${digits.slice(-exponent)}` : '');
          expect(toMinorUnits(text, currency)).toBe(Number(minor));
        },
      ),
    );
  });
});

test('currencyExponent follows Intl (the table formatMoney divides by)', () => {
  expect([currencyExponent('CNY'), currencyExponent('JPY'), currencyExponent('KWD'), currencyExponent('cny')]).toEqual([
    2,
    0,
    3,
    undefined,
  ]);
});

test('toHalfWidth turns full-width digits and signs to ASCII, leaving Chinese text', () => {
  expect(toHalfWidth('金额：１，２３４．００（元）')).toBe('金额:1,234.00(元)');
});
