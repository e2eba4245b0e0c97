import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CARD_SHAPE, cardFacts, isSensitive, luhnValid, normalisePan, refuseSensitiveFields } from '../src/card.js';
import { SALE_SHAPE } from '../src/sale.js';
import { GuardInputError } from '../src/errors.js';

const VISA = '4111 1111 1111 1111';
const VISA_DIGITS = '4111111111111111';
const UNIONPAY_19 = '6222 0202 0011 2233 446';

/** Appends the Luhn check digit to `body`, giving a valid PAN. */
function withCheckDigit(body: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(body + d)) return body + d;
  throw new Error('unreachable: one of ten digits always completes a Luhn sum');
}

/** The same PAN with its last digit changed: always fails Luhn. */
function breakLuhn(pan: string): string {
  const last = Number(pan.at(-1));
  return pan.slice(0, -1) + String((last + 1) % 10);
}

function inputError(run: () => unknown): GuardInputError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GuardInputError);
    return error as GuardInputError;
  }
  throw new Error('expected a GuardInputError, nothing was thrown');
}

describe('luhnValid', () => {
  it('accepts well-known test numbers and rejects a one-digit typo', () => {
    expect(luhnValid(VISA_DIGITS)).toBe(true);
    expect(luhnValid('5555555555554444')).toBe(true);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
  });

  it('catches every single-digit substitution (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[1-9]\d{10,17}$/), fc.nat(), fc.integer({ min: 1, max: 9 }), (body, at, delta) => {
        const pan = withCheckDigit(body);
        const i = at % pan.length;
        const typo = pan.slice(0, i) + String((Number(pan[i]) + delta) % 10) + pan.slice(i + 1);
        return luhnValid(pan) && !luhnValid(typo);
      }),
    );
  });
});

describe('normalisePan', () => {
  it('drops spaces and dashes only', () => {
    expect(normalisePan('4111-1111 1111\t1111')).toBe(VISA_DIGITS);
    expect(normalisePan('4111.1111')).toBe('4111.1111');
  });
});

