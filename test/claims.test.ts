import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sameVersion } from '../src/claims.js';
import { withChanges } from '../src/record.js';
import type { AttemptRecord } from '../src/types.js';
import { sampleRecord } from './helpers/records.js';

/** Every time of `record` moved by `ms`, as a shared store reads a row after this terminal's clock moved against the database's. */
function shifted(record: AttemptRecord, ms: number): AttemptRecord {
  return withChanges(record, {
    createdAt: record.createdAt + ms,
    updatedAt: record.updatedAt + ms,
    pendingSince: record.pendingSince + ms,
    ...(record.approvedAt === undefined ? {} : { approvedAt: record.approvedAt + ms }),
  });
}

describe('sameVersion', () => {
  const begun = sampleRecord('a');
  const unknown = withChanges(begun, { status: 'unknown', updatedAt: begun.createdAt + 30_000 });

  it('is the same version read on another clock: every time shifted by one amount', () => {
    fc.assert(fc.property(fc.integer({ min: -86_400_000, max: 86_400_000 }), (ms) => sameVersion(shifted(unknown, ms), unknown)));
  });

  it('is another version when the state or its times since creation differ', () => {
    expect(sameVersion(withChanges(unknown, { status: 'pending' }), unknown)).toBe(false);
    expect(sameVersion(withChanges(unknown, { updatedAt: unknown.updatedAt + 1 }), unknown)).toBe(false);
    expect(sameVersion(withChanges(unknown, { pendingSince: unknown.pendingSince + 1 }), unknown)).toBe(false);
    expect(sameVersion(withChanges(unknown, { refunded: 100 }), unknown)).toBe(false);
    // Resumed then unknown again a minute later, read on a clock a minute behind: a new version all the same.
    const again = withChanges(unknown, { pendingSince: unknown.updatedAt + 60_000, updatedAt: unknown.updatedAt + 90_000 });
    expect(sameVersion(shifted(again, -60_000), unknown)).toBe(false);
  });
});
