import { describe, expect, it } from 'vitest';
import { AttemptIndex, UNKNOWN_MAX_AGE_MS } from '../src/attempt-index.js';
import type { AttemptRecord } from '../src/types.js';

const T0 = 1_767_225_600_000;
const HOUR = 3_600_000;
const RETENTION = 24 * HOUR;
const WINDOW = 10 * 60_000;

function record(id: string, patch: Partial<AttemptRecord> = {}): AttemptRecord {
  const createdAt = patch.createdAt ?? T0;
  return Object.freeze({
    v: 1,
    id,
    idempotencyKey: `pdg_${id}_0123456789abcdef`,
    fingerprint: `fp-${id}`,
    merchantId: 'M-1',
    kind: 'sale',
    amount: 1250,
    currency: 'CNY',
    status: 'pending',
    createdAt,
    updatedAt: createdAt,
    pendingSince: createdAt,
    refunded: 0,
    ...patch,
  } satisfies AttemptRecord);
}

/** A new version of `r`: records are immutable, a change is a new object. */
const next = (r: AttemptRecord, patch: Partial<AttemptRecord>): AttemptRecord => Object.freeze({ ...r, ...patch });

const ids = (records: readonly AttemptRecord[]) => records.map((r) => r.id).sort();

describe('AttemptIndex lookups', () => {
  it('finds records by id, fingerprint and merchant + order', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    const a = record('a', { fingerprint: 'fp-1', orderId: 'O-1' });
    const b = record('b', { fingerprint: 'fp-1', orderId: 'O-2' });
    const c = record('c', { fingerprint: 'fp-2', orderId: 'O-1', merchantId: 'M-2' });
    for (const r of [a, b, c]) index.add(r);
    expect(index.size).toBe(3);
    expect(index.get('b')).toBe(b);
    expect(index.get('zzz')).toBeUndefined();
    expect(ids(index.byFingerprint('fp-1'))).toEqual(['a', 'b']);
    expect(ids(index.byFingerprint('fp-2'))).toEqual(['c']);
    expect(index.byFingerprint('fp-none')).toEqual([]);
    expect(ids(index.byOrder('M-1', 'O-1'))).toEqual(['a']);
    expect(ids(index.byOrder('M-2', 'O-1'))).toEqual(['c']);
    expect(index.byOrder('M-1', 'O-3')).toEqual([]);
    expect(ids([...index.values()])).toEqual(['a', 'b', 'c']);
  });

  it('does not confuse merchant and order ids that concatenate alike', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    index.add(record('a', { merchantId: 'M-1', orderId: '2O' }));
    expect(index.byOrder('M-12', 'O')).toEqual([]);
    expect(index.byOrder('M-1', '2O')).toHaveLength(1);
  });

  it('replaces a record by id: the new version is the only one found', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    const pending = record('a', { fingerprint: 'fp-1', orderId: 'O-1' });
    index.add(pending);
    const approved = next(pending, { status: 'approved', approvedAt: T0 + 1000, updatedAt: T0 + 1000 });
    index.add(approved);
    expect(index.size).toBe(1);
    expect(index.get('a')).toBe(approved);
    expect(index.byFingerprint('fp-1')).toEqual([approved]);
    expect(index.byOrder('M-1', 'O-1')).toEqual([approved]);
  });

  it.each(['declined', 'cancelled', 'voided', 'refunded'] as const)(
    'drops a record that became %s from fingerprint and order lookups, keeping it by id',
    (status) => {
      const index = new AttemptIndex(RETENTION, WINDOW);
      const live = record('a', { fingerprint: 'fp-1', orderId: 'O-1' });
      const sibling = record('b', { fingerprint: 'fp-1', orderId: 'O-1' });
      index.add(live);
      index.add(sibling);
      const dead = next(live, { status, updatedAt: T0 + 1000 });
      index.add(dead);
      expect(index.get('a')).toBe(dead);
      expect(index.byFingerprint('fp-1')).toEqual([sibling]);
      expect(index.byOrder('M-1', 'O-1')).toEqual([sibling]);
    },
  );

  it('keeps unknown and approved records in the lookups', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    index.add(record('u', { fingerprint: 'fp-1', status: 'unknown' }));
    index.add(record('a', { fingerprint: 'fp-1', status: 'approved', approvedAt: T0 }));
    expect(ids(index.byFingerprint('fp-1'))).toEqual(['a', 'u']);
  });

  it('removes a record and returns it', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    const a = record('a', { fingerprint: 'fp-1', orderId: 'O-1' });
    index.add(a);
    expect(index.remove('a')).toBe(a);
    expect(index.remove('a')).toBeUndefined();
    expect(index.size).toBe(0);
    expect(index.byFingerprint('fp-1')).toEqual([]);
    expect(index.byOrder('M-1', 'O-1')).toEqual([]);
  });
});

