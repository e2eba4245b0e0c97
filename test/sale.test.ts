import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GuardInputError } from '../src/errors.js';
import { validateSale } from '../src/sale.js';
import { cardNumberLeaks, panVariants } from './helpers/cards.js';

const MERCHANT = 'M-0001';
const DEFAULTS = { merchantId: MERCHANT, terminalId: undefined };
const VISA = '4111 1111 1111 1111';
const base = { amount: 1250, currency: 'CNY', card: { token: 'tok_abc' } } as const;

function inputError(input: unknown): GuardInputError {
  try {
    validateSale(input, DEFAULTS);
  } catch (error) {
    expect(error).toBeInstanceOf(GuardInputError);
    expect((error as Error).name).toBe('GuardInputError');
    return error as GuardInputError;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

/** Asserts the error names `field` both in `field` and in the message, with a stable code. */
function expectFieldError(input: unknown, field: string, code = 'INVALID_SALE'): GuardInputError {
  const error = inputError(input);
  expect(error.code).toBe(code);
  expect(error.field).toBe(field);
  expect(error.message).toContain(`\`${field}\``);
  return error;
}

describe('validateSale: defaults', () => {
  it("defaults kind to 'sale' and merchantId to the guard's", () => {
    const sale = validateSale(base, DEFAULTS).fields;
    expect(sale.kind).toBe('sale');
    expect(sale.merchantId).toBe(MERCHANT);
    expect(sale.terminalId).toBeUndefined();
    expect(sale.amount).toBe(1250);
    expect(sale.currency).toBe('CNY');
  });

  it('keeps explicit optional fields and omits absent ones', () => {
    const sale = validateSale(
      { ...base, kind: 'refund', merchantId: 'M-2', terminalId: 'T-1', orderId: 'O-1', refundOf: 'att_1', operator: 'alice' },
      DEFAULTS,
    ).fields;
    expect(sale).toMatchObject({
      kind: 'refund',
      merchantId: 'M-2',
      terminalId: 'T-1',
      orderId: 'O-1',
      refundOf: 'att_1',
      operator: 'alice',
    });
    expect(Object.keys(validateSale(base, DEFAULTS).fields).sort()).toEqual(['amount', 'currency', 'kind', 'merchantId']);
  });

  it('accepts orderTotal with its orderId and an amount up to it', () => {
    expect(validateSale({ ...base, orderId: 'O-1', orderTotal: 1250 }, DEFAULTS).fields.orderTotal).toBe(1250);
  });
});

describe('validateSale: amount', () => {
  it.each([12.5, 0, -1, '1250', Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, null, undefined])('rejects %o', (amount) => {
    const error = expectFieldError({ ...base, amount }, 'amount');
    expect(error.message).toMatch(amount === undefined ? /required/ : /minor units/);
  });

  it('accepts 1 and Number.MAX_SAFE_INTEGER', () => {
    expect(validateSale({ ...base, amount: 1 }, DEFAULTS).fields.amount).toBe(1);
    expect(validateSale({ ...base, amount: Number.MAX_SAFE_INTEGER }, DEFAULTS).fields.amount).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('quotes the bad value and its type, p-queue style', () => {
    expect(inputError({ ...base, amount: 12.5 }).message).toContain('got 12.5 (number)');
    expect(inputError({ ...base, amount: '1250' }).message).toContain('got "1250" (string)');
  });
});

describe('validateSale: currency', () => {
  it.each(['cny', 'CN', 'CNYY', '', 'C1Y', 156])('rejects %o', (currency) => {
    const error = expectFieldError({ ...base, currency }, 'currency');
    expect(error.message).toMatch(/ISO 4217|invalid/);
  });

  it('is required', () => {
    const { currency: _omitted, ...rest } = base;
    expect(expectFieldError(rest, 'currency').message).toMatch(/required/);
  });

  it('accepts upper-case three-letter codes', () => {
    for (const currency of ['CNY', 'USD', 'JPY', 'KWD']) {
      expect(validateSale({ ...base, currency }, DEFAULTS).fields.currency).toBe(currency);
    }
  });
});

describe('validateSale: card', () => {
  it('accepts { pan }, { token }, { last4 } and { last4, bin, expiry }', () => {
    expect(validateSale({ ...base, card: { pan: VISA } }, DEFAULTS).card.last4).toBe('1111');
    expect(validateSale({ ...base, card: { token: 'tok_1' } }, DEFAULTS).card.last4).toBeUndefined();
    expect(validateSale({ ...base, card: { last4: '3446' } }, DEFAULTS).card.last4).toBe('3446');
    expect(validateSale({ ...base, card: { last4: '3446', bin: '622202', expiry: '12/29' } }, DEFAULTS).card.bin).toBe('622202');
  });

  it('accepts a UnionPay number that fails Luhn', () => {
    expect(validateSale({ ...base, card: { pan: '6222 0202 0011 2233 447' } }, DEFAULTS).card.last4).toBe('3447');
  });

  it('gives the same card material however the PAN is typed', () => {
    const a = validateSale({ ...base, card: { pan: VISA } }, DEFAULTS).card.material;
    const b = validateSale({ ...base, card: { pan: '4111-1111-1111-1111' } }, DEFAULTS).card.material;
    expect(a).toBe(b);
  });

  it('rejects a missing card, a non-object card and two card kinds at once', () => {
    const { card: _omitted, ...rest } = base;
    expect(expectFieldError(rest, 'card').message).toMatch(/required/);
    expect(inputError({ ...base, card: 'tok_abc' }).field).toBe('card');
    expect(expectFieldError({ ...base, card: { pan: VISA, token: 'tok' } }, 'card', 'INVALID_CARD').message).toMatch(/exactly one/);
  });

  it.each([
    [{ pan: '4111 1111 1111 1112' }, 'card.pan'],
    [{ pan: '41111111111' }, 'card.pan'],
    [{ pan: '41111111111111111111' }, 'card.pan'],
    [{ pan: '4111 1111 1111 111a' }, 'card.pan'],
    [{ last4: '12' }, 'card.last4'],
    [{ last4: '3446', bin: '12' }, 'card.bin'],
    [{ last4: '3446', expiry: '13/30' }, 'card.expiry'],
  ])('rejects card %o at %s without echoing card digits', (card, field) => {
    const error = expectFieldError({ ...base, card }, field, 'INVALID_CARD');
    const digits = Object.values(card).join('').replace(/[\s-]/g, '');
    expect(error.message).not.toContain(digits);
    expect(error.message).not.toMatch(/\d{12,}/);
  });
});

describe('validateSale: sensitive data', () => {
  const names = ['cvv', 'CVC', 'pin', 'pinBlock', 'track1', 'track2', 'trackData'];

  it.each(names)('refuses `%s` at the top level with SENSITIVE_DATA', (name) => {
    const error = expectFieldError({ ...base, [name]: '123' }, name, 'SENSITIVE_DATA');
    expect(error.message).toMatch(/never needed/);
  });

  it.each(names)('refuses `%s` inside the card with SENSITIVE_DATA', (name) => {
    const error = expectFieldError({ ...base, card: { pan: VISA, [name]: '123' } }, `card.${name}`, 'SENSITIVE_DATA');
    expect(error.message).toMatch(/never needed/);
  });

  it('refuses sensitive data even when other fields are also wrong', () => {
    expect(inputError({ amount: 12.5, currency: 'cny', card: {}, cvv: '123' }).code).toBe('SENSITIVE_DATA');
  });

  // SPEC §5: never log a PAN. Error messages end up in logs, so a PAN put in
  // the wrong place must not be echoed back by the "unknown field" message.
  it.each([
    ['a PAN at the top level', { ...base, pan: '4111111111111111' }],
    ['a card number under another name', { ...base, cardNumber: VISA }],
    ['an expiry at the top level', { ...base, expiry: '12/29' }],
  ])('never echoes %s in the error message', (_what, input) => {
    const error = inputError(input);
    expect(error.message).not.toMatch(/4111\D?1111\D?1111\D?1111/);
    expect(error.message).not.toContain('12/29');
  });

  it('never echoes a PAN passed instead of a sale', () => {
    const error = inputError(VISA);
    expect(error.field).toBe('sale');
    expect(error.message).not.toMatch(/4111\D?1111\D?1111\D?1111/);
  });
});

describe('validateSale: other fields', () => {
  it('rejects a non-object sale', () => {
    for (const input of [null, undefined, 42, [base]]) expect(inputError(input).field).toBe('sale');
  });

  it('rejects an unknown field, naming it', () => {
    expect(expectFieldError({ ...base, tip: 100 }, 'tip').message).toMatch(/not a field of a Sale/);
  });

  it("rejects kind 'payment'", () => {
    expect(expectFieldError({ ...base, kind: 'payment' }, 'kind').message).toMatch(/'sale' or 'refund'/);
  });

  it('rejects refundOf on a sale', () => {
    expect(expectFieldError({ ...base, refundOf: 'att_1' }, 'refundOf').message).toMatch(/refund/);
    expect(expectFieldError({ ...base, kind: 'sale', refundOf: 'att_1' }, 'refundOf').code).toBe('INVALID_SALE');
  });

  it('rejects orderTotal without orderId', () => {
    expect(expectFieldError({ ...base, orderTotal: 5000 }, 'orderTotal').message).toMatch(/orderId/);
  });

  it("fills merchantId and terminalId from the guard's own when the sale names none", () => {
    expect(validateSale(base, { merchantId: 'M-9', terminalId: 'T-9' }).fields).toMatchObject({ merchantId: 'M-9', terminalId: 'T-9' });
    expect(validateSale({ ...base, terminalId: 'T-1' }, { merchantId: 'M-9', terminalId: 'T-9' }).fields).toMatchObject({
      terminalId: 'T-1',
    });
  });

  it('accepts an amount above orderTotal: that is an overpay for the ORDER_ALREADY_PAID rule, not bad input', () => {
    expect(validateSale({ ...base, orderId: 'O-1', orderTotal: 1249 }, DEFAULTS).fields).toMatchObject({
      amount: base.amount,
      orderTotal: 1249,
    });
  });

  it('rejects a non-integer orderTotal', () => {
    expectFieldError({ ...base, orderId: 'O-1', orderTotal: 12.5 }, 'orderTotal');
  });

  it.each(['merchantId', 'terminalId', 'orderId', 'operator', 'refundOf'] as const)(
    'rejects an empty, padded, too long or non-string %s',
    (field) => {
      const extra = field === 'refundOf' ? { kind: 'refund' } : {};
      const max = field === 'refundOf' ? 255 : 128;
      for (const value of ['', ' O-1', 'O-1 ', 'x'.repeat(max + 1), 7]) expectFieldError({ ...base, ...extra, [field]: value }, field);
      expect(() => validateSale({ ...base, ...extra, [field]: 'x'.repeat(max) }, DEFAULTS)).not.toThrow();
    },
  );

  // A field-level message must state the rule (issue 2): the limit that applies, the type expected.
  it('says what a too-long id must be, with its real limit', () => {
    expect(inputError({ ...base, orderId: 'x'.repeat(129) }).message).toContain('128');
    expect(inputError({ ...base, kind: 'refund', refundOf: 'x'.repeat(256) }).message).toContain('255');
  });

  it('says what a non-string id must be', () => {
    expect(inputError({ ...base, merchantId: 7 }).message).toMatch(/string/);
  });
});

describe('validateSale: property', () => {
  const loose = fc.oneof(fc.constant(undefined), fc.jsonValue(), fc.double(), fc.string());
  const cards = fc.oneof(
    loose,
    fc.record({ pan: fc.oneof(fc.stringMatching(/^[\d -]{0,24}$/), loose) }),
    fc.record({ token: loose }),
    fc.record({ last4: fc.oneof(fc.stringMatching(/^\d{3,5}$/), loose), bin: loose, expiry: loose }, { requiredKeys: ['last4'] }),
    fc.dictionary(fc.constantFrom('pan', 'token', 'last4', 'bin', 'cvv', 'expiry', 'x'), loose),
  );
  const saleLike = fc.record(
    {
      amount: fc.oneof(fc.integer({ min: -5, max: 1_000_000 }), fc.maxSafeInteger(), loose),
      currency: fc.oneof(fc.constantFrom('CNY', 'USD', 'cny', 'CN'), loose),
      card: cards,
      kind: fc.oneof(fc.constantFrom('sale', 'refund', 'payment'), loose),
      merchantId: fc.oneof(fc.string(), loose),
      orderId: fc.oneof(fc.string(), loose),
      orderTotal: fc.oneof(fc.integer({ min: -5, max: 1_000_000 }), loose),
      refundOf: fc.oneof(fc.string(), loose),
      operator: loose,
      extra: loose,
    },
    { requiredKeys: [] },
  );

  it('only ever throws GuardInputError, or returns a valid sale', () => {
    fc.assert(
      fc.property(fc.oneof(saleLike, fc.anything()), (input) => {
        let sale: ReturnType<typeof validateSale>;
        try {
          sale = validateSale(input, DEFAULTS);
        } catch (error) {
          expect(error).toBeInstanceOf(GuardInputError);
          expect((error as GuardInputError).field).toEqual(expect.any(String));
          return;
        }
        expect(Number.isSafeInteger(sale.fields.amount) && sale.fields.amount >= 1).toBe(true);
        expect(sale.fields.currency).toMatch(/^[A-Z]{3}$/);
        expect(['sale', 'refund']).toContain(sale.fields.kind);
        expect(typeof sale.fields.merchantId).toBe('string');
        expect(typeof sale.card.material).toBe('string');
        // An amount above orderTotal is an overpay, accepted here and blocked by ORDER_ALREADY_PAID; orderTotal needs its order.
        if (sale.fields.orderTotal !== undefined) expect(sale.fields.orderId).toBeDefined();
        if (sale.fields.refundOf !== undefined) expect(sale.fields.kind).toBe('refund');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('validateSale: identifiers never carry a card number (issue 10, item 6)', () => {
  const FIELDS = ['merchantId', 'terminalId', 'orderId', 'operator', 'refundOf'] as const;
  const extra = (field: string) => (field === 'refundOf' ? { kind: 'refund' } : {});

  it.each(FIELDS)('refuses %s holding a card number in any separator style, without quoting it', (field) => {
    for (const pan of panVariants()) {
      for (const value of [pan, `ORD-${pan}`]) {
        const error = expectFieldError({ ...base, ...extra(field), [field]: value }, field);
        expect(error.message).toMatch(/card number/);
        expect(cardNumberLeaks(error)).toEqual([]);
      }
    }
  });

  it.each(FIELDS)('accepts %s with digits that are not a card number', (field) => {
    for (const value of ['ORD-2026-0042', '20260301000123', '4200001234202603011234567890', '4111111111111112']) {
      expect(() => validateSale({ ...base, ...extra(field), [field]: value }, DEFAULTS)).not.toThrow();
    }
  });

  it('never quotes an unknown field named by a card number', () => {
    const error = inputError({ ...base, '4111111111111111': true });
    expect(cardNumberLeaks(error)).toEqual([]);
    expect(cardNumberLeaks(inputError({ ...base, card: { pan: VISA, '4111.1111.1111.1111': 1 } }))).toEqual([]);
  });
});

describe('validateSale: hostile objects are refused as input, never thrown through (issue 10)', () => {
  const revoked = () => {
    const r = Proxy.revocable({}, {});
    r.revoke();
    return r.proxy;
  };
  const throwing = (target: object, key: string) =>
    Object.defineProperty({ ...target }, key, {
      enumerable: true,
      get() {
        throw new TypeError('getter exploded');
      },
    });

  it.each<[string, () => unknown, string]>([
    ['a revoked Proxy as the sale', revoked, 'sale'],
    [
      'a Proxy whose ownKeys trap throws',
      () =>
        new Proxy(
          { ...base },
          {
            ownKeys: () => {
              throw new Error('trap');
            },
          },
        ),
      'sale',
    ],
    ['a throwing getter on amount', () => throwing(base, 'amount'), 'amount'],
    ['a throwing getter on the card', () => throwing(base, 'card'), 'card'],
    ['a revoked Proxy as the card', () => ({ ...base, card: revoked() }), 'card'],
    ['a throwing getter on card.pan', () => ({ ...base, card: throwing({}, 'pan') }), 'card.pan'],
    [
      'a Proxy card whose get trap throws',
      () => ({
        ...base,
        card: new Proxy(
          { pan: VISA },
          {
            get: () => {
              throw new Error('trap');
            },
          },
        ),
      }),
      'card.pan',
    ],
    ['a revoked Proxy as orderId', () => ({ ...base, orderId: revoked() }), 'orderId'],
  ])('%s is a GuardInputError naming the field', (_what, make, field) => {
    const error = inputError(make());
    expect(error.field).toBe(field);
    expect(error.message).toContain(`\`${field}\``);
  });

  it('reads each field once: what is validated is what is used', () => {
    let reads = 0;
    const card = {
      get pan() {
        reads++;
        return reads === 1 ? VISA : 'not a card number';
      },
    };
    expect(validateSale({ ...base, card }, DEFAULTS).card.last4).toBe('1111');
    expect(reads).toBe(1);
  });

  it('accepts a benign Proxy and a class with getters, like the plain sale', () => {
    class SaleModel {
      get amount() {
        return 1250;
      }
      get currency() {
        return 'CNY';
      }
      get card() {
        return { token: 'tok_abc' };
      }
    }
    const plain = validateSale(base, DEFAULTS);
    expect(validateSale(new Proxy({ ...base }, {}), DEFAULTS)).toEqual(plain);
    expect(validateSale(new SaleModel(), DEFAULTS)).toEqual(plain);
  });
});

describe('validateSale: every problem at once (issue 16)', () => {
  it('lists each broken field with its rule, in one error whose field and code are the first problem', () => {
    const error = inputError({ currency: 'cny', amount: 12.5, card: { pan: '4111 1111 1111 1112' }, kind: 'payment', tip: 1 });
    expect(error.issues.map((i) => [i.code, i.field])).toEqual([
      ['INVALID_SALE', 'amount'],
      ['INVALID_SALE', 'currency'],
      ['INVALID_CARD', 'card.pan'],
      ['INVALID_SALE', 'kind'],
      ['INVALID_SALE', 'tip'],
    ]);
    expect(error.code).toBe('INVALID_SALE');
    expect(error.field).toBe('amount');
    for (const { field, rule, message } of error.issues) {
      expect(message).toContain(`\`${field}\` ${rule}`);
      expect(error.message).toContain(message);
    }
    expect(error.message.startsWith('`amount` must be a safe integer')).toBe(true);
  });

  it('says a mistyped PAN fails the Luhn check without its digits', () => {
    const error = inputError({ ...base, card: { pan: '4111 1111 1111 1112' } });
    expect(error.issues).toEqual([
      {
        code: 'INVALID_CARD',
        field: 'card.pan',
        rule: expect.stringMatching(/^must pass the Luhn check/),
        message: expect.stringMatching(/^`card.pan` must pass the Luhn check/),
      },
    ]);
    expect(JSON.stringify(error)).not.toMatch(/1111/);
  });

  it('orders issues by the Sale type, whatever order the input has its keys in', () => {
    const forward = inputError({ amount: 0, currency: 'x', card: { last4: '1', bin: '2', expiry: '13/99' }, operator: '' });
    const backward = inputError({ operator: '', card: { expiry: '13/99', bin: '2', last4: '1' }, currency: 'x', amount: 0 });
    const fields = ['amount', 'currency', 'card.last4', 'card.bin', 'card.expiry', 'operator'];
    expect(forward.issues.map((i) => i.field)).toEqual(fields);
    expect(backward.issues).toEqual(forward.issues);
    expect(backward.message).toBe(forward.message);
  });

  it('lists card data first (SENSITIVE_DATA), once, and the other problems after it', () => {
    const error = inputError({ amount: 12.5, currency: 'cny', card: { pan: VISA, cvc: '999' }, cvv: '123' });
    expect(error.code).toBe('SENSITIVE_DATA');
    expect(error.issues.map((i) => [i.code, i.field])).toEqual([
      ['SENSITIVE_DATA', 'cvv'],
      ['SENSITIVE_DATA', 'card.cvc'],
      ['INVALID_SALE', 'amount'],
      ['INVALID_SALE', 'currency'],
    ]);
  });

  it('names each field once, with the first rule it broke', () => {
    const error = inputError({ ...base, orderId: ' ' + 'x'.repeat(200), kind: 'sale', refundOf: '' });
    expect(error.issues.map((i) => i.field)).toEqual(['orderId', 'refundOf']);
  });

  it('checks the rules between fields only where both fields are fine on their own', () => {
    expect(inputError({ ...base, kind: 'payment', refundOf: 'att_1' }).issues.map((i) => i.field)).toEqual(['kind']);
    expect(inputError({ ...base, refundOf: 'att_1', orderTotal: 100 }).issues.map((i) => i.field)).toEqual(['orderTotal', 'refundOf']);
  });

  it('keeps a single problem exactly as before: one issue, the message unchanged', () => {
    const error = inputError({ ...base, amount: 12.5 });
    expect(error.issues).toHaveLength(1);
    expect(error.message).toBe(error.issues[0]?.message);
  });
});

describe('validateSale: terminalId on a store several terminals share', () => {
  const shared = { merchantId: 'M-0001', terminalId: 'T-01', store: { attach: () => undefined } };
  const sale = { amount: 1250, currency: 'CNY', card: { token: 'tok_1' } };

  it('takes the guard’s own terminalId, or none (the guard’s is recorded)', () => {
    expect(validateSale({ ...sale, terminalId: 'T-01' }, shared).fields.terminalId).toBe('T-01');
    expect(validateSale(sale, shared).fields.terminalId).toBe('T-01');
  });

  it('refuses another terminal’s: it would say another terminal is charging (INVALID_SALE on terminalId)', () => {
    let error: unknown;
    try {
      validateSale({ ...sale, terminalId: 'T-02' }, shared);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(GuardInputError);
    expect(error).toMatchObject({ code: 'INVALID_SALE', field: 'terminalId' });
    expect(String((error as Error).message)).not.toContain('T-02');
  });

  it('a store of one terminal takes any (the sale’s own label)', () => {
    expect(validateSale({ ...sale, terminalId: 'T-02' }, { merchantId: 'M-0001', terminalId: 'T-01' }).fields.terminalId).toBe('T-02');
  });
});
