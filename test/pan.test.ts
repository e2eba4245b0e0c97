import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { containsCardNumber, isCardNumber, luhnValid, maskCardNumbers } from '../src/pan.js';
import { SEPARATORS, TEST_PANS, fullWidth, grouped, panVariants } from './helpers/cards.js';

describe('isCardNumber: the guard takes what it would accept as a card.pan', () => {
  it('is true for Luhn-valid 12-19 digits and for any UnionPay 62… number', () => {
    for (const pan of TEST_PANS) expect(isCardNumber(pan)).toBe(true);
    expect(luhnValid('6212345678901234')).toBe(false);
  });

  it('is false for 11 or 20 digits, a Luhn failure off 62, and anything not digits', () => {
    for (const text of ['41111111111', '41111111111111111111', '4111111111111112', '4111 1111 1111 1111', '']) expect(isCardNumber(text)).toBe(false);
  });
});

describe('containsCardNumber', () => {
  it.each(Object.entries(SEPARATORS))('finds a card number grouped with %s, alone or inside an id', (_name, separator) => {
    for (const pan of TEST_PANS) {
      expect(containsCardNumber(grouped(pan, separator))).toBe(true);
      expect(containsCardNumber(`ORD-${grouped(pan, separator)}-7`)).toBe(true);
      expect(containsCardNumber(`20260301-${grouped(pan, separator)}`)).toBe(true);
    }
  });

  it('finds full-width digits', () => {
    for (const pan of TEST_PANS) expect(containsCardNumber(fullWidth(pan))).toBe(true);
  });

  it('leaves ids that are not card numbers: short, long, or failing Luhn off 62', () => {
    for (const id of ['ORD-2026-0042', 'T-01', 'pdg_Ab3dEf9hIj0kLm1n', '20260301000123', '4200001234202603011234567890', '4111111111111112', 'order 123456789012']) {
      expect(containsCardNumber(id)).toBe(false);
    }
  });

  it('agrees with isCardNumber on bare digit strings (property)', () => {
    fc.assert(fc.property(fc.stringMatching(/^\d{1,24}$/), (digits) => containsCardNumber(digits) === isCardNumber(digits)));
  });
});

describe('maskCardNumbers', () => {
  it('replaces each card number, however written, by the mask and keeps the rest', () => {
    for (const pan of panVariants()) expect(maskCardNumbers(`ref ${pan} ok`, '#')).toBe('ref # ok');
    expect(maskCardNumbers('20260301-4111111111111111', '#')).toBe('20260301-#');
  });

  it('keeps digits that are not a card number', () => {
    for (const text of ['RRN 123456789012', 'tx 4200001234202603011234567890', 'psp 8816178914545622']) expect(maskCardNumbers(text, '#')).toBe(text);
  });
});
