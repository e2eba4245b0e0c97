import type { TestContext } from 'vitest';
import { claimOf, staysFiled } from '../claims.js';
import { hasHistory, isHot, type HistoryStore } from '../history.js';
import type { AttemptRecord, AttemptStatus, GuardStore, JournalEntry, JournalHead, JournalSeal, StoreChange } from '../types.js';
import { vitestApi } from './vitest.js';

/**
 * One store on fresh, empty storage, as `makeStore` hands it to
 * `storeContract`. The suite closes every handle it was given (`close()`,
 * when the store has one) after each check.
 */
export interface StoreUnderTest {
  /** The store under test, on storage nothing else has written to. */
  store: GuardStore;
  /**
   * The same storage opened again, as a restarted process (or a reloaded
   * page) would open it. Close `store` first if your storage admits one
   * owner at a time; the suite stops using `store` once it reopens.
   */
  reopen(): Promise<GuardStore>;
  /**
   * A second handle on the same storage, open at the same time as `store`:
   * another tab or process. Required when the store has `claim` (two
   * handles race for one sale) or `subscribe` (a write through one reaches
   * the other's listener); the checks of those fail without it.
   */
  twin?(): Promise<GuardStore>;
}

/** Makes a `StoreUnderTest` on fresh storage; called once per check. */
export type MakeStore = () => StoreUnderTest | Promise<StoreUnderTest>;

export interface StoreContractOptions {
  /** Title of the suite's `describe` block. @default 'GuardStore contract' */
  name?: string;
  /** How long a `subscribe` listener may take to hear of a write through the twin, in ms. @default 2000 */
  deliveryTimeout?: number;
  /**
   * The optional capabilities the store has. Given, the checks of the
   * others are not registered at all, and a listed one the store lacks
   * fails its checks. Left out, checks of a capability the store turns out
   * to lack are skipped.
   */
  capabilities?: readonly StoreCapability[];
}

/**
 * An optional part of `GuardStore`: see `claim`, `subscribe`,
 * `get`/`byOrder`/`prune`, `appendJournal`'s `seal` (the journal's chain)
 * and `initMeta` (a first value that stays, written once by many at once).
 */
export type StoreCapability = 'claim' | 'subscribe' | 'history' | 'journal' | 'initMeta';

/**
 * The conformance suite every `GuardStore` passes: call it at the
 * top level of a vitest test file and it registers one `describe` block of
 * checks against your store. The checks are what the guard relies on:
 *
 * - records put, replaced and deleted by id, metadata, journal appends;
 *   with `initMeta`, a first value that stays when many write at once;
 * - writes issued without awaiting each other land in call order, as the
 *   guard issues them (a settle never lands before its begin);
 * - a reopen finds every record and metadata value, each record
 *   structurally equal to what was put: no field added, lost or turned into
 *   `null` (a field the record lacks may come back absent or `undefined`,
 *   as the core's own records hold it); `over` in refunds kept;
 *   safe-integer amounts and millisecond times exact;
 * - 50 concurrent puts all land;
 * - with `claim`: the judge sees what is filed under the keys and the
 *   records named by `ids`; only what it returns is written; a throwing
 *   judge writes nothing; of several handles claiming one sale at once
 *   exactly one wins; `put` files live records too; settled and deleted
 *   records are unfiled; filing survives a reopen;
 * - with `subscribe`: a write through the twin reaches the listener as the
 *   record stored; a record the twin announces reaches it as `unpersisted`
 *   (or as a `record`, from a store that lands announced records itself);
 * - with history (`get`, `byOrder`, `prune`): `load(scope)` hands back at
 *   least every hot record; `get` the latest version by id; `byOrder` the
 *   live records of one merchant's order; `prune` deletes settled records
 *   last changed before its bound and never an open one; all of it after
 *   a reopen too;
 * - with the journal's chain (`appendJournal`'s `seal`): entries appended
 *   without awaiting each other are sealed in call order, each after the
 *   head of the one before; after a reopen the chain goes on from the last
 *   entry appended, and the head in the metadata is one the chain reached
 *   (never ahead of it).
 *
 * Checks of an optional method the store lacks are skipped. Needs vitest
 * (an optional peer dependency of this package).
 *
 * @example
 * // test/my-store.test.ts
 * import { storeContract } from 'pos-duplicate-guard/testing';
 * import { myStore } from '../src/my-store.js';
 *
 * storeContract(async () => {
 *   const db = await createTestDatabase();
 *   return {
 *     store: myStore(db.url),
 *     reopen: async () => myStore(db.url),
 *     twin: async () => myStore(db.url), // only needed for claim/subscribe
 *   };
 * }, { name: 'myStore' });
 */
