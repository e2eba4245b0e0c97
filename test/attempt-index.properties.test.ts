import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttemptIndex, UNKNOWN_MAX_AGE_MS } from '../src/attempt-index.js';
import { isLive, isOpen } from '../src/lifecycle.js';
import { makeRecord } from '../src/record.js';
import type { AttemptRecord, AttemptStatus } from '../src/types.js';

/*
 * A model check of the index: the rules in src/rules.ts read it through
 * byFingerprint (open attempts, and approved ones inside `window`) and
 * byOrder (every live attempt), and openRefundsOf (open refund attempts by
 * the sale they refund). Written in review; it found two holes in the
 * window sweep before they shipped.
 */
const W = 600_000;
const R = 86_400_000;
const T0 = 1_700_000_000_000;
const IDS = ['a', 'b', 'c', 'd'];
const FPS = ['f1', 'f2'];
const MERCHANTS = ['m1', 'm2'];
const ORDERS = ['o1', 'o2', undefined];
/** What a refund attempt refunds; `undefined` makes a sale. */
const REFUND_OF = ['a', 'b', 'z', undefined];
const STATUSES: AttemptStatus[] = ['pending', 'unknown', 'approved', 'declined', 'cancelled', 'voided', 'refunded'];
const OFFSETS = [
  -8 * 86_400_000,
  -UNKNOWN_MAX_AGE_MS,
  -25 * 3_600_000,
  -R,
  -3_600_000,
  -W - 1,
  -W,
  -W + 1,
  -1,
  0,
  1,
  W,
  3_600_000,
  25 * 3_600_000,
];
const STEPS = [0, 1, W - 1, W, W + 1, 3_600_000, R, UNKNOWN_MAX_AGE_MS];