describe('AttemptIndex.openRefundsOf', () => {
  const refund = (id: string, refundOf: string, patch: Partial<AttemptRecord> = {}) => record(id, { kind: 'refund', refundOf, ...patch });

  it('finds the open refund attempts of a sale, whatever their fingerprint, and nothing else', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    index.add(record('s', { status: 'approved', approvedAt: T0 }));
    index.add(refund('r1', 's'));
    index.add(refund('r2', 's', { status: 'unknown' }));
    index.add(refund('r3', 's', { status: 'declined' }));
    index.add(refund('r4', 'other'));
    index.add(record('x', { refundOf: 's' })); // a sale naming refundOf is no refund
    expect(ids(index.openRefundsOf('s'))).toEqual(['r1', 'r2']);
    expect(ids(index.openRefundsOf('other'))).toEqual(['r4']);
    expect(index.openRefundsOf('nothing')).toEqual([]);
  });

  it('follows a refund through its life: kept while open, out once settled, back when resumed', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    const pending = refund('r', 's');
    const sibling = refund('q', 's');
    index.add(pending);
    index.add(sibling);
    const unknown = next(pending, { status: 'unknown', updatedAt: T0 + 1 });
    index.add(unknown);
    expect(ids(index.openRefundsOf('s'))).toEqual(['q', 'r']);
    expect(index.openRefundsOf('s')).toContain(unknown);
    const approved = next(unknown, { status: 'approved', approvedAt: T0 + 2, updatedAt: T0 + 2 });
    index.add(approved);
    expect(index.openRefundsOf('s')).toEqual([sibling]);
    index.add(next(sibling, { status: 'declined', updatedAt: T0 + 3 }));
    expect(index.openRefundsOf('s')).toEqual([]);
    // unknown → pending (resume) of a refund settled unknown again.
    const resumed = next(unknown, { status: 'pending', pendingSince: T0 + 4, updatedAt: T0 + 4 });
    index.add(resumed);
    expect(index.openRefundsOf('s')).toEqual([resumed]);
  });

  it('drops a refund removed by hand or expired after 7 days', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    index.add(refund('r1', 's'));
    index.add(refund('r2', 's', { status: 'unknown' }));
    index.remove('r1');
    expect(ids(index.openRefundsOf('s'))).toEqual(['r2']);
    expect(ids(index.expire(T0 + UNKNOWN_MAX_AGE_MS))).toEqual(['r2']);
    expect(index.openRefundsOf('s')).toEqual([]);
  });

  it('files open refunds at start-up, and finds none among settled ones', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    index.addAll(
      [
        refund('r1', 's', { status: 'unknown' }),
        refund('r2', 's', { status: 'approved', approvedAt: T0 }),
        refund('r3', 's', { status: 'pending' }),
      ],
      T0,
    );
    expect(ids(index.openRefundsOf('s'))).toEqual(['r1', 'r3']);
  });
});

