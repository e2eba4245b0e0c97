/**
 * atk21: containsCardNumber's ASCII shortcut (tooFewDigits, 2d530cb) must
 * answer exactly as the full Unicode-wide reading does, for every
 * identifier a till or an attacker can type — in a Sale and in
 * createGuard's own ids (one list of rules since 0762a26). The full reading
 * is forced by a non-ASCII letter after the text (no digit, no separator).
 * (The review also checked every case below against the parent commit's
 * pan.ts, 8bcba3c: the same answers.)
 */
import { describe, expect, it } from 'vitest';
import { GuardConfigError, GuardInputError, createGuard, memoryStore } from '../../src/index.js';
import { containsCardNumber } from '../../src/pan.js';
import { TEST_PANS, cardNumberLeaks, fullWidth } from '../helpers/cards.js';

/** The full Unicode-wide reading, whatever the text. */
const fullReading = (text: string): boolean => containsCardNumber(`${text}é`);

// 11 ASCII digits, each followed by one more digit written another way.
const ELEVEN = '41111111111';
const ARABIC_INDIC_1 = '\u0661';
const cases: Record<string, string> = {
  'full-width PAN': fullWidth('4111111111111111'),
  'Arabic-Indic PAN': '4111111111111111'.replace(/\d/g, (d) => String.fromCharCode(0x0660 + Number(d))),
  'soft hyphens between every digit': [...'4111111111111111'].join('\u00ad'),
  'zero-width joiners between every digit': [...'4111111111111111'].join('\u200d'),
  '%20 separators': '4111%201111%201111%201111',
  '11 ASCII digits + 1 Arabic-Indic digit + rest': `${ELEVEN}${ARABIC_INDIC_1}1111`,
  '11 ASCII digits + one full-width digit (12 digits, Luhn?)': `${ELEVEN}\uff11`,
  'tab between groups': '4111\t1111\t1111\t1111',
  'newline between groups': '4111\n1111\n1111\n1111',
  'UnionPay 62 not Luhn, 16 digits': '6212 3456 7890 1234',
  '12-digit Luhn all-digit id': '411111111117',
  'superscript digits': '4111111111111111'.replace(/\d/g, (d) => '⁰¹²³⁴⁵⁶⁷⁸⁹'[Number(d)] as string),
  'DEL between groups': '4111\u007f1111\u007f1111\u007f1111',
  'ORD-1042': 'ORD-1042',
  '11 ASCII digits only': `ORD ${ELEVEN}`,
  'amounts and dates': '2026.03.01 500.00 / 150.00',
};

describe('atk21: the ASCII shortcut answers as the full reading does', () => {
  it.each(Object.entries(cases))('%s', (_name, text) => {
    expect(containsCardNumber(text)).toBe(fullReading(text));
  });

  it('every test PAN, written with every ASCII character between its groups, answers as the full reading', () => {
    for (const pan of TEST_PANS) {
      for (let code = 0; code <= 0x7f; code++) {
        const sep = String.fromCharCode(code);
        const text = pan.replace(/(\d{4})(?=\d)/g, `$1${sep}`);
        expect([pan, code, containsCardNumber(text)]).toEqual([pan, code, fullReading(text)]);
      }
    }
  });

  it('20 000 random strings of ASCII, control characters, separators and other-script digits answer as the full reading', () => {
    // A small LCG: the same strings every run.
    let seed = 21;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = [
      ...'0123456789012345678901234567890123456789',
      ...' -./_+%\t\n\r\u000b\u0000\u007f',
      '%20',
      '%2D',
      'A',
      'x',
      '\u00ad',
      '\u200b',
      '\u200d',
      '\uff11',
      '\u0664',
      '\u2013',
      '\u00a0',
      '\u0301',
      '¹',
      '①',
    ];
    let disagreements: string[] = [];
    for (let n = 0; n < 20_000; n++) {
      const length = 8 + next(30);
      const asciiOnly = next(2) === 0;
      let text = '';
      for (let i = 0; i < length; i++) {
        const pick = alphabet[next(asciiOnly ? 57 : alphabet.length)] as string;
        text += pick;
      }
      if (containsCardNumber(text) !== fullReading(text)) disagreements.push(JSON.stringify(text));
    }
    disagreements = disagreements.slice(0, 5);
    expect(disagreements).toEqual([]);
  });
});

describe('atk21: an identifier hiding a card number is refused by the Sale and by createGuard alike', () => {
  const hidden = Object.entries(cases).filter(([, text]) => holdsCard(text));

  it('most of the cases hide a card number', () => {
    expect(hidden.length).toBeGreaterThanOrEqual(11);
  });

  it.each(['orderId', 'operator', 'terminalId', 'merchantId', 'refundOf'] as const)(
    'a Sale refuses each hidden PAN in %s',
    async (field) => {
      const guard = await createGuard({ merchantId: 'M1', secret: 'atk21-pan-secret-0123456789', store: memoryStore() });
      try {
        for (const [name, text] of hidden) {
          const sale: Record<string, unknown> = { amount: 100, currency: 'CNY', card: { token: 'tok_1' }, [field]: text };
          if (field === 'refundOf') sale.kind = 'refund';
          const error = await guard.begin(sale as never).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect([name, error instanceof GuardInputError]).toEqual([name, true]);
          expect((error as GuardInputError).issues.map((i) => i.field)).toContain(field);
          expect(JSON.stringify((error as GuardInputError).issues)).toMatch(/card number/);
          expect([name, cardNumberLeaks(error)]).toEqual([name, []]);
        }
      } finally {
        await guard.close();
      }
    },
  );

  it.each(['merchantId', 'terminalId'] as const)('createGuard refuses each hidden PAN as its own %s', async (field) => {
    for (const [name, text] of hidden) {
      const made = await createGuard({ merchantId: 'M1', secret: 'atk21-pan-secret-0123456789', store: memoryStore(), [field]: text }).then(
        async (g) => {
          await g.close();
          return 'created';
        },
        (e: unknown) => e,
      );
      expect([name, made instanceof GuardConfigError]).toEqual([name, true]);
      expect([name, cardNumberLeaks(made)]).toEqual([name, []]);
    }
  });
});

/** The cases that hold a card number, by the full reading. */
function holdsCard(text: string): boolean {
  return fullReading(text);
}