export function storeContract(makeStore: MakeStore, options: StoreContractOptions = {}): void {
  const { afterEach, describe, expect, it, vi } = vitestApi();
  const deliveryTimeout = options.deliveryTimeout ?? 2000;
  // Every handle a check was given, closed after it: a store left open can
  // hold a lock or a connection that the next check's storage then meets.
  const handles: GuardStore[] = [];
  const track = (store: GuardStore): GuardStore => (handles.push(store), store);

  /** A fresh store, with `reopen` and `twin` that track what they open. */
  const open = async () => {
    const made = await makeStore();
    track(made.store);
    return {
      store: made.store,
      reopen: async () => track(await made.reopen()),
      twin: async () => {
        if (!made.twin) {
          throw new Error(
            'storeContract: this store has `claim` or `subscribe`, so `makeStore` must return `twin()`: a second handle on the same storage',
          );
        }
        return track(await made.twin());
      },
    };
  };

  /** A fresh store that keeps history (get, byOrder, prune), or the check skipped. */
  const declared = options.capabilities;
  /** Whether to register the checks of `capability`. */
  const checks = (capability: StoreCapability): boolean => declared === undefined || declared.includes(capability);
  /** A check of `capability` the store lacks: failed if it was declared, skipped if not. */
  const lacks = (ctx: TestContext, capability: StoreCapability, why: string): never => {
    if (declared !== undefined) throw new Error(`storeContract: the store was declared with ${capability}, but ${why}`);
    return ctx.skip(why);
  };
  const openWithHistory = async (ctx: TestContext) => {
    const opened = await open();
    if (!hasHistory(opened.store)) lacks(ctx, 'history', 'the store keeps no history (get, byOrder, prune)');
    return opened as typeof opened & { store: HistoryStore };
  };

  /** A fresh store whose `method` is required by the check, or the check skipped. */
  const openWith = async <K extends 'claim' | 'subscribe'>(ctx: TestContext, method: K) => {
    const opened = await open();
    if (typeof opened.store[method] !== 'function') lacks(ctx, method, `the store has no ${method}`);
    return opened as typeof opened & { store: GuardStore & Required<Pick<GuardStore, K>> };
  };

  describe(options.name ?? 'GuardStore contract', () => {
    afterEach(async () => {
      // Closing is best effort here: a check that failed may leave a store
      // half-closed, and that must not hide the check's own failure.
      await Promise.all(handles.splice(0).map((store) => Promise.resolve(store.close?.()).catch(() => undefined)));
    });

    describe('records and metadata', () => {
      it('starts empty', async () => {
        const { store } = await open();
        expect(await store.load()).toEqual([]);
        expect(await store.getMeta('keyCheck')).toBeUndefined();
      });

      it('puts, replaces by id and deletes', async () => {
        const { store } = await open();
        await store.put(record('a'));
        await store.put(record('b'));
        await store.put(record('a', { status: 'approved', approvedAt: T + 1000, updatedAt: T + 1000 }));
        await store.delete('b');
        expect(await loadSorted(store)).toStrictEqual([record('a', { status: 'approved', approvedAt: T + 1000, updatedAt: T + 1000 })]);
      });

      it('deletes an id it never held without failing', async () => {
        const { store } = await open();
        await store.put(record('a'));
        await expect(store.delete('never-written')).resolves.toBeUndefined();
        expect(ids(await store.load())).toEqual(['a']);
      });

      it('keeps metadata: the latest value per key, undefined for a key never set', async () => {
        const { store } = await open();
        await store.setMeta('keyCheck', 'abc');
        await store.setMeta('other', 'x');
        await store.setMeta('keyCheck', 'def');
        expect(await store.getMeta('keyCheck')).toBe('def');
        expect(await store.getMeta('other')).toBe('x');
        expect(await store.getMeta('missing')).toBeUndefined();
      });

      if (checks('initMeta')) {
        it('initMeta: the first value of a key wins, even written at once, and stays', async (ctx) => {
          const { store } = await open();
          const initMeta = store.initMeta?.bind(store);
          if (!initMeta) return lacks(ctx, 'initMeta', 'the store has no initMeta');
          const [first, second] = await Promise.all([initMeta('keyCheck', 'abc'), initMeta('keyCheck', 'def')]);
          expect(first).toBe(second);
          expect(['abc', 'def']).toContain(first);
          expect(await store.getMeta('keyCheck')).toBe(first);
          expect(await initMeta('keyCheck', 'xyz')).toBe(first);
        });
      }

      it('accepts journal entries, with or without optional fields', async () => {
        const { store } = await open();
        for (const entry of JOURNAL) await expect(store.appendJournal(entry)).resolves.toBeUndefined();
      });

      it('lands every one of 50 concurrent puts of distinct records', async () => {
        const { store, reopen } = await open();
        const many = Array.from({ length: 50 }, (_, i) => record(`c${String(i).padStart(2, '0')}`, { amount: 100 + i }));
        await Promise.all(many.map((r) => store.put(r)));
        expect(await loadSorted(store)).toStrictEqual(many);
        expect(await loadSorted(await reopen())).toStrictEqual(many);
      });
    });

    describe('write ordering', () => {
      it('applies writes issued without awaiting each other in call order, as a reopen finds them', async () => {
        const { store, reopen } = await open();
        await store.put(record('b'));
        await store.setMeta('keyCheck', 'old');
        // The guard's pattern: a begin, its settle, a prune and a metadata
        // write, each issued before the one before it resolved.
        const writes = [
          store.put(record('a')),
          store.put(record('a', { status: 'approved', approvedAt: T + 1000, updatedAt: T + 1000 })),
          store.delete('b'),
          store.setMeta('keyCheck', 'new'),
          store.appendJournal({ at: T + 1000, type: 'settle', attemptId: 'a', from: 'pending', to: 'approved' }),
        ];
        await Promise.all(writes);
        const expected = [record('a', { status: 'approved', approvedAt: T + 1000, updatedAt: T + 1000 })];
        expect(await loadSorted(store)).toStrictEqual(expected);
        const again = await reopen();
        expect(await loadSorted(again)).toStrictEqual(expected);
        expect(await again.getMeta('keyCheck')).toBe('new');
      });

      it('keeps the last of many versions of one record or metadata value, and a put after a delete', async () => {
        const { store, reopen } = await open();
        const writes: Promise<void>[] = [];
        for (let i = 0; i < 20; i++) writes.push(store.put(record('a', { updatedAt: T + i })));
        writes.push(store.put(record('b')), store.delete('b'), store.put(record('b', { status: 'unknown' })));
        writes.push(store.put(record('c')), store.delete('c'));
        for (let i = 0; i < 10; i++) writes.push(store.setMeta('epoch', String(i)));
        await Promise.all(writes);
        const expected = [record('a', { updatedAt: T + 19 }), record('b', { status: 'unknown' })];
        expect(await loadSorted(store)).toStrictEqual(expected);
        expect(await store.getMeta('epoch')).toBe('9');
        const again = await reopen();
        expect(await loadSorted(again)).toStrictEqual(expected);
        expect(await again.getMeta('epoch')).toBe('9');
      });
    });

    if (checks('journal')) {
      describe('journal chain', () => {
        /** A seal that needs no secret, and remembers the head each entry was sealed after. */
        const recordingSeal = (seen: (JournalHead | undefined)[]): JournalSeal => {
          return (entry, previous) => {
            // A head is its seq and hash (a store may hand over the whole last entry).
            seen.push(previous && { seq: previous.seq, hash: previous.hash });
            const seq = (previous?.seq ?? 0) + 1;
            return { ...entry, seq, hash: `h${seq}.${entry.detail ?? ''}` };
          };
        };
        const entry = (i: number): JournalEntry => ({ at: T + i, type: 'settle', attemptId: `a${i}`, detail: `e${i}` });

        it('seals entries appended without awaiting each other in call order, each after the one before', async (ctx) => {
          const { store } = await open();
          const seen: (JournalHead | undefined)[] = [];
          await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendJournal(entry(i), recordingSeal(seen))));
          if (seen.length === 0) lacks(ctx, 'journal', 'its appendJournal never called the seal it was given');
          expect(seen).toStrictEqual(Array.from({ length: 20 }, (_, i) => (i === 0 ? undefined : { seq: i, hash: `h${i}.e${i - 1}` })));
        });

        it('goes on from the last entry appended after a reopen; the head it keeps is one the chain reached', async () => {
          const { store, reopen } = await open();
          const seen: (JournalHead | undefined)[] = [];
          await Promise.all(Array.from({ length: 5 }, (_, i) => store.appendJournal(entry(i), recordingSeal(seen))));
          const again = await reopen();
          const kept = await again.getMeta('journal-head');
          // It may lag (a crash between the journal's write and the head's), never run ahead or hold another value.
          const reached = Array.from({ length: 5 }, (_, i) => JSON.stringify({ seq: i + 1, hash: `h${i + 1}.e${i}` }));
          if (kept !== undefined) expect(reached).toContain(kept);
          await again.appendJournal(entry(5), recordingSeal(seen));
          expect(seen.at(-1)).toStrictEqual({ seq: 5, hash: 'h5.e4' });
          await again.appendJournal(entry(6), recordingSeal(seen));
          expect(seen.at(-1)).toStrictEqual({ seq: 6, hash: 'h6.e5' });
        });
      });
    }

    describe('reopen', () => {
      it('survives a reopen with every record and every metadata value', async () => {
        const { store, reopen } = await open();
        await store.put(record('a'));
        await store.put(record('b', { status: 'declined', code: '05' }));
        await store.put(record('a', { status: 'unknown' }));
        await store.setMeta('keyCheck', 'kcv');
        await store.setMeta('epoch', '3');
        const again = await reopen();
        expect(await loadSorted(again)).toStrictEqual([
          record('a', { status: 'unknown' }),
          record('b', { status: 'declined', code: '05' }),
        ]);
        expect(await again.getMeta('keyCheck')).toBe('kcv');
        expect(await again.getMeta('epoch')).toBe('3');
      });

      it('hands records back structurally equal: nothing added, lost or nulled, refunds with `over` kept', async () => {
        const { store, reopen } = await open();
        for (const r of SHAPES) await store.put(r);
        // Compared field by field, so a failure names the field a store
        // changed; a field the record lacks must not come back as `null`.
        expect(await loadSorted(store)).toStrictEqual(SHAPES);
        expect(await loadSorted(await reopen())).toStrictEqual(SHAPES);
      });

      it('can be written again after a reopen', async () => {
        const { store, reopen } = await open();
        await store.put(record('a'));
        const again = await reopen();
        await again.put(record('a', { status: 'declined' }));
        await again.put(record('b'));
        await again.delete('b');
        expect(await loadSorted(again)).toStrictEqual([record('a', { status: 'declined' })]);
      });
    });

    if (checks('history')) {
      describe('history', () => {
        const old = T - 86_400_000;
        /** A day of records: settled long ago, open long ago, settled just now, one order across them. */
        const day = () => [
          record('paid-long-ago', {
            status: 'approved',
            approvedAt: old,
            updatedAt: old,
            createdAt: old,
            pendingSince: old,
            orderId: 'ORD-1',
          }),
          record('declined-long-ago', { status: 'declined', updatedAt: old, createdAt: old, pendingSince: old, orderId: 'ORD-1' }),
          record('unknown-long-ago', { status: 'unknown', updatedAt: old, createdAt: old, pendingSince: old, orderId: 'ORD-1' }),
          record('refund-long-ago', {
            kind: 'refund',
            refundOf: 'paid-long-ago',
            status: 'approved',
            approvedAt: old,
            updatedAt: old,
            createdAt: old,
            pendingSince: old,
          }),
          record('paid-now', { status: 'approved', approvedAt: T, orderId: 'ORD-2' }),
          record('pending-now', { orderId: 'ORD-1' }),
          record('other-merchant', { merchantId: 'M-OTHER', status: 'approved', approvedAt: T, orderId: 'ORD-1' }),
        ];

        it('hands back at least every hot record from load(scope), and every record from load()', async (ctx) => {
          const { store, reopen } = await openWithHistory(ctx);
          for (const r of day()) await store.put(r);
          for (const handle of [store, await reopen()]) {
            const hot = day()
              .filter((r) => isHot(r, T - 60_000))
              .map((r) => r.id);
            expect(ids(await handle.load({ since: T - 60_000 }))).toEqual(expect.arrayContaining(hot));
            expect(ids(await handle.load())).toEqual(ids(day()));
          }
        });

        it('gets the latest version of a record by id, settled or not; undefined once deleted or never written', async (ctx) => {
          const { store, reopen } = await openWithHistory(ctx);
          for (const r of day()) await store.put(r);
          const voided = record('paid-long-ago', {
            status: 'voided',
            approvedAt: old,
            updatedAt: T,
            createdAt: old,
            pendingSince: old,
            orderId: 'ORD-1',
          });
          await store.put(voided);
          await store.delete('declined-long-ago');
          for (const handle of [store, await reopen()]) {
            expect(withoutUndefined(await handle.get?.('paid-long-ago'))).toStrictEqual(voided);
            expect(withoutUndefined(await handle.get?.('refund-long-ago'))).toStrictEqual(day()[3]);
            expect(await handle.get?.('declined-long-ago')).toBeUndefined();
            expect(await handle.get?.('never-written')).toBeUndefined();
          }
        });

        it("finds the live records of one merchant's order, and no others", async (ctx) => {
          const { store, reopen } = await openWithHistory(ctx);
          for (const r of day()) await store.put(r);
          expect(ids(await store.byOrder('M-CONTRACT', 'ORD-1'))).toEqual(['paid-long-ago', 'pending-now', 'unknown-long-ago']);
          // Settled: no longer live, no longer on the order; live again: back on it.
          await store.put(record('pending-now', { status: 'declined', orderId: 'ORD-1', updatedAt: T + 1 }));
          await store.put(
            record('unknown-long-ago', { status: 'pending', updatedAt: T + 1, createdAt: old, pendingSince: T + 1, orderId: 'ORD-1' }),
          );
          for (const handle of [store, await reopen()]) {
            expect(ids((await handle.byOrder?.('M-CONTRACT', 'ORD-1')) ?? [])).toEqual(['paid-long-ago', 'unknown-long-ago']);
            expect(ids((await handle.byOrder?.('M-OTHER', 'ORD-1')) ?? [])).toEqual(['other-merchant']);
            expect(await handle.byOrder?.('M-CONTRACT', 'ORD-404')).toEqual([]);
          }
        });

        it('never hands back another merchant and order whose joined key is the same (NUL in an id)', async (ctx) => {
          const { store } = await openWithHistory(ctx);
          const mine = record('mine', { merchantId: 'M', orderId: 'a\u0000b', status: 'approved', approvedAt: T });
          const theirs = record('theirs', { merchantId: 'M\u0000a', orderId: 'b', status: 'approved', approvedAt: T });
          for (const r of [mine, theirs]) await store.put(r);
          expect(ids(await store.byOrder('M', 'a\u0000b'))).toEqual(['mine']);
          expect(ids(await store.byOrder('M\u0000a', 'b'))).toEqual(['theirs']);
        });

        it('prunes settled records last changed before the bound, never an open one, and says how many', async (ctx) => {
          const { store, reopen } = await openWithHistory(ctx);
          for (const r of day()) await store.put(r);
          expect(await store.prune(T)).toBe(3);
          const left = ['other-merchant', 'paid-now', 'pending-now', 'unknown-long-ago'];
          expect(ids(await store.load())).toEqual(left);
          expect(await store.get('paid-long-ago')).toBeUndefined();
          expect(ids(await store.byOrder('M-CONTRACT', 'ORD-1'))).toEqual(['pending-now', 'unknown-long-ago']);
          expect(await store.prune(T)).toBe(0);
          const again = await reopen();
          expect(ids(await again.load())).toEqual(left);
          expect(ids((await again.byOrder?.('M-CONTRACT', 'ORD-1')) ?? [])).toEqual(['pending-now', 'unknown-long-ago']);
        });
      });
    }

    if (checks('claim')) {
      describe('claim', () => {
        it('hands the judge what is filed under the keys and the records named by ids, as stored', async (ctx) => {
          const { store } = await openWith(ctx, 'claim');
          const live = record('live', { fingerprint: 'fp-x' });
          const ordered = record('ordered', { fingerprint: 'fp-other', orderId: 'ORD-9' });
          const settled = record('settled', { fingerprint: 'fp-x', status: 'declined' });
          const original = record('original', {
            fingerprint: 'fp-orig',
            status: 'refunded',
            refunded: 1250,
            refunds: [{ id: 'rf', amount: 1250 }],
          });
          const elsewhere = record('elsewhere', { fingerprint: 'fp-y' });
          for (const r of [live, ordered, settled, original, elsewhere]) await store.put(r);
          const claim = { keys: ['fp-x', ...claimOf(ordered).keys.slice(1)], ids: ['original', 'nobody'] };
          let seen: AttemptRecord[] = [];
          expect(await store.claim(claim, (related) => ((seen = related), undefined))).toBe(false);
          expect(sortById(seen.map(withoutUndefined))).toStrictEqual([live, ordered, original]);
        });

        it('files a record under every key of claimOf(record): fingerprint, order, refund original', async (ctx) => {
          const { store } = await openWith(ctx, 'claim');
          const refund = record('refund', { kind: 'refund', fingerprint: 'fp-refund', orderId: 'ORD-1', refundOf: 'sale' });
          await store.put(refund);
          const keys = claimOf(refund).keys;
          expect(keys).toHaveLength(3);
          for (const key of keys) expect(await seenUnder(store, [key]), `filed under ${JSON.stringify(key)}`).toStrictEqual([refund]);
        });

        it('writes exactly what the judge returns, and resolves whether it wrote anything', async (ctx) => {
          const { store } = await openWith(ctx, 'claim');
          const a = record('a', { fingerprint: 'fp-a' });
          const b = record('b', { fingerprint: 'fp-b', status: 'approved', approvedAt: T });
          expect(await store.claim({ keys: ['fp-a'], ids: ['a'] }, () => undefined)).toBe(false);
          expect(await store.claim({ keys: ['fp-a'], ids: ['a'] }, () => [])).toBe(false);
          expect(await store.load()).toEqual([]);
          expect(await store.claim({ keys: ['fp-a'], ids: ['a'] }, () => [a, b])).toBe(true);
          expect(await loadSorted(store)).toStrictEqual([a, b]);
          // What a claim wrote is filed, as a put's would be.
          expect(await seenUnder(store, ['fp-b'])).toStrictEqual([b]);
        });

        it('writes nothing and rejects with the error when the judge throws', async (ctx) => {
          const { store } = await openWith(ctx, 'claim');
          const before = record('before', { fingerprint: 'fp' });
          await store.put(before);
          const boom = new Error('judge failed');
          await expect(
            store.claim({ keys: ['fp'], ids: ['next'] }, () => {
              throw boom;
            }),
          ).rejects.toBe(boom);
          expect(await loadSorted(store)).toStrictEqual([before]);
          expect(await seenUnder(store, ['fp'])).toStrictEqual([before]);
          // And the store still works afterwards.
          expect(await store.claim({ keys: ['fp'], ids: ['next'] }, () => [record('next', { fingerprint: 'fp' })])).toBe(true);
        });

        it('lets exactly one of several handles claiming one sale at once write it', async (ctx) => {
          const { store, twin } = await openWith(ctx, 'claim');
          const other = await twin();
          if (typeof other.claim !== 'function') throw new Error('storeContract: `twin()` returned a store without claim');
          const claimants = [store, other, store, other];
          for (let round = 0; round < 10; round++) {
            const fingerprint = `fp-race-${round}`;
            const results = await Promise.all(
              claimants.map((handle, i) => {
                const mine = record(`race-${round}-${i}`, { fingerprint });
                // Admit only when nothing live is filed under the sale: the guard's IN_FLIGHT rule in one line.
                if (!handle.claim) return Promise.resolve(false);
                return handle.claim(claimOf(mine), (related) =>
                  related.some((r) => r.id !== mine.id && staysFiled(r)) ? undefined : [mine],
                );
              }),
            );
            expect(
              results.filter((won) => won === true),
              `round ${round}: ${JSON.stringify(results)}`,
            ).toHaveLength(1);
            const written = (await store.load()).filter((r) => r.fingerprint === fingerprint);
            expect(written).toHaveLength(1);
            expect(written[0]?.id).toBe(`race-${round}-${results.indexOf(true)}`);
          }
        });

        it('files a record written by put: the next claim meets it', async (ctx) => {
          const { store, twin } = await openWith(ctx, 'claim');
          const put = record('put', { fingerprint: 'fp' });
          await store.put(put);
          expect(await seenUnder(store, ['fp'])).toStrictEqual([put]);
          expect(await seenUnder(await twin(), ['fp'])).toStrictEqual([put]);
        });

        it('unfiles a record once it is settled or deleted, and files it again once live', async (ctx) => {
          const { store } = await openWith(ctx, 'claim');
          const statuses: AttemptStatus[] = ['pending', 'unknown', 'approved', 'declined', 'cancelled', 'voided', 'refunded'];
          for (const status of statuses) {
            const r = record('a', { fingerprint: 'fp', status });
            await store.put(r);
            expect(await seenUnder(store, ['fp']), `status ${status}`).toStrictEqual(staysFiled(r) ? [r] : []);
          }
          // Resumed (pending again): filed again.
          const resumed = record('a', { fingerprint: 'fp', status: 'pending', updatedAt: T + 5 });
          await store.put(resumed);
          expect(await seenUnder(store, ['fp'])).toStrictEqual([resumed]);
          await store.delete('a');
          expect(await seenUnder(store, ['fp'])).toStrictEqual([]);
        });

        it('takes its place in the write order: after the put before it, before the put after it', async (ctx) => {
          const { store } = await openWith(ctx, 'claim');
          const pending = record('a', { fingerprint: 'fp' });
          const approved = record('a', { fingerprint: 'fp', status: 'approved', approvedAt: T + 1000, updatedAt: T + 1000 });
          let seen: AttemptRecord[] | undefined;
          const first = store.put(record('earlier', { fingerprint: 'fp' }));
          const claimed = store.claim(claimOf(pending), (related) => ((seen = related), [pending]));
          const settled = store.put(approved);
          await Promise.all([first, claimed, settled]);
          expect(ids(seen ?? [])).toEqual(['earlier']);
          expect(await loadSorted(store)).toStrictEqual([approved, record('earlier', { fingerprint: 'fp' })]);
        });

        it('keeps what is filed across a reopen', async (ctx) => {
          const { store, reopen } = await openWith(ctx, 'claim');
          const held = record('held', { fingerprint: 'fp' });
          await store.claim(claimOf(held), () => [held]);
          await store.put(record('gone', { fingerprint: 'fp', status: 'voided' }));
          const again = await reopen();
          expect(await seenUnder(again, ['fp'])).toStrictEqual([held]);
        });
      });
    }

    if (checks('subscribe')) {
      describe('subscribe', () => {
        it('tells a listener of a write through another handle, with the record as stored', async (ctx) => {
          const { store, twin } = await openWith(ctx, 'subscribe');
          const other = await twin();
          const heard: StoreChange[] = [];
          const unsubscribe = store.subscribe((change) => heard.push(change));
          try {
            const written = record('a', { status: 'approved', approvedAt: T, refunds: [{ id: 'r', amount: 5, over: 1 }], refunded: 4 });
            await other.put(written);
            await vi.waitFor(() => expect(heard).toContainEqual({ type: 'record', record: written }), { timeout: deliveryTimeout });
            expect(withoutUndefined(heard.find((change) => change.type === 'record' && change.record.id === 'a'))).toStrictEqual({
              type: 'record',
              record: written,
            });
            if (other.claim) {
              // A claim's write too. (A store may leave a new sale's reservation untold: the others' claims of
              // its keys meet it. Its settle, as here, is told.)
              const reserved = record('b', { fingerprint: 'fp-b' });
              await other.claim(claimOf(reserved), () => [reserved]);
              const settled = record('b', { fingerprint: 'fp-b', status: 'declined', updatedAt: T + 1000 });
              await other.claim(claimOf(settled), () => [settled]);
              await vi.waitFor(() => expect(heard).toContainEqual({ type: 'record', record: settled }), { timeout: deliveryTimeout });
            }
          } finally {
            unsubscribe();
          }
        });

        it('stops telling a listener once it unsubscribed', async (ctx) => {
          const { store, twin } = await openWith(ctx, 'subscribe');
          const other = await twin();
          const gone: StoreChange[] = [];
          const kept: StoreChange[] = [];
          store.subscribe((change) => gone.push(change))();
          const unsubscribe = store.subscribe((change) => kept.push(change));
          try {
            await other.put(record('a'));
            // Once the listener still subscribed heard it, the other would have too.
            await vi.waitFor(() => expect(kept.some((c) => c.type === 'record' && c.record.id === 'a')).toBe(true), {
              timeout: deliveryTimeout,
            });
            expect(gone).toEqual([]);
          } finally {
            unsubscribe();
          }
        });

        it('tells a listener of a record another handle announces as unpersisted', async (ctx) => {
          const { store, twin } = await openWith(ctx, 'subscribe');
          const other = await twin();
          if (typeof other.announce !== 'function') ctx.skip('the store has no announce');
          const heard: StoreChange[] = [];
          const unsubscribe = store.subscribe((change) => heard.push(change));
          try {
            // A listener may be set up lazily (a channel opened on first use): let it settle.
            await other.load();
            const held = record('memory-only', { fingerprint: 'fp-m' });
            other.announce?.(held);
            // Told as a hold (`unpersisted`) or, by a store that retries the
            // write itself until it lands (a shared database), as the record
            // it then holds: either way the listener's guard holds the sale.
            const told = () =>
              heard.find((change) => (change.type === 'unpersisted' || change.type === 'record') && change.record.id === held.id);
            await vi.waitFor(() => expect(told()).toBeDefined(), { timeout: deliveryTimeout });
            expect([
              { type: 'unpersisted', record: held },
              { type: 'record', record: held },
            ]).toContainEqual(told());
          } finally {
            unsubscribe();
          }
        });
      });
    }
  });
}