describe('AttemptIndex expiry', () => {
  it('expires a settled record `retention` after its last update, not before', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    const declined = record('d', { status: 'declined', updatedAt: T0 + HOUR });
    index.add(declined);
    expect(index.deadline(declined)).toBe(T0 + HOUR + RETENTION);
    expect(index.expire(T0 + HOUR + RETENTION - 1)).toEqual([]);
    expect(index.get('d')).toBe(declined);
    expect(index.expire(T0 + HOUR + RETENTION)).toEqual([declined]);
    expect(index.get('d')).toBeUndefined();
    expect(index.size).toBe(0);
  });

  it('expires an approved record the same way, and takes it out of the lookups', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    const approved = record('a', { status: 'approved', approvedAt: T0, orderId: 'O-1' });
    index.add(approved);
    expect(index.expire(T0 + RETENTION)).toEqual([approved]);
    expect(index.byFingerprint(approved.fingerprint)).toEqual([]);
    expect(index.byOrder('M-1', 'O-1')).toEqual([]);
  });

  it('keeps open records 7 days after creation, whatever retention is', () => {
    const index = new AttemptIndex(HOUR, WINDOW);
    const pending = record('p', { updatedAt: T0 + 5 * HOUR });
    const unknown = record('u', { status: 'unknown', updatedAt: T0 + 5 * HOUR });
    index.add(pending);
    index.add(unknown);
    expect(index.deadline(unknown)).toBe(T0 + UNKNOWN_MAX_AGE_MS);
    expect(index.expire(T0 + 6 * HOUR + HOUR)).toEqual([]);
    expect(index.expire(T0 + UNKNOWN_MAX_AGE_MS - 1)).toEqual([]);
    expect(ids(index.expire(T0 + UNKNOWN_MAX_AGE_MS))).toEqual(['p', 'u']);
    expect(index.size).toBe(0);
  });

  it('does not expire a newer version early because of an older version still queued', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    const pending = record('a');
    const approved = next(pending, { status: 'approved', approvedAt: T0 + HOUR, updatedAt: T0 + HOUR });
    const voided = next(approved, { status: 'voided', updatedAt: T0 + 10 * HOUR });
    index.add(pending);
    index.add(approved);
    index.add(voided);
    // The approved version's deadline passes: the voided one must survive it.
    expect(index.expire(T0 + HOUR + RETENTION)).toEqual([]);
    expect(index.get('a')).toBe(voided);
    expect(index.expire(T0 + 10 * HOUR + RETENTION)).toEqual([voided]);
  });

  it('keeps a resumed attempt 7 days from its resume, and a settled one by its settled deadline only', () => {
    const index = new AttemptIndex(HOUR, WINDOW);
    const unknown = record('a', { status: 'unknown' });
    const resumed = next(unknown, { status: 'pending', pendingSince: T0 + HOUR, updatedAt: T0 + HOUR });
    index.add(unknown);
    index.add(resumed);
    // Not at 7 days from its creation: its charge may be in flight again.
    expect(index.expire(T0 + UNKNOWN_MAX_AGE_MS)).toEqual([]);
    expect(index.expire(T0 + HOUR + UNKNOWN_MAX_AGE_MS - 1)).toEqual([]);
    expect(index.expire(T0 + HOUR + UNKNOWN_MAX_AGE_MS)).toEqual([resumed]);

    const late = record('b', { status: 'unknown', createdAt: T0 });
    const approved = next(late, { status: 'approved', approvedAt: T0 + 2 * HOUR, updatedAt: T0 + 2 * HOUR });
    const index2 = new AttemptIndex(UNKNOWN_MAX_AGE_MS, WINDOW);
    index2.add(late);
    index2.add(approved);
    // Settled with a 7-day retention: the open deadline (createdAt + 7 d) is stale.
    expect(index2.expire(T0 + UNKNOWN_MAX_AGE_MS)).toEqual([]);
    expect(index2.expire(T0 + 2 * HOUR + UNKNOWN_MAX_AGE_MS)).toEqual([approved]);
  });

  it('does not return a record removed by hand', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    index.add(record('d', { status: 'declined' }));
    index.remove('d');
    expect(index.expire(T0 + RETENTION)).toEqual([]);
  });

  it('returns exactly the records whose deadline has passed, oldest first', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    const records = Array.from({ length: 10 }, (_, i) => record(`r${i}`, { status: 'declined', updatedAt: T0 + i * HOUR }));
    for (const r of records) index.add(r);
    expect(index.expire(T0 + 3 * HOUR + RETENTION)).toEqual(records.slice(0, 4));
    expect(index.size).toBe(6);
    expect(index.expire(T0 + 3 * HOUR + RETENTION)).toEqual([]);
    expect(index.expire(T0 + 100 * HOUR)).toEqual(records.slice(4));
  });

  it('stays bounded while 100k attempts churn through it', () => {
    const index = new AttemptIndex(HOUR, WINDOW);
    let now = T0;
    let expired = 0;
    for (let i = 0; i < 100_000; i++) {
      now += 100;
      const pending = record(`r${i}`, { createdAt: now, fingerprint: `fp-${i % 1000}`, orderId: `O-${i % 1000}` });
      index.add(pending);
      index.add(next(pending, { status: i % 3 === 0 ? 'declined' : 'approved', approvedAt: now, updatedAt: now }));
      expired += index.expire(now).length;
      // At most one retention's worth of attempts is ever held.
      if (i % 10_000 === 0) expect(index.size).toBeLessThanOrEqual(HOUR / 100 + 1);
    }
    expired += index.expire(now + HOUR).length;
    expect(expired).toBe(100_000);
    expect(index.size).toBe(0);
    for (let k = 0; k < 1000; k++) {
      expect(index.byFingerprint(`fp-${k}`)).toEqual([]);
      expect(index.byOrder('M-1', `O-${k}`)).toEqual([]);
    }
  });
});

