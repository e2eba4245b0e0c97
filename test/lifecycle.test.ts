import { describe, expect, it } from 'vitest';
import { ATTEMPT_STATUSES, canTransition, isLive, isOpen, isStatus } from '../src/lifecycle.js';
import type { AttemptStatus } from '../src/types.js';

const STATUSES: readonly AttemptStatus[] = ['pending', 'unknown', 'approved', 'declined', 'cancelled', 'voided', 'refunded'];

// SPEC §2, written out independently of src/lifecycle.ts.
const LEGAL = new Set([
  'pending→approved',
  'pending→declined',
  'pending→unknown',
  'pending→cancelled',
  'unknown→approved',
  'unknown→declined',
  'unknown→cancelled',
  'unknown→voided',
  'unknown→pending',
  'approved→voided',
  'approved→refunded',
]);

const pairs = STATUSES.flatMap((from) => STATUSES.map((to) => [from, to] as const));

describe('canTransition', () => {
  it.each(pairs)('%s → %s follows the SPEC §2 table', (from, to) => {
    expect(canTransition(from, to)).toBe(LEGAL.has(`${from}→${to}`));
  });

  it('allows exactly the 11 transitions of the table', () => {
    expect(pairs.filter(([from, to]) => canTransition(from, to))).toHaveLength(LEGAL.size);
  });

  it('never allows a status to itself (same-status settles are handled as no-ops by the guard)', () => {
    for (const status of STATUSES) expect(canTransition(status, status)).toBe(false);
  });

  it('never goes back to pending except from unknown (resume)', () => {
    expect(STATUSES.filter((from) => canTransition(from, 'pending'))).toEqual(['unknown']);
  });
});

describe('isLive', () => {
  it('is true for pending, unknown and approved only', () => {
    expect(STATUSES.filter(isLive)).toEqual(['pending', 'unknown', 'approved']);
  });
});

describe('isOpen', () => {
  it('is true for pending and unknown only: no outcome known yet', () => {
    expect(STATUSES.filter(isOpen)).toEqual(['pending', 'unknown']);
  });
});

describe('ATTEMPT_STATUSES', () => {
  it('lists every status of SPEC §2 once, and only those', () => {
    expect([...ATTEMPT_STATUSES].sort()).toEqual([...STATUSES].sort());
    expect(ATTEMPT_STATUSES.every(isStatus)).toBe(true);
    expect(isStatus('settled')).toBe(false);
  });
});