// ── fixtures ─────────────────────────────────────────────────────────────

/** 2026-01-01T00:00:00.123Z: milliseconds, so a store keeping seconds is caught. */
const T = 1_767_225_600_123;

/**
 * A record as the guard writes it: no card data, only keyed hashes and
 * BIN/last 4. Frozen, as the guard's records are: a store that modifies what
 * it was given throws here instead of corrupting the guard's memory.
 * Optional fields are absent, never `undefined`, so what comes back can be
 * compared key for key.
 */
function record(id: string, patch: Partial<AttemptRecord> = {}): AttemptRecord {
  return deepFreeze({
    v: 1,
    id,
    idempotencyKey: id,
    fingerprint: `fp-${id}`,
    merchantId: 'M-CONTRACT',
    kind: 'sale',
    amount: 1250,
    currency: 'CNY',
    status: 'pending',
    createdAt: T,
    updatedAt: T,
    pendingSince: T,
    refunded: 0,
    last4: '3446',
    ...patch,
  });
}

/** Only the fields every record has. */
const MINIMAL: AttemptRecord = deepFreeze({
  v: 1,
  id: 'minimal',
  idempotencyKey: 'minimal',
  fingerprint: 'fp-minimal',
  merchantId: 'M-CONTRACT',
  kind: 'sale',
  amount: Number.MAX_SAFE_INTEGER,
  currency: 'KWD',
  status: 'unknown',
  createdAt: T,
  updatedAt: T + 1,
  pendingSince: T,
  refunded: 0,
});