describe('AttemptIndex.addAll (start-up)', () => {
  it('files distinct records as add() would: lookups and expiry alike', () => {
    const records = [
      record('a', { fingerprint: 'fp-1', orderId: 'O-1', status: 'approved', approvedAt: T0 }),
      record('b', { fingerprint: 'fp-1', status: 'declined' }),
      record('c', { fingerprint: 'fp-2', status: 'unknown' }),
    ];
    const bulk = new AttemptIndex(RETENTION, WINDOW);
    bulk.addAll(records, T0);
    const single = new AttemptIndex(RETENTION, WINDOW);
    for (const r of records) single.add(r);
    for (const index of [bulk, single]) {
      expect(index.size).toBe(3);
      expect(ids(index.byFingerprint('fp-1'))).toEqual(['a']);
      expect(ids(index.byOrder('M-1', 'O-1'))).toEqual(['a']);
      expect(ids(index.byFingerprint('fp-2'))).toEqual(['c']);
      expect(ids(index.expire(T0 + RETENTION))).toEqual(['a', 'b']);
      expect(ids(index.expire(T0 + UNKNOWN_MAX_AGE_MS))).toEqual(['c']);
    }
  });

  it('with a repeated id, the later version wins and the earlier leaves no link behind', () => {
    const first = record('a', { fingerprint: 'fp-1', orderId: 'O-1' });
    const later = next(first, { fingerprint: 'fp-9', orderId: 'O-9', status: 'approved' });
    const index = new AttemptIndex(RETENTION, WINDOW);
    index.addAll([first, record('b'), later], T0);
    expect(index.size).toBe(2);
    expect(index.get('a')).toBe(later);
    expect(index.byFingerprint('fp-1')).toEqual([]);
    expect(index.byOrder('M-1', 'O-1')).toEqual([]);
    expect(index.byFingerprint('fp-9')).toEqual([later]);
  });
});

describe('AttemptIndex settles in place', () => {
  it('replaces a settled version where it was filed, beside others under the same fingerprint and order', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    const a = record('a', { fingerprint: 'fp-1', orderId: 'O-1' });
    const b = record('b', { fingerprint: 'fp-1', orderId: 'O-1' });
    index.add(a);
    index.add(b);
    const approved = next(a, { status: 'approved' });
    index.add(approved);
    expect(index.byFingerprint('fp-1')).toEqual([approved, b]);
    expect(index.byOrder('M-1', 'O-1')).toEqual([approved, b]);
    const declined = next(b, { status: 'declined' });
    index.add(declined);
    expect(index.byFingerprint('fp-1')).toEqual([approved]);
    expect(index.byOrder('M-1', 'O-1')).toEqual([approved]);
    expect(index.get('b')).toBe(declined);
  });
});

