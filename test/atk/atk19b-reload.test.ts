/**
 * atk19b: a tab reloaded at every store call of a settle (IndexedDB): the
 * call in progress either lands or not, nothing after it runs. The tab that
 * opens next must never let the money that may have moved be charged or
 * refunded again.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createGuard, type Guard } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { ManualClock, sale } from '../helpers/guard.js';
import { freshDb, OPTIONS, settle } from '../helpers/tabs.js';

afterEach(() => vi.unstubAllGlobals());

type Db = ReturnType<typeof freshDb>;

/** A store that dies (as its tab does) at its `k`-th call once armed; `lands`: that call still commits. */
function mortal(db: Db) {
  const real = indexedDbStore(db);
  let armed = false;
  let calls = 0;
  let k = Infinity;
  let lands = false;
  const never = new Promise<never>(() => undefined);
  const store = new Proxy(real, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (!armed) return (value as (...a: unknown[]) => unknown).apply(target, args);
        const n = calls++;
        if (n < k) return (value as (...a: unknown[]) => unknown).apply(target, args);
        if (n === k && lands) {
          const r = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (r instanceof Promise) r.catch(() => undefined);
        }
        return never;
      };
    },
  });
  return {
    store,
    arm(at: number, land: boolean) {
      armed = true;
      calls = 0;
      k = at;
      lands = land;
    },
    calls: () => calls,
  };
}

async function open(db: Db, clock: ManualClock, store = indexedDbStore(db)): Promise<Guard> {
  return createGuard({ ...OPTIONS, store, clock });
}

const CASES: [number, boolean][] = [];
for (let k = 0; k < 6; k++) for (const land of [false, true]) CASES.push([k, land]);

describe('atk19b: a tab reloaded during the approval of a sale', () => {
  for (const [k, land] of CASES) {
    it(`reloaded at store call ${k} (${land ? 'it lands' : 'it does not land'}): the next tab does not allow the same sale again`, async () => {
      vi.stubGlobal('BroadcastChannel', undefined);
      const db = freshDb();
      const clock = new ManualClock();
      const m = mortal(db);
      const a = await open(db, clock, m.store);
      const s = sale({ amount: 6100 });
      const d = await a.begin(s);
      await settle(10);
      m.arm(k, land);
      void a.settle(d.attempt!.id, { status: 'approved', authCode: 'A1' }).catch(() => undefined);
      await settle(30);
      const c = await open(db, clock);
      const again = await c.begin(s);
      expect(again.verdict).not.toBe('allow');
      await c.close();
    });
  }
});

describe('atk19b: a tab reloaded during the approval of a refund', () => {
  for (const [k, land] of CASES) {
    it(`reloaded at store call ${k} (${land ? 'it lands' : 'it does not land'}): the next tab holds back a refund that with it would exceed the sale, and counts the sale's refunds as the refund's status says`, async () => {
      vi.stubGlobal('BroadcastChannel', undefined);
      const db = freshDb();
      const clock = new ManualClock();
      const m = mortal(db);
      const a = await open(db, clock, m.store);
      const paid = await a.begin(sale({ amount: 5000 }));
      await paid.attempt!.approve();
      const refund = await a.begin(sale({ amount: 2000, kind: 'refund', refundOf: paid.attempt!.id }));
      await settle(10);
      m.arm(k, land);
      void a.settle(refund.attempt!.id, { status: 'approved' }).catch(() => undefined);
      await settle(30);
      const c = await open(db, clock);
      const r = await c.get(refund.attempt!.id);
      const p = await c.get(paid.attempt!.id);
      expect(p?.refunded ?? 0).toBe(r?.status === 'approved' ? 2000 : 0);
      const over = await c.begin(sale({ amount: 3001, kind: 'refund', refundOf: paid.attempt!.id }));
      expect(over.verdict).toBe('block');
      await c.close();
    });
  }
});
