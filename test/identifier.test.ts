import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GuardConfigError, GuardInputError } from '../src/errors.js';
import { IDENTIFIER_RULES } from '../src/identifier.js';
import { resolveOptions } from '../src/options.js';
import { validateSale } from '../src/sale.js';
import { memoryStore } from '../src/stores/memory.js';
import { TEST_PANS, grouped } from './helpers/cards.js';

const SECRET = 'test-secret-0123456789abcdef';
const SALE = { amount: 1250, currency: 'CNY', card: { token: 'tok_1' } };

/** The rule createGuard broke for `merchantId: id`, or undefined if it took it. */
function optionsRule(id: string): string | undefined {
  try {
    resolveOptions({ merchantId: id, secret: SECRET, store: memoryStore() });
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(GuardConfigError);
    return (error as GuardConfigError).issues[0]?.rule;
  }
}

/** The rule a Sale with `merchantId: id` broke, or undefined if it was taken. */
function saleRule(id: string): string | undefined {
  try {
    validateSale({ ...SALE, merchantId: id }, { merchantId: 'M-1', terminalId: undefined });
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(GuardInputError);
    return (error as GuardInputError).issues[0]?.rule;
  }
}

describe('identifier rules: one list for createGuard ids and a Sale’s', () => {
  // Printable text, card numbers written inside ids, control and bidi characters, spaces at either end.
  const id = fc.oneof(
    fc.string({ minLength: 1, maxLength: 40 }),
    fc.constantFrom(...TEST_PANS).map((pan) => `ORD-${grouped(pan, ' ')}`),
    fc.tuple(fc.string({ maxLength: 10 }), fc.constantFrom('\u001b[2J', '\u202e', '\u0000', ' ', '\t')).map(([a, b]) => a + b),
  );

  it('a merchantId is refused by createGuard exactly when a Sale is refused it, for the same rule (property)', () => {
    fc.assert(
      fc.property(id, (text) => {
        const [fromOptions, fromSale] = [optionsRule(text), saleRule(text)];
        expect(fromOptions === undefined).toBe(fromSale === undefined);
        // The content rules are worded the same; type and length have each their own wording.
        const contentRule = IDENTIFIER_RULES.find(({ broken }) => broken(text));
        if (contentRule && text.trim() === text) {
          expect(fromOptions).toBe(contentRule.rule);
          expect(fromSale).toBe(contentRule.rule);
        }
      }),
      { numRuns: 500 },
    );
  });
});