describe('AttemptIndex: fingerprints past the window', () => {
  it('unlinks an approved attempt from its fingerprint once the window has passed, keeping it by id and order', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    const approved = record('a', { fingerprint: 'fp-1', orderId: 'O-1', status: 'approved', approvedAt: T0, updatedAt: T0 });
    index.add(approved);
    index.expire(T0 + WINDOW - 1);
    expect(index.byFingerprint('fp-1')).toEqual([approved]);
    index.expire(T0 + WINDOW);
    expect(index.byFingerprint('fp-1')).toEqual([]);
    expect(index.get('a')).toBe(approved);
    expect(index.byOrder('M-1', 'O-1')).toEqual([approved]);
    expect(ids(index.expire(T0 + RETENTION))).toEqual(['a']);
  });

  it('keeps open attempts under their fingerprint whatever their age, and stops at the first attempt still inside its window', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    const unknown = record('u', { fingerprint: 'fp-1', status: 'unknown' });
    const early = record('e', { fingerprint: 'fp-2', status: 'approved', approvedAt: T0, updatedAt: T0 });
    const late = record('l', { fingerprint: 'fp-3', status: 'approved', approvedAt: T0 + HOUR, updatedAt: T0 + HOUR });
    for (const r of [unknown, early, late]) index.add(r);
    index.expire(T0 + HOUR);
    expect(index.byFingerprint('fp-1')).toEqual([unknown]);
    expect(index.byFingerprint('fp-2')).toEqual([]);
    expect(index.byFingerprint('fp-3')).toEqual([late]);
    index.expire(T0 + HOUR + WINDOW);
    expect(index.byFingerprint('fp-3')).toEqual([]);
  });

  it('does not link a later version of an attempt whose window has passed', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    const approved = record('a', { fingerprint: 'fp-1', status: 'approved', approvedAt: T0, updatedAt: T0 });
    index.add(approved);
    index.expire(T0 + HOUR);
    const partlyRefunded = next(approved, { refunded: 100, updatedAt: T0 + HOUR });
    index.add(partlyRefunded);
    expect(index.byFingerprint('fp-1')).toEqual([]);
    expect(index.get('a')).toBe(partlyRefunded);
    // Pruned by its new deadline, not the old one.
    expect(index.expire(T0 + RETENTION)).toEqual([]);
    expect(ids(index.expire(T0 + HOUR + RETENTION))).toEqual(['a']);
  });
});

describe('AttemptIndex.addAll past the window', () => {
  it('files an approved attempt whose window has passed by id and order only, and open ones by fingerprint too', () => {
    const approved = record('a', { fingerprint: 'fp-1', orderId: 'O-1', status: 'approved', approvedAt: T0, updatedAt: T0 });
    const fresh = record('f', { fingerprint: 'fp-2', status: 'approved', approvedAt: T0 + HOUR, updatedAt: T0 + HOUR });
    const unknown = record('u', { fingerprint: 'fp-3', orderId: 'O-3', status: 'unknown' });
    const index = new AttemptIndex(RETENTION, WINDOW);
    index.addAll([approved, fresh, unknown], T0 + HOUR);
    expect(index.byFingerprint('fp-1')).toEqual([]);
    expect(index.byOrder('M-1', 'O-1')).toEqual([approved]);
    expect(index.get('a')).toBe(approved);
    expect(index.byFingerprint('fp-2')).toEqual([fresh]);
    expect(index.byFingerprint('fp-3')).toEqual([unknown]);
    expect(index.byOrder('M-1', 'O-3')).toEqual([unknown]);
    // The sweep picks up where start-up left it: the fresh one leaves at its own window's end.
    index.expire(T0 + HOUR + WINDOW);
    expect(index.byFingerprint('fp-2')).toEqual([]);
    expect(ids(index.expire(T0 + HOUR + RETENTION))).toEqual(['a', 'f']);
  });
});

describe('AttemptIndex window sweep, edge cases', () => {
  it('judges the window by approvedAt: a later settle dated before the approval (a clock set back) holds the sweep', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    // Approved at T0 + HOUR, then partly refunded (and stored) on a clock an hour behind.
    const refunded = record('a', { fingerprint: 'fp-1', status: 'approved', approvedAt: T0 + HOUR, updatedAt: T0, refunded: 100 });
    const after = record('b', { fingerprint: 'fp-2', status: 'approved', approvedAt: T0 + 1, updatedAt: T0 + 1 });
    index.addAll([refunded, after], T0);
    index.expire(T0 + WINDOW + 1);
    expect(index.byFingerprint('fp-1')).toEqual([refunded]);
    // Held behind it, 'b' leaves late, never early; both leave once the later window ends.
    expect(index.byFingerprint('fp-2')).toEqual([after]);
    index.expire(T0 + HOUR + WINDOW);
    expect(index.byFingerprint('fp-1')).toEqual([]);
    expect(index.byFingerprint('fp-2')).toEqual([]);
  });

  it('keeps its place when expiry compacts the queue under it', () => {
    const index = new AttemptIndex(HOUR, WINDOW);
    const approved = (i: number, at: number) =>
      record(`r${i}`, { fingerprint: `fp-${i}`, status: 'approved', approvedAt: at, updatedAt: at });
    for (let i = 0; i < 3000; i++) index.add(approved(i, T0 + i * 1000));
    // Past retention for the first 1600: the queue drops its consumed head.
    expect(index.expire(T0 + 1599 * 1000 + HOUR)).toHaveLength(1600);
    const now = T0 + 1599 * 1000 + HOUR;
    const later = Array.from({ length: 100 }, (_, i) => approved(3000 + i, now + i));
    for (const r of later) index.add(r);
    expect(index.byFingerprint('fp-3000')).toHaveLength(1);
    index.expire(now + 99 + WINDOW);
    expect(later.filter((r) => index.byFingerprint(r.fingerprint).length > 0)).toEqual([]);
  });
});