describe('cardFacts: PAN cards', () => {
  it('keeps only BIN and last 4 for display, and hashes the digits', () => {
    const facts = cardFacts({ pan: VISA });
    expect(facts.bin).toBe('411111');
    expect(facts.last4).toBe('1111');
    expect(facts.material).toContain(VISA_DIGITS);
  });

  it('gives the same material however the PAN is spaced or dashed', () => {
    const plain = cardFacts({ pan: VISA_DIGITS }).material;
    expect(cardFacts({ pan: VISA }).material).toBe(plain);
    expect(cardFacts({ pan: '4111-1111-1111-1111' }).material).toBe(plain);
    expect(cardFacts({ pan: ' 4111 1111-1111 1111 ' }).material).toBe(plain);
  });

  it('normalises any spacing of a valid PAN to the same material (property)', () => {
    const pan = fc.stringMatching(/^[1-9]\d{10,17}$/).map(withCheckDigit);
    const separators = fc.array(fc.constantFrom('', '', ' ', '-', '  ', ' - '), { minLength: 20, maxLength: 20 });
    fc.assert(
      fc.property(pan, separators, (digits, seps) => {
        const typed = [...digits].map((d, i) => (seps[i] ?? '') + d).join('') + (seps[19] ?? '');
        const facts = cardFacts({ pan: typed });
        expect(facts.material).toBe(cardFacts({ pan: digits }).material);
        expect(facts.last4).toBe(digits.slice(-4));
        // The BIN is kept only where enough digits stay hidden (15+).
        expect(facts.bin).toBe(digits.length >= 15 ? digits.slice(0, 6) : undefined);
      }),
    );
  });

  it('keeps no BIN for a 12-14 digit PAN: BIN + last 4 would leave it guessable', () => {
    expect(cardFacts({ pan: withCheckDigit('62000000000') })).toMatchObject({ last4: expect.any(String) });
    expect(cardFacts({ pan: withCheckDigit('62000000000') }).bin).toBeUndefined();
    expect(cardFacts({ pan: withCheckDigit('4111111111111') }).bin).toBeUndefined();
    expect(cardFacts({ pan: withCheckDigit('411111111111111') }).bin).toBe('411111');
  });

  it.each(['track2Data', 'track2_data', 'Track1', 'pinBlock', 'PIN', 'cvv2', 'CVC', 'securityCode', 'cardVerificationValue', 'iccData'])(
    'refuses %s inside a card, saying it is never needed',
    (field) => {
      expect(() => cardFacts({ pan: '4111 1111 1111 1111', [field]: 'x' })).toThrow(/never needed/);
    },
  );

  it('refuses track data pasted into card.pan', () => {
    for (const pan of [';4111111111111111=25121010000012345678?', '%B4111111111111111^DOE/JOHN^2512101?']) {
      expect(() => cardFacts({ pan })).toThrow(expect.objectContaining({ code: 'SENSITIVE_DATA', field: 'card.pan' }));
    }
  });

  it('accepts 12 and 19 digits, rejects 11 and 20', () => {
    expect(() => cardFacts({ pan: withCheckDigit('41111111111') })).not.toThrow();
    expect(() => cardFacts({ pan: withCheckDigit('411111111111111111') })).not.toThrow();
    for (const pan of [withCheckDigit('4111111111'), withCheckDigit('4111111111111111111')]) {
      const error = inputError(() => cardFacts({ pan }));
      expect(error.code).toBe('INVALID_CARD');
      expect(error.field).toBe('card.pan');
      expect(error.message).toContain('card.pan');
      expect(error.message).toContain('12-19 digits');
    }
  });

  it('rejects letters and other punctuation', () => {
    for (const pan of ['4111 1111 1111 111a', '4111.1111.1111.1111', '', '   ']) {
      const error = inputError(() => cardFacts({ pan }));
      expect(error.field).toBe('card.pan');
      expect(error.code).toBe('INVALID_CARD');
    }
  });

  it('rejects a PAN that is not a string', () => {
    const error = inputError(() => cardFacts({ pan: 4111111111111111 }));
    expect(error.field).toBe('card.pan');
    expect(error.message).toContain('string');
  });

  it('rejects a Luhn failure, naming the rule', () => {
    const error = inputError(() => cardFacts({ pan: '4111 1111 1111 1112' }));
    expect(error.code).toBe('INVALID_CARD');
    expect(error.field).toBe('card.pan');
    expect(error.message).toContain('card.pan');
    expect(error.message).toMatch(/Luhn/);
  });

  it('accepts China UnionPay (62…) numbers that fail Luhn, and 19-digit ones', () => {
    const digits = normalisePan(UNIONPAY_19);
    expect(digits).toHaveLength(19);
    expect(cardFacts({ pan: UNIONPAY_19 }).last4).toBe('3446');
    const notLuhn = breakLuhn(withCheckDigit('622202020011223'));
    expect(luhnValid(notLuhn)).toBe(false);
    expect(cardFacts({ pan: notLuhn }).last4).toBe(notLuhn.slice(-4));
    // The exemption is for the 62 prefix only: the same digits under 61… are refused.
    expect(() => cardFacts({ pan: breakLuhn(withCheckDigit('612202020011223')) })).toThrow(/Luhn/);
  });

  it('never echoes the card number in an error message', () => {
    const bad = ['4111 1111 1111 1112', '41111111111111111111', '4111 1111 1111 111a', '411111111'];
    for (const pan of bad) {
      const error = inputError(() => cardFacts({ pan }));
      expect(error.message).not.toContain(pan);
      expect(error.message).not.toContain(normalisePan(pan));
      expect(error.message).not.toMatch(/\d{6,}/);
    }
  });

  it('rejects extra fields on a PAN card', () => {
    const error = inputError(() => cardFacts({ pan: VISA, last4: '1111' }));
    expect(error.code).toBe('INVALID_CARD');
    expect(error.field).toBe('card');
    const extra = inputError(() => cardFacts({ pan: VISA, holder: 'A N Other' }));
    expect(extra.field).toBe('card.holder');
    expect(extra.message).toContain('card.holder');
  });
});

describe('cardFacts: token and masked cards', () => {
  it('accepts a token, with no display digits', () => {
    const facts = cardFacts({ token: 'tok_abc123' });
    expect(facts.bin).toBeUndefined();
    expect(facts.last4).toBeUndefined();
    expect(facts.material).toContain('tok_abc123');
  });

  it('rejects an empty, blank, too long or non-string token', () => {
    for (const token of ['', '   ', 'x'.repeat(513), 42]) {
      const error = inputError(() => cardFacts({ token }));
      expect(error.field).toBe('card.token');
      expect(error.message).toContain('card.token');
    }
    expect(() => cardFacts({ token: 'x'.repeat(512) })).not.toThrow();
  });

  it('accepts { last4 } and { last4, bin, expiry }, keeping BIN (first 6) and last 4 but never the expiry', () => {
    expect(cardFacts({ last4: '3446' })).toMatchObject({ last4: '3446' });
    expect(cardFacts({ last4: '3446' }).bin).toBeUndefined();
    const full = cardFacts({ last4: '3446', bin: '62220202', expiry: '12/29' });
    expect(full.bin).toBe('622202');
    expect(full.last4).toBe('3446');
    // Only the hashed material may carry the expiry; nothing kept for display does.
    expect(Object.keys(full).sort()).toEqual(['bin', 'last4', 'material']);
  });

  it('treats MM/YY and MMYY as the same expiry, and a different expiry as a different card', () => {
    const slash = cardFacts({ last4: '3446', expiry: '12/29' }).material;
    expect(cardFacts({ last4: '3446', expiry: '1229' }).material).toBe(slash);
    expect(cardFacts({ last4: '3446', expiry: '11/29' }).material).not.toBe(slash);
    expect(cardFacts({ last4: '3446' }).material).not.toBe(slash);
  });

  it.each([
    [{ last4: '344' }, 'card.last4'],
    [{ last4: '34467' }, 'card.last4'],
    [{ last4: 'abcd' }, 'card.last4'],
    [{ last4: 3446 }, 'card.last4'],
    [{ last4: '3446', bin: '62220' }, 'card.bin'],
    [{ last4: '3446', bin: '622202020' }, 'card.bin'],
    [{ last4: '3446', bin: '6222O2' }, 'card.bin'],
    [{ last4: '3446', expiry: '13/29' }, 'card.expiry'],
    [{ last4: '3446', expiry: '00/29' }, 'card.expiry'],
    [{ last4: '3446', expiry: '12-29' }, 'card.expiry'],
    [{ last4: '3446', expiry: '12/2029' }, 'card.expiry'],
    [{ last4: '3446', expiry: 1229 }, 'card.expiry'],
  ])('rejects %o at %s', (card, field) => {
    const error = inputError(() => cardFacts(card));
    expect(error.code).toBe('INVALID_CARD');
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
  });
});