/** Every field a record can carry, and awkward values in them. */
const SHAPES: AttemptRecord[] = [
  record('full', {
    idempotencyKey: 'pdg_minted_by_an_older_release_0123',
    terminalId: 'T-01',
    orderId: 'ORD-1',
    orderTotal: 5000,
    amount: 5000,
    operator: 'amy',
    bin: '622202',
    last4: '3446',
    status: 'approved',
    approvedAt: T + 2000,
    updatedAt: T + 9000,
    // 2000 of the 2500 refunded counts; 500 was an over-refund to recover.
    refunded: 3000,
    refunds: [
      { id: 'refund-1', amount: 1000 },
      { id: 'refund-2', amount: 2500, over: 500 },
    ],
    authCode: 'A1B2C3',
    processorRef: 'ch_3Nx',
    code: '00',
    message: 'approved: "ok"\n第二行 — 已批准',
    override: { operator: 'amy', reason: 'customer asked for two', supervisor: 'sup-1', lifted: ['DUPLICATE_CHARGE', 'ORDER_SAME_AMOUNT'] },
  }),
  record('refund-2', { kind: 'refund', refundOf: 'full', amount: 2500, status: 'approved', approvedAt: T + 5000, operator: 'bo' }),
  record('declined', { status: 'declined', code: '05', message: 'do not honour', last4: '0000' }),
  MINIMAL,
].sort((a, b) => (a.id < b.id ? -1 : 1));

