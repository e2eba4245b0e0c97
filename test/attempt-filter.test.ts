import { describe, expect, it } from 'vitest';
import { readFilter } from '../src/attempt-filter.js';
import { GuardInputError } from '../src/errors.js';
import { cardNumberLeaks } from './helpers/cards.js';
import { sale, testGuard, thrown } from './helpers/guard.js';

function filterError(filter: unknown): GuardInputError {
  try {
    readFilter(filter);
  } catch (error) {
    expect(error).toBeInstanceOf(GuardInputError);
    expect((error as GuardInputError).code).toBe('INVALID_FILTER');
    return error as GuardInputError;
  }
  throw new Error(`expected ${JSON.stringify(filter)} to be rejected`);
}

describe('readFilter (issue 16)', () => {
  it('accepts every field a filter has, a status alone or in an array', () => {
    expect(readFilter({})).toEqual({});
    expect(readFilter({ status: 'unknown' })).toEqual({ status: ['unknown'] });
    expect(readFilter({ status: ['pending', 'unknown'], merchantId: 'M-1', orderId: 'O-1', kind: 'refund' })).toEqual({
      status: ['pending', 'unknown'],
      merchantId: 'M-1',
      orderId: 'O-1',
      kind: 'refund',
    });
  });

  it('refuses a misspelt status instead of matching nothing', () => {
    const error = filterError({ status: 'unkown' });
    expect(error.field).toBe('filter.status');
    expect(error.message).toMatch(/must be a status or an array of statuses \('pending', 'unknown'.*got "unkown" \(string\)/);
    expect(filterError({ status: ['unknown', 'aproved'] }).message).toMatch(/got "aproved"/);
    expect(filterError({ status: [] }).field).toBe('filter.status');
  });

  it('names every problem at once, fields first and unknown keys last', () => {
    const error = filterError({ statuses: ['unknown'], kind: 'payment', status: 'x', merchantId: 7 });
    expect(error.issues.map((i) => i.field)).toEqual(['filter.status', 'filter.merchantId', 'filter.kind', 'filter.statuses']);
    expect(error.field).toBe('filter.status');
  });

  it('never quotes a card number typed as a key or an id', () => {
    expect(cardNumberLeaks(JSON.stringify(filterError({ '4111111111111111': 1, orderId: 4111111111111111 })))).toEqual([]);
  });

  it('refuses what is not an object', () => {
    for (const input of [null, 'unknown', ['unknown'], 3]) expect(filterError(input).field).toBe('filter');
  });
});

describe('guard.attempts with a misspelt filter', () => {
  it('throws rather than listing nothing while an unknown attempt waits', async () => {
    const { guard } = await testGuard();
    const { attempt } = await guard.begin(sale());
    await attempt?.markUnknown();
    expect(await guard.attempts({ status: 'unknown' })).toHaveLength(1);
    const error = await thrown(() => guard.attempts({ status: 'unkown' as never }));
    expect(error).toBeInstanceOf(GuardInputError);
  });
});