describe('cardFacts: shape', () => {
  it.each([null, undefined, 'tok_abc', 4111111111111111, [{ token: 'x' }]])('rejects %o as a card', (card) => {
    const error = inputError(() => cardFacts(card));
    expect(error.field).toBe('card');
    expect(error.message).toContain('card');
  });

  it('rejects no card kind and two card kinds at once', () => {
    for (const card of [{}, { pan: VISA, token: 'tok' }, { token: 'tok', last4: '1111' }, { bin: '411111' }]) {
      const error = inputError(() => cardFacts(card));
      expect(error.code).toBe('INVALID_CARD');
      expect(error.field).toBe('card');
      expect(error.message).toMatch(/exactly one of `pan`, `token` or `last4`/);
    }
  });
});

describe('sensitive card data', () => {
  it("passes over the Sale's and the card's own fields without a look, which is sound only while none of them is sensitive", () => {
    for (const field of [...Object.keys(SALE_SHAPE), ...Object.keys(CARD_SHAPE)]) expect(isSensitive(field)).toBe(false);
  });

  const names = [
    'cvv',
    'CVV',
    'cvv2',
    'cvc',
    'CVC2',
    'pin',
    'PIN',
    'pinBlock',
    'pin_block',
    'track1',
    'track2',
    'Track-2',
    'trackData',
    'securityCode',
  ];

  it.each(names)('refuses `%s` inside the card with SENSITIVE_DATA, saying it is never needed', (name) => {
    const error = inputError(() => cardFacts({ pan: VISA, [name]: '123' }));
    expect(error.code).toBe('SENSITIVE_DATA');
    expect(error.field).toBe(`card.${name}`);
    expect(error.message).toContain(`card.${name}`);
    expect(error.message).toMatch(/never needed/);
    expect(error.message).not.toContain('123');
  });

  it('refuses them before judging the rest of the card', () => {
    // A bare `{ cvv }` must be refused as sensitive data, not as "no card kind".
    expect(inputError(() => cardFacts({ cvv: '123' })).code).toBe('SENSITIVE_DATA');
  });

  it('refuseSensitiveFields prefixes the field and lets ordinary keys through', () => {
    expect(() => refuseSensitiveFields({ amount: 1, cardholder: 'x', pinned: true }, '')).not.toThrow();
    const error = inputError(() => refuseSensitiveFields({ track2: ';4111=29' }, 'card.'));
    expect(error.field).toBe('card.track2');
  });
});

describe('cardFacts: hostile objects (issue 10)', () => {
  it('turns a revoked Proxy, a throwing getter or a throwing trap into a GuardInputError naming the field', () => {
    const revoked = Proxy.revocable({ pan: VISA }, {});
    revoked.revoke();
    const getter = Object.defineProperty({}, 'pan', {
      enumerable: true,
      get: () => {
        throw new Error('no');
      },
    });
    const trap = new Proxy(
      { pan: VISA },
      {
        has: () => {
          throw new Error('trap');
        },
      },
    );
    expect(inputError(() => cardFacts(revoked.proxy)).field).toBe('card');
    expect(inputError(() => cardFacts(getter)).field).toBe('card.pan');
    expect(inputError(() => cardFacts(trap)).field).toBe('card');
  });

  it('never quotes an unknown card field named by a card number', () => {
    const error = inputError(() => cardFacts({ pan: VISA, '4111 1111 1111 1111': 'x' }));
    expect(error.message).not.toMatch(/4111/);
    expect(error.field).not.toMatch(/4111/);
  });
});
