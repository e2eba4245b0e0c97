import { describe, expect, it } from 'vitest';
import { GuardInputError } from '../src/errors.js';
import { readOverrideRequest } from '../src/override-request.js';
import { cardNumberLeaks } from './helpers/cards.js';

function inputError(request: unknown): GuardInputError {
  try {
    readOverrideRequest(request);
  } catch (error) {
    expect(error).toBeInstanceOf(GuardInputError);
    expect((error as GuardInputError).code).toBe('INVALID_OVERRIDE');
    return error as GuardInputError;
  }
  throw new Error(`expected ${JSON.stringify(request)} to be rejected`);
}

describe('readOverrideRequest: every problem at once (issue 16)', () => {
  it('names a missing operator, an empty reason and a bad supervisor together', () => {
    const error = inputError({ reason: '  ', supervisor: 42 });
    expect(error.issues.map((i) => i.field)).toEqual(['operator', 'reason', 'supervisor']);
    expect(error.field).toBe('operator');
    for (const i of error.issues) expect(error.message).toContain(i.message);
  });

  it('says what a missing field is for, without "got undefined"', () => {
    const error = inputError({ operator: 'alice' });
    expect(error.message).toBe('`reason` is required to override: a non-empty string saying why, as typed at the till');
  });

  it('never echoes a card number typed where the operator goes', () => {
    expect(cardNumberLeaks(JSON.stringify(inputError({ operator: 4111111111111111, reason: '' })))).toEqual([]);
  });

  it('accepts and masks a good request', () => {
    expect(readOverrideRequest({ operator: 'alice', reason: 'card 4111 1111 1111 1111 re-run' })).toEqual({
      operator: 'alice',
      reason: 'card [card number removed] re-run',
    });
  });
});

describe('readOverrideRequest: free text of a bounded size', () => {
  // Each of them is kept in the attempt, every journal line about it and the override event: a
  // 3 MB reason pasted by mistake became a 3 MB journal line, with nothing to say it was unusual.
  it.each(['operator', 'reason', 'supervisor'] as const)('refuses a %s over 512 characters, naming it and the limit', (field) => {
    const request = { operator: 'cashier-7', reason: 'customer buys two', [field]: 'x'.repeat(513) };
    const error = inputError(request);
    expect(error.field).toBe(field);
    expect(error.message).toContain('at most 512 characters');
    expect(error.message).not.toContain('x'.repeat(100));
  });

  it('keeps 512 characters whole', () => {
    const reason = 'r'.repeat(512);
    expect(readOverrideRequest({ operator: 'cashier-7', reason }).reason).toBe(reason);
  });
});
