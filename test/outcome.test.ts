import { describe, expect, it } from 'vitest';
import { GuardInputError } from '../src/errors.js';
import { answerOutcome, unknownOutcome, validateOutcome } from '../src/outcome.js';
import { cardNumberLeaks, panVariants } from './helpers/cards.js';

function inputError(outcome: unknown): GuardInputError {
  try {
    validateOutcome(outcome);
  } catch (error) {
    expect(error).toBeInstanceOf(GuardInputError);
    expect((error as Error).name).toBe('GuardInputError');
    expect((error as GuardInputError).code).toBe('INVALID_OUTCOME');
    return error as GuardInputError;
  }
  throw new Error(`expected ${JSON.stringify(outcome)} to be rejected`);
}

describe('validateOutcome: accepted', () => {
  it.each(['approved', 'declined', 'unknown', 'cancelled', 'voided'] as const)('passes %s through with its details', (status) => {
    const outcome = { status, authCode: 'A1B2C3', processorRef: 'ch_123', code: '51', message: 'insufficient funds' };
    expect(validateOutcome(outcome)).toEqual(outcome);
    expect(validateOutcome({ status })).toEqual({ status });
  });

  it('passes a refund with and without an amount', () => {
    expect(validateOutcome({ status: 'refunded' })).toEqual({ status: 'refunded' });
    expect(validateOutcome({ status: 'refunded', amount: 500 })).toEqual({ status: 'refunded', amount: 500 });
    expect(validateOutcome({ status: 'refunded', amount: Number.MAX_SAFE_INTEGER })).toEqual({
      status: 'refunded',
      amount: Number.MAX_SAFE_INTEGER,
    });
  });

  it('returns a clean copy: unknown keys dropped, details absent when not given', () => {
    const input = { status: 'approved', authCode: 'X', extra: 'dropped', pan: '4111111111111111' };
    const clean = validateOutcome(input);
    expect(clean).toEqual({ status: 'approved', authCode: 'X' });
    expect(clean).not.toBe(input);
    expect(validateOutcome({ status: 'refunded', amount: 5, authCode: 'X' })).toEqual({ status: 'refunded', amount: 5 });
  });

  it('accepts details up to 512 characters', () => {
    expect(validateOutcome({ status: 'declined', message: 'x'.repeat(512) })).toMatchObject({ status: 'declined' });
  });
});