describe('AttemptIndex window sweep past superseded entries', () => {
  it('is not held up by an entry for a version that has since been replaced', () => {
    const index = new AttemptIndex(RETENTION, WINDOW);
    // Settled on a clock an hour ahead, then voided on the right one: the first entry is stale, and later.
    const ahead = record('a', { fingerprint: 'fp-1', status: 'approved', approvedAt: T0 + HOUR, updatedAt: T0 + HOUR });
    index.add(ahead);
    index.add(next(ahead, { status: 'voided', updatedAt: T0 }));
    const b = record('b', { fingerprint: 'fp-2', status: 'approved', approvedAt: T0 + 1, updatedAt: T0 + 1 });
    index.add(b);
    index.expire(T0 + 1 + WINDOW);
    expect(index.byFingerprint('fp-2')).toEqual([]);
    expect(index.get('b')).toBe(b);
  });
});

describe('AttemptIndex over a store that keeps history', () => {
  const approvedAt = (id: string, at: number, patch: Partial<AttemptRecord> = {}) =>
    record(id, { status: 'approved', approvedAt: at, updatedAt: at, createdAt: at - 1000, ...patch });

  it('lets a settled record go once unchanged for the window, without returning it for deletion', () => {
    const index = new AttemptIndex(RETENTION, WINDOW, true);
    index.add(approvedAt('a', T0, { orderId: 'O-1' }));
    index.add(record('open', { status: 'unknown' }));
    expect(index.expire(T0 + WINDOW - 1)).toEqual([]);
    expect(ids(index.byOrder('M-1', 'O-1'))).toEqual(['a']);
    expect(index.expire(T0 + WINDOW)).toEqual([]);
    // Gone from memory (the store has it); the open one stays.
    expect(index.get('a')).toBeUndefined();
    expect(index.byOrder('M-1', 'O-1')).toEqual([]);
    expect(ids([...index.values()])).toEqual(['open']);
  });

  it('keeps an approval until its window ends even when its last change is stamped earlier (a clock set back)', () => {
    const index = new AttemptIndex(RETENTION, WINDOW, true);
    const a = approvedAt('a', T0 + HOUR, { updatedAt: T0 });
    index.add(a);
    index.expire(T0 + WINDOW);
    expect(index.get('a')).toBe(a);
    index.expire(T0 + HOUR + WINDOW);
    expect(index.get('a')).toBeUndefined();
  });

  it('returns for deletion only what passed retention, and keeps a pinned record (its write failed)', () => {
    const index = new AttemptIndex(WINDOW / 2, WINDOW, true);
    index.add(record('declined', { status: 'declined', updatedAt: T0 }));
    index.add(record('unwritten', { status: 'declined', updatedAt: T0 }));
    // Retention shorter than the window: retention wins, and says delete.
    expect(index.expire(T0 + WINDOW / 2, { pinned: (id) => id === 'unwritten' }).map((r) => r.id)).toEqual(['declined', 'unwritten']);
    const history = new AttemptIndex(RETENTION, WINDOW, true);
    history.add(record('unwritten', { status: 'declined', updatedAt: T0 }));
    expect(history.expire(T0 + WINDOW, { pinned: (id) => id === 'unwritten' })).toEqual([]);
    expect(history.get('unwritten')?.status).toBe('declined');
  });

  it('holds everything in memory while a store read is out, and says what left once it lets go', () => {
    const index = new AttemptIndex(RETENTION, WINDOW, true);
    const a = approvedAt('a', T0);
    index.add(a);
    const left: string[] = [];
    expect(index.expire(T0 + WINDOW, { holding: true, left: (r) => left.push(r.id) })).toEqual([]);
    expect(index.get('a')).toBe(a);
    expect(left).toEqual([]);
    expect(index.expire(T0 + WINDOW, { left: (r) => left.push(r.id) })).toEqual([]);
    expect(left).toEqual(['a']);
    expect(index.get('a')).toBeUndefined();
  });

  it('an open record stays for 7 days, then is returned for deletion', () => {
    const index = new AttemptIndex(RETENTION, WINDOW, true);
    index.add(record('open', { status: 'unknown' }));
    expect(index.expire(T0 + UNKNOWN_MAX_AGE_MS - 1)).toEqual([]);
    expect(index.expire(T0 + UNKNOWN_MAX_AGE_MS).map((r) => r.id)).toEqual(['open']);
  });
});

