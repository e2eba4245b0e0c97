import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redact, redactCardNumbers, redactProcessorRef } from '../src/redact.js';
import { SEPARATORS, TEST_PANS, cardNumberLeaks, fullWidth, grouped, panVariants } from './helpers/cards.js';

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

describe('redact: card numbers in every separator style (issue 10, item 6)', () => {
  it.each(Object.entries(SEPARATORS))('masks PANs grouped with %s', (_name, separator) => {
    for (const pan of TEST_PANS) {
      const text = redact(`reason: customer card ${grouped(pan, separator)} was read twice`);
      expect(cardNumberLeaks(text)).toEqual([]);
      expect(text).toContain('[card number removed]');
      expect(text).toMatch(/^reason: customer card \[card number removed\] was read twice$/);
    }
  });

  it('masks full-width digits typed on a CJK keyboard', () => {
    for (const pan of TEST_PANS) expect(redact(`卡号 ${fullWidth(grouped(pan, ' '))}`)).toBe('卡号 [card number removed]');
  });

  it('masks a PAN run together with other digits, whole', () => {
    expect(redact('ref 20260301-4111111111111111-0001')).toBe('ref [card number removed]');
    expect(redact('x 00000000004111111111111111111111 y')).toBe('x [card number removed] y');
  });

  it('masks track 1 and track 2 data, not just the number in it', () => {
    expect(redact('read ;4111111111111111=29121010000012345678? ok')).toBe('read [track data removed] ok');
    expect(redact('read %B4111111111111111^DOE/JOHN^2912101000000000000000? ok')).toBe('read [track data removed] ok');
  });

  it('masks an expiry written after its keyword, in any common form', () => {
    for (const text of ['exp 1229', 'expiry: 12-29', 'Exp. 12.2029', 'valid thru 12/29', 'expires 1229']) {
      expect(redact(text)).not.toMatch(/12.?(20)?29/);
    }
  });

  it('leaves timestamps, amounts and short references alone', () => {
    for (const text of ['Declined at 2026-03-01 12:00:00', 'amount 1,234,567.89', 'RRN 123456', 'order ORD-2026-0042']) {
      expect(redact(text)).toBe(text);
    }
  });

  it('never leaves 12 digits of a PAN, whatever surrounds it (property)', () => {
    const separator = fc.constantFrom(...Object.values(SEPARATORS));
    fc.assert(
      fc.property(fc.string(), fc.constantFrom(...TEST_PANS), separator, fc.boolean(), fc.string(), (before, pan, sep, wide, after) => {
        const typed = grouped(pan, sep);
        const text = redact(`${before} ${wide ? fullWidth(typed) : typed} ${after}`);
        expect(cardNumberLeaks(text)).toEqual([]);
      }),
    );
  });
});

describe('redactCardNumbers: a processor reference keeps its digits unless they are a card number', () => {
  it('keeps 12-digit retrieval reference numbers and 28-digit wallet transaction ids that are not card numbers', () => {
    for (const ref of ['123456789012', '4200001234202603011234567890', 'ch_3NqA0x2eZvKYlo2C', '8816178914545622']) {
      expect(redactCardNumbers(ref)).toBe(ref);
    }
  });

  it('masks a card number given as a reference, in every separator style', () => {
    for (const pan of panVariants()) expect(cardNumberLeaks(redactCardNumbers(`ref ${pan}`))).toEqual([]);
  });
});

describe('redact: amounts and dates are not card numbers (review2)', () => {
  it('keeps amounts and dates written next to each other', () => {
    for (const text of [
      'split bill 100.00 / 150.00 / 200.00',
      'limit reached 2026.03.01 500.00',
      'paid 1250.00 + 300.00 + 45.50 on 2026-03-01',
      '12.50 12.50 12.50 12.50 12.50',
    ]) {
      expect(redact(text)).toBe(text);
    }
  });

  it('still masks 12+ digits written like a card number, Luhn or not', () => {
    expect(redact('card 4111 1111 1111 1112 declined')).toBe('card [card number removed] declined');
    expect(redact('card 4111+1111+1111+1112 declined')).toBe('card [card number removed] declined');
    expect(redact('card ٤١١١١١١١١١١١١١١٢ declined')).toBe('card [card number removed] declined');
  });
});

describe('redactProcessorRef: an RRN keeps its digits (review2)', () => {
  it('keeps a 12-digit RRN, UnionPay-looking or Luhn-valid', () => {
    for (const ref of ['620514123456', '512014123453', '123456789012']) expect(redactProcessorRef(ref)).toBe(ref);
  });

  it('masks a card number of 13-19 digits, and a 12-digit one inside other text', () => {
    for (const pan of TEST_PANS) expect(cardNumberLeaks(redactProcessorRef(pan))).toEqual([]);
    expect(redactProcessorRef('ref 512014123453')).toBe('ref [card number removed]');
  });
});
