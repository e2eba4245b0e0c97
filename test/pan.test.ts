import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asciiDigits, containsCardNumber, isCardNumber, luhnValid, maskCardNumbers } from '../src/pan.js';
import { SEPARATORS, TEST_PANS, fullWidth, grouped, panVariants } from './helpers/cards.js';

describe('isCardNumber: the guard takes what it would accept as a card.pan', () => {
  it('is true for Luhn-valid 12-19 digits and for any UnionPay 62… number', () => {
    for (const pan of TEST_PANS) expect(isCardNumber(pan)).toBe(true);
    expect(luhnValid('6212345678901234')).toBe(false);
  });

  it('is false for 11 or 20 digits, a Luhn failure off 62, and anything not digits', () => {
    for (const text of ['41111111111', '41111111111111111111', '4111111111111112', '4111 1111 1111 1111', '']) {
      expect(isCardNumber(text)).toBe(false);
    }
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
    for (const id of [
      'ORD-2026-0042',
      'T-01',
      'pdg_Ab3dEf9hIj0kLm1n',
      '20260301000123',
      '4200001234202603011234567890',
      '4111111111111112',
      'order 123456789012',
    ]) {
      expect(containsCardNumber(id)).toBe(false);
    }
  });

  it('agrees with isCardNumber on bare digit strings (property)', () => {
    fc.assert(fc.property(fc.stringMatching(/^\d{1,24}$/), (digits) => containsCardNumber(digits) === isCardNumber(digits)));
  });

  it('answers printable ASCII by the same reading as any other text (property)', () => {
    // ASCII of fewer than 12 digits takes a shortcut; a letter outside ASCII
    // after the text (no digit, no separator) sends the same digits down the
    // Unicode-wide reading, which must agree, near the 12-digit edge too.
    const ascii = fc.oneof(
      fc.stringMatching(/^[0-9 ./_+%A-Fa-z-]{0,40}$/),
      fc
        .constantFrom(...TEST_PANS)
        .chain((pan) =>
          fc
            .tuple(fc.string({ maxLength: 6 }), fc.integer({ min: 1, max: pan.length }), fc.constantFrom(' ', '-', ''))
            .map(([around, keep, separator]) => `${around}${grouped(pan.slice(0, keep), separator)}${around}`),
        ),
    );
    fc.assert(
      fc.property(ascii, (text) => containsCardNumber(text) === containsCardNumber(`${text}é`)),
      { numRuns: 2000 },
    );
  });
});

describe('maskCardNumbers', () => {
  it('replaces each card number, however written, by the mask and keeps the rest', () => {
    for (const pan of panVariants()) expect(maskCardNumbers(`ref ${pan} ok`, '#')).toBe('ref # ok');
    expect(maskCardNumbers('20260301-4111111111111111', '#')).toBe('20260301-#');
  });

  it('keeps digits that are not a card number', () => {
    for (const text of ['RRN 123456789012', 'tx 4200001234202603011234567890', 'psp 8816178914545622']) {
      expect(maskCardNumbers(text, '#')).toBe(text);
    }
  });
});

describe('card numbers in every script and encoding (review2)', () => {
  const PAN = '4111111111111111';
  const inScript = (zero: number) => PAN.replace(/\d/g, (d) => String.fromCodePoint(zero + Number(d)));
  const WRITTEN: Record<string, string> = {
    'form-encoded (+)': grouped(PAN, '+'),
    'URL-encoded space (%20)': grouped(PAN, '%20'),
    'URL-encoded dash (%2D)': grouped(PAN, '%2D'),
    'soft hyphen': grouped(PAN, '\u00ad'),
    LRM: grouped(PAN, '\u200e'),
    RLM: grouped(PAN, '\u200f'),
    'Mongolian vowel separator': grouped(PAN, '\u180e'),
    'four separators in a row': grouped(PAN, ' -- '),
    'five separators in a row': grouped(PAN, ' - - '),
    'combining marks on every digit': PAN.replace(/\d/g, '$&\u0301'),
    'keycap digits': PAN.replace(/\d/g, '$&\ufe0f\u20e3'),
    'Arabic-Indic digits': inScript(0x0660),
    'Extended Arabic-Indic digits': inScript(0x06f0),
    'Devanagari digits': inScript(0x0966),
    'mathematical bold digits': inScript(0x1d7ce),
    'mathematical monospace digits': inScript(0x1d7f6),
    'Arabic-Indic digits with an Arabic letter mark between groups': grouped(PAN, '\u061c').replace(/\d/g, (d) =>
      String.fromCharCode(0x0660 + Number(d)),
    ),
    'superscript digits': PAN.replace(/\d/g, (d) => '⁰¹²³⁴⁵⁶⁷⁸⁹'[Number(d)] as string),
    'circled digits': PAN.replace(/\d/g, (d) => (d === '0' ? '⓪' : String.fromCharCode(0x2460 + Number(d) - 1))),
  };

  it.each(Object.entries(WRITTEN))('finds and masks a PAN written with %s', (_how, written) => {
    expect(containsCardNumber(`orderId ${written}`)).toBe(true);
    // A mark on the last digit may stay after the mask: it holds no digit.
    expect(maskCardNumbers(`pan=${written} do not honour`, '#').replace(/\p{M}/gu, '')).toBe('pan=# do not honour');
  });

  it('reads every Unicode decimal digit as its value', () => {
    expect(asciiDigits('٠١٢٣٤٥٦٧٨٩ ۰۱۲۳۴۵۶۷۸۹ ０１２３４５６７８９ 𝟎𝟏𝟐 𝟗 𝟶𝟿')).toBe('0123456789 0123456789 0123456789 012 9 09');
  });
});

describe('what counts as a card number: card groupings and lengths (review2)', () => {
  it('a 62… number is UnionPay only at 16-19 digits; shorter it must pass Luhn', () => {
    expect(isCardNumber('620514123456')).toBe(false);
    expect(isCardNumber('6205141234567')).toBe(false);
    expect(isCardNumber('6212345678901234')).toBe(true);
    expect(isCardNumber('512014123453')).toBe(true);
  });

  it('separated groups are one number only in card groupings', () => {
    expect(containsCardNumber('100.00 / 150.00 / 200.00')).toBe(false);
    // 4111 1111 1111 1111 cut into groups no card is written in.
    expect(containsCardNumber('41 11 11 11 11 11 11 11')).toBe(false);
    expect(containsCardNumber('4111 111 1111 11111')).toBe(true);
    expect(containsCardNumber('4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1')).toBe(true);
    expect(containsCardNumber('4222 2222 2222 2')).toBe(true);
    expect(containsCardNumber('3782 822463 10005')).toBe(true);
  });

  it('more than five separators in a row end a number', () => {
    expect(containsCardNumber('4111 1111      1111 1111')).toBe(false);
  });
});
