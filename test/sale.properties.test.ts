/**
 * Issue 16: a Sale with several problems reports all of them in one error.
 * For any combination of broken fields: the error lists exactly those
 * fields, the guard records nothing, and no run of 12 or more digits from
 * the input (a card number, a mistyped one, a long amount) comes back in
 * the error's message or its JSON.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GuardInputError } from '../src/errors.js';
import { cardNumberLeaks } from './helpers/cards.js';
import { flush, testGuard, thrown } from './helpers/guard.js';

const VISA = '4111 1111 1111 1111';

/** A way to break one part of a Sale: what to put in it, and the fields the error must then name. */
interface Breaker {
  patch: Record<string, unknown>;
  fields: readonly string[];
  /** Card data where it must not be (`SENSITIVE_DATA`): listed before every other problem. */
  sensitive?: true;
}

const breaks = (key: string, values: readonly unknown[], fields: readonly string[] = [key]): fc.Arbitrary<Breaker> =>
  fc.constantFrom(...values).map((value) => ({ patch: { [key]: value }, fields }));

const ID_BREAKERS = ['', ' padded', 7, 'x'.repeat(300), '4111111111111111', 'ORD-5555 5555 5555 4444'];

// One entry per part of a Sale, in the order of the Sale type: each breaks only its own part.
const PARTS: readonly fc.Arbitrary<Breaker>[] = [
  fc.constant<Breaker>({ patch: { cvv: '123' }, fields: ['cvv'], sensitive: true }),
  breaks('amount', [12.5, 0, -3, '1250', 1e20, 1234567890123.5, null]),
  breaks('currency', ['cny', 'CN', 156, '4111111111111111']),
  fc.constantFrom<Breaker>(
    { patch: { card: { pan: '4111 1111 1111 1112' } }, fields: ['card.pan'] },
    { patch: { card: { pan: '41111111111' } }, fields: ['card.pan'] },
    { patch: { card: { pan: ';4111111111111111=2512101?' } }, fields: ['card.pan'], sensitive: true },
    { patch: { card: { last4: '12', bin: '1', expiry: '13/99' } }, fields: ['card.last4', 'card.bin', 'card.expiry'] },
    { patch: { card: { pan: VISA, token: 'tok' } }, fields: ['card'] },
    { patch: { card: '4111111111111111' }, fields: ['card'] },
    { patch: { card: { pan: VISA, cvc: '999' } }, fields: ['card.cvc'], sensitive: true },
    { patch: { card: { pan: '5555 5555 5555 4445', note: '4111111111111111' } }, fields: ['card.pan', 'card.note'] },
  ),
  breaks('kind', ['payment', 1]),
  breaks('merchantId', ID_BREAKERS),
  breaks('terminalId', ID_BREAKERS),
  breaks('orderId', ID_BREAKERS),
  breaks('orderTotal', [12.5, 0, '5000', 12345678901234.5]),
  breaks('refundOf', ID_BREAKERS),
  breaks('operator', ID_BREAKERS),
  breaks('tip', [100]),
];

/** A non-empty subset of the parts, each broken one way, merged into a valid sale. */
const brokenSale = fc.subarray([...PARTS.keys()], { minLength: 1 }).chain((chosen) =>
  fc.tuple(...chosen.map((i) => PARTS[i] as fc.Arbitrary<Breaker>)).map((breakers) => ({
    input: Object.assign({ amount: 1250, currency: 'CNY', card: { pan: VISA } }, ...breakers.map((b) => b.patch)) as Record<
      string,
      unknown
    >,
    // Card data first, then the fields in the order of the Sale type (PARTS is in that order).
    fields: [...breakers.filter((b) => b.sensitive), ...breakers.filter((b) => !b.sensitive)].flatMap((b) => b.fields),
  })),
);

/** Every run of 12 or more digits in the input, spaces and dashes ignored: none may come back. */
function longDigitRuns(input: unknown): string[] {
  const text = JSON.stringify(input, (_key, value: unknown) => (typeof value === 'number' ? String(value) : value));
  return (text.match(/\d[\d -]{10,}\d/g) ?? []).map((run) => run.replace(/\D/g, '')).filter((run) => run.length >= 12);
}

describe('a Sale with several problems (property)', () => {
  it('lists exactly the broken fields, in the order of the Sale type, records nothing and echoes no long digit run', async () => {
    const { guard, store } = await testGuard();
    await fc.assert(
      fc.asyncProperty(brokenSale, async ({ input, fields }) => {
        const error = await thrown(() => guard.begin(input as never));
        expect(error).toBeInstanceOf(GuardInputError);
        const { issues, field, code, message } = error as GuardInputError;
        expect(issues.map((i) => i.field)).toEqual(fields);
        expect(field).toBe(issues[0]?.field);
        expect(code).toBe(issues[0]?.code);
        // The message names the first 10 problems and counts the rest (bounded); error.issues has them all.
        for (const i of issues.slice(0, 10)) expect(message).toContain(i.message);
        if (issues.length > 10) expect(message).toMatch(new RegExp(`; and ${issues.length - 10} more \\(see error\\.issues\\)$`));
        expect(cardNumberLeaks([message, JSON.stringify(error)], longDigitRuns(input))).toEqual([]);
      }),
      { numRuns: 300 },
    );
    await flush();
    expect(await store.load()).toEqual([]);
    expect(await guard.attempts()).toEqual([]);
    expect(store.journal().filter((e) => e.type !== 'start')).toEqual([]);
  });
});