describe('AttemptIndex.pendingFrom: open attempts first seen dated ahead (a clock set back since they were stamped)', () => {
  /** An index whose guard clock reads `now()`: a stamp past it is ahead. */
  function indexAt(now: () => number): AttemptIndex {
    const index = new AttemptIndex(RETENTION, WINDOW);
    index.nowIfAhead = (stamp) => (stamp > now() ? now() : undefined);
    return index;
  }

  it('counts from pendingSince for a record that is not ahead', () => {
    const index = indexAt(() => T0 + HOUR);
    const r = record('a', { pendingSince: T0 });
    index.add(r);
    expect(index.pendingFrom(r)).toBe(T0);
  });

  it('counts from the first sighting for one dated ahead, through later versions with the same pendingSince', () => {
    let now = T0;
    const index = indexAt(() => now);
    const ahead = record('a', { createdAt: T0 + HOUR });
    index.addAll([ahead], now);
    expect(index.pendingFrom(ahead)).toBe(T0);
    now += 60_000;
    // Start-up's unknown for it, then the stored pending read back by a claim: the same sighting.
    const unknown = next(ahead, { status: 'unknown' });
    index.add(unknown);
    index.add(ahead);
    expect(index.pendingFrom(unknown)).toBe(T0);
    expect(index.pendingFrom(ahead)).toBe(T0);
  });

  it('forgets it once settled, and a resume dated ahead is a new sighting', () => {
    let now = T0;
    const index = indexAt(() => now);
    const ahead = record('a', { createdAt: T0 + HOUR });
    index.add(ahead);
    now += 60_000;
    index.add(next(ahead, { status: 'declined', updatedAt: now }));
    const resumed = next(ahead, { status: 'pending', pendingSince: T0 + 2 * HOUR });
    index.add(resumed);
    expect(index.pendingFrom(resumed)).toBe(now);
    // A version with another pendingSince than the one seen reads by its own stamp.
    expect(index.pendingFrom(ahead)).toBe(T0 + HOUR);
  });

  it('forgets it when the record is removed', () => {
    const index = indexAt(() => T0);
    const ahead = record('a', { createdAt: T0 + HOUR });
    index.add(ahead);
    index.remove('a');
    index.nowIfAhead = () => undefined;
    index.add(ahead);
    expect(index.pendingFrom(ahead)).toBe(T0 + HOUR);
  });
});

describe('AttemptIndex.pendingFrom after addAll files a settled version over a sighting', () => {
  it('a settled version filed by addAll forgets the sighting: a later pending with that pendingSince reads by its stamp', () => {
    const T = T0 + HOUR;
    let ahead = true;
    const index = new AttemptIndex(RETENTION, WINDOW);
    index.nowIfAhead = (stamp) => (ahead && stamp > T0 ? T0 : undefined);
    const seen = record('a', { createdAt: T });
    index.add(seen);
    // Ids already in: addAll files each again, here a settled version.
    index.addAll([next(seen, { status: 'declined', updatedAt: T })], T0);
    ahead = false;
    index.add(seen);
    expect(index.pendingFrom(seen)).toBe(T);
  });
});