describe('validateOutcome: rejected', () => {
  it.each([null, undefined, 'approved', 42])('rejects %o as an outcome', (outcome) => {
    expect(inputError(outcome).field).toBe('outcome');
  });

  it.each(['pending', 'paid', 'APPROVED', undefined, 1])('rejects status %o, naming the allowed ones', (status) => {
    const error = inputError({ status });
    expect(error.field).toBe('status');
    expect(error.message).toContain('`status`');
    expect(error.message).toContain("'approved'");
  });

  it('says pending comes back only through resume', () => {
    expect(inputError({ status: 'pending' }).message).toMatch(/resume/);
  });

  it.each(['approved', 'declined', 'voided'])('rejects an amount on %s', (status) => {
    const error = inputError({ status, amount: 100 });
    expect(error.field).toBe('amount');
    expect(error.message).toMatch(/refunded/);
  });

  it.each([12.5, 0, -1, '500', Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('rejects refund amount %o', (amount) => {
    const error = inputError({ status: 'refunded', amount });
    expect(error.field).toBe('amount');
    expect(error.message).toContain('`amount`');
  });

  it.each(['authCode', 'processorRef', 'code', 'message'])('rejects a too long or non-string %s', (field) => {
    for (const value of ['x'.repeat(513), 42, { nested: true }]) {
      const error = inputError({ status: 'approved', [field]: value });
      expect(error.field).toBe(field);
      expect(error.message).toContain(`\`${field}\``);
    }
  });
});

describe('validateOutcome: hostile objects (issue 10)', () => {
  it('turns a revoked Proxy or a throwing getter into a GuardInputError naming the field', () => {
    const revoked = Proxy.revocable({ status: 'approved' }, {});
    revoked.revoke();
    expect(inputError(revoked.proxy).field).toBe('outcome');
    const getter = Object.defineProperty({ status: 'declined' }, 'message', {
      enumerable: true,
      get: () => {
        throw new Error('no');
      },
    });
    expect(inputError(getter).field).toBe('message');
  });

  it('masks card numbers in details, however written, but keeps a processor reference that is not one', () => {
    for (const pan of panVariants()) {
      const clean = validateOutcome({
        status: 'declined',
        code: `c ${pan}`,
        message: `card ${pan}`,
        authCode: pan,
        processorRef: `ref ${pan}`,
      });
      expect(cardNumberLeaks(clean)).toEqual([]);
    }
    expect(validateOutcome({ status: 'approved', processorRef: '123456789012' })).toEqual({
      status: 'approved',
      processorRef: '123456789012',
    });
  });

  it('never quotes a card number in its error', () => {
    for (const pan of panVariants()) expect(cardNumberLeaks(inputError({ status: pan }))).toEqual([]);
  });
});

describe('answerOutcome: what a processor answered is always recorded (issue 10, item 7)', () => {
  it('records an approval with its details', () => {
    expect(answerOutcome({ approved: true, authCode: 'A1', processorRef: 'ch_1', message: 'ignored on an approval' })).toEqual({
      outcome: { status: 'approved', authCode: 'A1', processorRef: 'ch_1' },
      notes: [],
    });
    expect(answerOutcome({ approved: false, code: '51', message: 'insufficient funds', authCode: 'ignored' })).toEqual({
      outcome: { status: 'declined', code: '51', message: 'insufficient funds' },
      notes: [],
    });
  });

  it('drops a reference it cannot keep whole, and says so: a cut reference would match the wrong transaction', () => {
    const { outcome, notes } = answerOutcome({ approved: true, authCode: 'A'.repeat(600), processorRef: { id: 1 } }) ?? {};
    expect(outcome).toEqual({ status: 'approved' });
    expect(notes).toEqual([expect.stringMatching(/authCode dropped.*600/), expect.stringMatching(/processorRef dropped.*object/)]);
    expect(() => validateOutcome(outcome)).not.toThrow();
  });

  it('keeps a numeric auth code as text', () => {
    expect(answerOutcome({ approved: true, authCode: 123456 })?.outcome).toEqual({ status: 'approved', authCode: '123456' });
  });

  it('cuts a long decline message or code to 512 characters, and says so', () => {
    const { outcome, notes } = answerOutcome({ approved: false, code: 'C'.repeat(700), message: '<html>'.repeat(1000) }) ?? {};
    expect(outcome?.status).toBe('declined');
    expect((outcome as { message: string }).message).toHaveLength(512);
    expect((outcome as { code: string }).code).toHaveLength(512);
    expect(notes).toEqual([expect.stringMatching(/code cut to 512.*700/), expect.stringMatching(/message cut to 512.*6000/)]);
    expect(() => validateOutcome(outcome)).not.toThrow();
  });

  it('records the approval when reading a detail throws', () => {
    const answer = Object.defineProperty({ approved: true }, 'authCode', {
      get: () => {
        throw new Error('no');
      },
    });
    expect(answerOutcome(answer)).toEqual({
      outcome: { status: 'approved' },
      notes: [expect.stringMatching(/authCode dropped.*could not be read/)],
    });
  });

  it('masks card data in every detail', () => {
    for (const pan of panVariants()) {
      expect(cardNumberLeaks(answerOutcome({ approved: false, code: pan, message: `card ${pan} declined` }))).toEqual([]);
      expect(cardNumberLeaks(answerOutcome({ approved: true, authCode: pan, processorRef: pan }))).toEqual([]);
    }
  });

  it('is undefined for anything that is not an answer', () => {
    const revoked = Proxy.revocable({ approved: true }, {});
    revoked.revoke();
    const throwing = Object.defineProperty({}, 'approved', {
      get: () => {
        throw new Error('no');
      },
    });
    for (const value of [undefined, null, 'approved', { ok: true }, { approved: 'yes' }, revoked.proxy, throwing, Object.create(null)]) {
      expect(answerOutcome(value)).toBeUndefined();
    }
  });
});

describe('unknownOutcome', () => {
  it('keeps why, masked and cut to 512 characters, and says when it was cut', () => {
    expect(unknownOutcome('socket hang up')).toEqual({ outcome: { status: 'unknown', message: 'socket hang up' }, notes: [] });
    const page = `<html>${'x'.repeat(5000)} card 4111.1111.1111.1111</html>`;
    const { outcome, notes } = unknownOutcome(page);
    expect((outcome as { message: string }).message).toHaveLength(512);
    expect(notes).toEqual([expect.stringMatching(/message cut to 512/)]);
    expect(cardNumberLeaks(unknownOutcome(`x 4111.1111.1111.1111 ${'y'.repeat(600)}`))).toEqual([]);
  });
});

describe('validateOutcome: every problem at once (issue 16)', () => {
  it('names a bad status and each bad detail together, in field order', () => {
    const error = inputError({ message: 7, status: 'ok', authCode: 'x'.repeat(600) });
    expect(error.issues.map((i) => i.field)).toEqual(['status', 'authCode', 'message']);
    expect(error.field).toBe('status');
    for (const i of error.issues) expect(error.message).toContain(i.message);
  });

  it('says an amount is only for refunds once the status is known, and checks the details beside it', () => {
    expect(inputError({ status: 'approved', amount: 5, code: 51 }).issues.map((i) => i.field)).toEqual(['amount', 'code']);
    expect(inputError({ status: 'nope', amount: 5 }).issues.map((i) => i.field)).toEqual(['status']);
  });
});