const offset = fc.oneof(fc.constantFrom(...OFFSETS), fc.integer({ min: -2 * W, max: 2 * W }));
const version = fc.record({
  id: fc.constantFrom(...IDS),
  status: fc.constantFrom(...STATUSES),
  fp: fc.constantFrom(...FPS),
  merchant: fc.constantFrom(...MERCHANTS),
  order: fc.constantFrom(...ORDERS),
  refundOf: fc.constantFrom(...REFUND_OF),
  created: offset,
  updated: offset,
  approved: fc.option(offset, { nil: undefined }),
});
type Version = typeof version extends fc.Arbitrary<infer T> ? T : never;
const op = fc.oneof(
  { weight: 5, arbitrary: version.map((v) => ({ kind: 'add' as const, v })) },
  { weight: 3, arbitrary: fc.constantFrom(...STEPS).map((dt) => ({ kind: 'expire' as const, dt })) },
  { weight: 1, arbitrary: fc.constantFrom(...IDS).map((id) => ({ kind: 'remove' as const, id })) },
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

function build(v: Version, now: number): AttemptRecord {
  return makeRecord({
    v: 1,
    id: v.id,
    idempotencyKey: v.id,
    fingerprint: v.fp,
    merchantId: v.merchant,
    kind: v.refundOf === undefined ? 'sale' : 'refund',
    amount: 100,
    currency: 'CNY',
    ...(v.order === undefined ? {} : { orderId: v.order }),
    ...(v.refundOf === undefined ? {} : { refundOf: v.refundOf }),
    status: v.status,
    createdAt: now + v.created,
    updatedAt: now + v.updated,
    pendingSince: now + v.updated,
    refunded: 0,
    ...(v.approved === undefined ? {} : { approvedAt: now + v.approved }),
  });
}

/**
 * `history`: the index of a guard over a store that keeps history, where a
 * settled record unchanged for the window leaves memory (the store keeps
 * it). Until then it must be found exactly as without history.
 */
function run(initial: Version[], ops: Op[], history = false): void {
  const index = new AttemptIndex(R, W, history);
  const model = new Map<string, AttemptRecord>();
  let now = T0;
  const deadline = (r: AttemptRecord) => index.deadline(r);
  const same = (a: AttemptRecord | undefined, b: AttemptRecord | undefined): boolean => a === b;
  const includes = (list: readonly AttemptRecord[], r: AttemptRecord): boolean => list.some((x) => same(x, r));
  // Over a store with history, memory may let go of a settled record unchanged for the window: only then.
  const held = (m: AttemptRecord): boolean => !history || isOpen(m.status) || Math.max(m.updatedAt, m.approvedAt ?? m.updatedAt) + W > now;
  // Start-up, as Guard does: the store's records (one per id) in whatever order, to addAll.
  const loaded = initial.map((v) => build(v, now));
  index.addAll(loaded, now);
  for (const r of loaded) model.set(r.id, r);
  // Start-up prunes before anything else.
  const check = (where: string) => {
    for (const fp of FPS) {
      const got = index.byFingerprint(fp);
      expect(new Set(got).size, `${where}: duplicate in byFingerprint(${fp})`).toBe(got.length);
      for (const r of got) {
        expect(same(model.get(r.id), r), `${where}: byFingerprint(${fp}) returns stale/removed ${r.id}:${r.status}`).toBe(true);
        expect(r.fingerprint).toBe(fp);
        expect(isLive(r.status), `${where}: non-live ${r.id}:${r.status} in byFingerprint`).toBe(true);
      }
      for (const m of model.values()) {
        if (m.fingerprint !== fp) continue;
        const must = isOpen(m.status) || (m.status === 'approved' && m.approvedAt !== undefined && now - m.approvedAt < W);
        if (must) {
          expect(
            includes(got, m),
            `${where}: ${m.id}:${m.status} approvedAt=${m.approvedAt === undefined ? 'none' : m.approvedAt - now} missing from byFingerprint(${fp})`,
          ).toBe(true);
        }
      }
    }
    for (const merchant of MERCHANTS) {
      for (const order of ['o1', 'o2']) {
        const got = index.byOrder(merchant, order);
        expect(new Set(got).size, `${where}: duplicate in byOrder`).toBe(got.length);
        for (const r of got) {
          expect(same(model.get(r.id), r), `${where}: byOrder returns stale/removed ${r.id}:${r.status}`).toBe(true);
          expect(isLive(r.status), `${where}: non-live in byOrder`).toBe(true);
          expect(r.merchantId === merchant && r.orderId === order).toBe(true);
        }
        for (const m of model.values()) {
          if (m.merchantId === merchant && m.orderId === order && isLive(m.status) && held(m)) {
            expect(includes(got, m), `${where}: ${m.id}:${m.status} missing from byOrder`).toBe(true);
          }
        }
      }
    }
    for (const original of REFUND_OF) {
      if (original === undefined) continue;
      const got = index.openRefundsOf(original);
      const want = [...model.values()].filter((m) => m.kind === 'refund' && m.refundOf === original && isOpen(m.status));
      // Open records are always held.
      expect(got.length, `${where}: openRefundsOf(${original}) has ${got.map((r) => `${r.id}:${r.status}`).join(',')}`).toBe(want.length);
      for (const m of want) expect(includes(got, m), `${where}: ${m.id}:${m.status} missing from openRefundsOf(${original})`).toBe(true);
    }
    const open = [...index.values()].filter((r) => isOpen(r.status)).length;
    expect(index.openCount, `${where}: openCount`).toBe(open);
  };
  const expire = () => {
    for (const r of index.expire(now)) {
      expect(same(model.get(r.id), r), `expire returned a stale version of ${r.id}`).toBe(true);
      expect(deadline(r) <= now, `expire pruned ${r.id} early`).toBe(true);
      model.delete(r.id);
    }
    for (const m of model.values()) {
      if (held(m)) expect(same(index.get(m.id), m), `${m.id}:${m.status} left memory early`).toBe(true);
      // Let go of: the store keeps it, the model forgets it (a retention deadline passing in the store is not the index's).
      else if (index.get(m.id) === undefined) model.delete(m.id);
    }
  };
  expire();
  check('start');
  ops.forEach((o, i) => {
    if (o.kind === 'add') {
      const r = build(o.v, now);
      index.add(r);
      model.set(r.id, r);
    } else if (o.kind === 'remove') {
      index.remove(o.id);
      model.delete(o.id);
    } else {
      now += o.dt;
      expire();
    }
    check(`op ${i} ${JSON.stringify(o)}`);
  });
  expect(index.size).toBe(model.size);
  for (const [id, m] of model) expect(same(index.get(id), m), `get(${id}) at the end`).toBe(true);
  expect([...index.values()].length).toBe(model.size);
  // Late is allowed, never: past every deadline (7 days after the latest
  // `pendingSince` at most 25h ahead), everything is pruned.
  now += UNKNOWN_MAX_AGE_MS + 2 * 86_400_000;
  expire();
  expect(index.size, 'records left after every deadline passed').toBe(0);
}

describe('AttemptIndex against a naive model (property)', () => {
  // Random start-ups and streams of versions (out of order, stale, any
  // status change, fingerprint / order / merchant changing, times in the
  // past and future), expiries and removals. After each step every record
  // the rules could match must be found, and nothing stale, removed,
  // non-live, duplicated or pruned early may be.
  it('finds exactly what the rules may match, after any sequence of operations', () => {
    fc.assert(
      fc.property(fc.uniqueArray(version, { maxLength: 4, selector: (v) => v.id }), fc.array(op, { maxLength: 30 }), (initial, ops) =>
        run(initial, ops),
      ),
      { numRuns: 5000 },
    );
  });

  // The same over a store that keeps history: a settled record leaves
  // memory once unchanged for the window, and never earlier.
  it('holds everything a decision reads in memory over a store with history, and lets go of the rest', () => {
    fc.assert(
      fc.property(fc.uniqueArray(version, { maxLength: 4, selector: (v) => v.id }), fc.array(op, { maxLength: 30 }), (initial, ops) =>
        run(initial, ops, true),
      ),
      { numRuns: 5000 },
    );
  });
});