const JOURNAL: JournalEntry[] = [
  { at: T, type: 'start' },
  { at: T + 1, type: 'decision', attemptId: 'a', verdict: 'allow', codes: [] },
  { at: T + 2, type: 'override', attemptId: 'a', codes: ['DUPLICATE_CHARGE'], operator: 'amy', reason: 'two coffees', supervisor: 'sup-1' },
  { at: T + 3, type: 'settle', attemptId: 'a', from: 'pending', to: 'approved', amount: 1250 },
  { at: T + 4, type: 'storage', detail: 'torn last line cut off' },
];

// ── helpers ──────────────────────────────────────────────────────────────

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

const sortById = (records: readonly AttemptRecord[]): AttemptRecord[] =>
  [...records].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
const ids = (records: readonly AttemptRecord[]): string[] => sortById(records).map((r) => r.id);
/**
 * What `load()` hands back, sorted by id, each record with its
 * `undefined`-valued fields left out: the core's own records keep their
 * common optional fields as `undefined` slots (one V8 shape for all, see
 * `recordShape`), so a store may hand a missing field back as absent or as
 * `undefined`, both meaning "not set". Anything else, `null` included, is
 * a value and is compared.
 */
const loadSorted = async (store: GuardStore): Promise<AttemptRecord[]> => sortById((await store.load()).map(withoutUndefined));

function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutUndefined) as T;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, inner]) => inner !== undefined)
      .map(([key, inner]) => [key, withoutUndefined(inner)]),
  ) as T;
}

/** What a claim on `keys` (and no ids) hands its judge, sorted; it writes nothing. */
async function seenUnder(store: GuardStore, keys: readonly string[]): Promise<AttemptRecord[]> {
  let seen: AttemptRecord[] = [];
  await store.claim?.({ keys, ids: [] }, (related) => ((seen = related), undefined));
  return sortById(seen.map(withoutUndefined));
}
