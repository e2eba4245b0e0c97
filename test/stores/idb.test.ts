import { IDBFactory, IDBObjectStore, forceCloseDatabase } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GuardStorageError, createGuard, type AttemptRecord, type Guard, type GuardEventOf, type Sale } from '../../src/index.js';
import { indexedDbStore, type IndexedDbStore } from '../../src/idb.js';
import { isQuotaError, toStorageError } from '../../src/stores/idb/errors.js';
import { storeContract } from '../../src/testing.js';
import { dump, rawPut, type Db } from '../helpers/raw-idb.js';
import { sampleRecord } from '../helpers/records.js';
import { ManualClock, revokedProxy, thrown, throwingGetter } from '../helpers/guard.js';

const SECRET = 'idb-test-secret-0123456789abcdef';
const VISA = '4111 1111 1111 1111';
const UNIONPAY = '6222 0202 0011 2233 446';

let dbCount = 0;
/** A fresh database name per test, on a fresh factory: nothing leaks between tests. */
function freshDb(): Db {
  return { name: `pdg-test-${++dbCount}`, indexedDB: new IDBFactory() };
}

const open: Array<{ close(): Promise<void> }> = [];
function track<T extends { close(): Promise<void> }>(value: T): T {
  open.push(value);
  return value;
}
afterEach(async () => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  await Promise.all(open.splice(0).map((x) => x.close().catch(() => undefined)));
});

function guardOn(store: IndexedDbStore): Promise<Guard> {
  return createGuard({ merchantId: 'M-IDB', secret: SECRET, store }).then(track);
}

function sale(amount = 1250, card: Sale['card'] = { pan: UNIONPAY }): Sale {
  return { amount, currency: 'CNY', card };
}

/**
 * Makes every `put` abort its transaction with a QuotaExceededError, the way
 * a browser reports a full disk: the request fails with AbortError and the
 * transaction's `error` is the quota error. `_abort` is fake-indexeddb's
 * internal "abort with this error", the spec's abort-a-transaction step.
 */
function failPutsWithQuota(): void {
  const original = IDBObjectStore.prototype.put;
  vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
    const request = original.apply(this, args);
    (this.transaction as unknown as { _abort(name: string): void })._abort('QuotaExceededError');
    return request;
  });
}

// Each check gets its own database on its own factory; a reopen and a twin
// are more store objects on it, as a reloaded page and a second tab are.
storeContract(
  () => {
    const db = freshDb();
    return {
      store: track(indexedDbStore(db)),
      reopen: async () => track(indexedDbStore(db)),
      twin: async () => track(indexedDbStore(db)),
    };
  },
  { name: 'indexedDbStore', capabilities: ['claim', 'subscribe', 'history', 'journal'] },
);

describe('indexedDbStore without IndexedDB (Node)', () => {
  it('creates fine, then fails with GuardStorageError UNAVAILABLE on use, never a ReferenceError', async () => {
    expect(globalThis.indexedDB).toBeUndefined();
    const store = indexedDbStore({ name: 'nowhere' });
    const failure = await store.put(sampleRecord('a')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(GuardStorageError);
    expect(failure).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/^IndexedDB "nowhere" is unavailable here/) });
  });

  it('makes createGuard reject with that GuardStorageError', async () => {
    const attempt = createGuard({ merchantId: 'M-IDB', secret: SECRET, store: indexedDbStore() });
    await expect(attempt).rejects.toBeInstanceOf(GuardStorageError);
    await expect(attempt).rejects.toMatchObject({ name: 'GuardStorageError', code: 'UNAVAILABLE' });
  });

  it('rejects bad options with GuardConfigError naming the field', () => {
    expect(() => indexedDbStore({ journalLimit: 0 })).toThrow(/`journalLimit`.*got 0 \(number\)/);
    // Issue 16: said like every other option ("`field` must be…"), not "Expected `journalLimit` to be…".
    expect(() => indexedDbStore({ journalLimit: 0 })).toThrow(/^`journalLimit` must be an integer >= 1/);
    expect(() => indexedDbStore({ journalLimit: 2.5 })).toThrow(
      expect.objectContaining({ name: 'GuardConfigError', field: 'journalLimit' }),
    );
  });

  it('rejects options it cannot read, or that are not an object, with GuardConfigError (review2)', () => {
    expect(() => indexedDbStore(null as never)).toThrow(expect.objectContaining({ name: 'GuardConfigError', field: 'options' }));
    expect(() => indexedDbStore(revokedProxy())).toThrow(expect.objectContaining({ name: 'GuardConfigError', field: 'options' }));
    expect(() => indexedDbStore(throwingGetter('journalLimit'))).toThrow(
      expect.objectContaining({ name: 'GuardConfigError', field: 'journalLimit' }),
    );
  });
});

describe('indexedDbStore layout', () => {
  it('keeps records under r:, metadata under m:, claims under c: (and h:), journal under j:', async () => {
    const db = freshDb();
    const guard = await guardOn(track(indexedDbStore(db)));
    const decision = await guard.begin({ ...sale(), orderId: 'ORD-7' });
    const id = decision.attempt?.id ?? '';
    await guard.close();
    const data = await dump(db);
    expect(data.get(`r:${id}`)).toMatchObject({ id, status: 'pending' });
    expect(typeof data.get('m:keyCheck')).toBe('string');
    const claims = [...data].filter(([key]) => key.startsWith('c:'));
    // One claim on the fingerprint, one on the order (its key format is the guard's business).
    expect(claims).toHaveLength(2);
    expect(claims.map(([key]) => key)).toContain(`c:${decision.fingerprint}`);
    expect(claims.some(([key]) => key.includes('ORD-7'))).toBe(true);
    expect(claims.every(([, filed]) => JSON.stringify(filed) === JSON.stringify([id]))).toBe(true);
    expect((data.get(`h:${id}`) as string[]).sort()).toEqual(claims.map(([key]) => key).sort());
    expect([...data.keys()].some((key) => key.startsWith('j:'))).toBe(true);
  });

  it('keeps only the newest journalLimit entries', async () => {
    const db = freshDb();
    const store = track(indexedDbStore({ ...db, journalLimit: 5 }));
    for (let at = 1; at <= 37; at++) await store.appendJournal({ at, type: 'settle', attemptId: `a${at}` });
    const whileRunning = [...(await dump(db)).keys()].filter((key) => key.startsWith('j:'));
    // Trimmed every ceil(5 / 10) = 1 append: exactly the limit.
    expect(whileRunning).toHaveLength(5);
    const reopened = track(indexedDbStore({ ...db, journalLimit: 3 }));
    await reopened.load();
    const entries = [...(await dump(db))].filter(([key]) => key.startsWith('j:')).map(([, entry]) => (entry as { at: number }).at);
    expect(entries).toEqual([35, 36, 37]);
  });

  it('hands back its journal, oldest first, for an export (journal report)', async () => {
    const db = freshDb();
    const store = track(indexedDbStore(db));
    const guard = await guardOn(store);
    const first = await guard.begin(sale());
    await first.attempt?.approve();
    const prompt = await guard.begin(sale());
    await guard.override(prompt, { operator: 'alice', reason: 'bought two' });
    await guard.close();
    const reopened = track(indexedDbStore(db));
    const journal = await reopened.journal();
    expect(journal.map((e) => e.type)).toEqual(['start', 'settle', 'decision', 'override']);
    expect(journal[3]).toMatchObject({ operator: 'alice', reason: 'bought two', codes: ['DUPLICATE_CHARGE'] });
    // Only journal entries: the records, claims and metadata around them are not.
    expect(journal.every((e) => typeof e.at === 'number')).toBe(true);
  });
});

/** A claim reading `keys` that writes `record` if `judge` admits it (by default it does). */
const claimFor = (
  store: IndexedDbStore,
  record: AttemptRecord,
  keys: string[] = [record.fingerprint],
  judge: (related: AttemptRecord[]) => boolean = () => true,
) => store.claim({ keys, ids: [record.id] }, (related) => (judge(related) ? [record] : undefined));

describe('indexedDbStore claim', () => {
  it('hands the judge what is filed under its keys, and writes only what it admits', async () => {
    const db = freshDb();
    const store = track(indexedDbStore(db));
    const first = sampleRecord('first', { fingerprint: 'fp' });
    expect(await claimFor(store, first)).toBe(true);
    for (const status of ['pending', 'unknown', 'approved'] as const) {
      await store.put({ ...first, status });
      let seen: AttemptRecord[] = [];
      const second = sampleRecord('second', { fingerprint: 'fp', orderId: '1', merchantId: 'M' });
      const admitted = await claimFor(store, second, ['fp', 'order\u0000M\u00001'], (related) => ((seen = related), false));
      expect(admitted).toBe(false);
      expect(seen).toEqual([expect.objectContaining({ id: 'first', status })]);
    }
    const data = await dump(db);
    expect(data.has('r:second')).toBe(false);
    expect(data.has('c:order\u0000M\u00001')).toBe(false);
    expect(data.get('c:fp')).toEqual(['first']);
  });

  it('files every live record it writes, by claim or put, and unfiles one once settled or deleted', async () => {
    const db = freshDb();
    const store = track(indexedDbStore(db));
    await claimFor(store, sampleRecord('first', { fingerprint: 'fp' }));
    await store.put(sampleRecord('first', { fingerprint: 'fp', status: 'approved' }));
    expect(await claimFor(store, sampleRecord('second', { fingerprint: 'fp' }))).toBe(true);
    // An approval inside its window is what the next sale must be judged against.
    expect((await dump(db)).get('c:fp')).toEqual(['first', 'second']);
    await store.put(sampleRecord('first', { fingerprint: 'fp', status: 'voided' }));
    expect((await dump(db)).get('c:fp')).toEqual(['second']);
    // A record written by put alone (a write retried after a storage failure) is filed too.
    await store.put(sampleRecord('late', { fingerprint: 'fp', status: 'approved' }));
    expect((await dump(db)).get('c:fp')).toEqual(['second', 'late']);
    await store.delete('second');
    await store.delete('late');
    expect((await dump(db)).has('c:fp')).toBe(false);
    let seen: AttemptRecord[] = [];
    await claimFor(store, sampleRecord('third', { fingerprint: 'fp' }), ['fp'], (related) => ((seen = related), true));
    expect(seen).toEqual([]);
  });

  it('releases the claims of a record another tab settles, and only those', async () => {
    const db = freshDb();
    const tabA = track(indexedDbStore(db));
    await claimFor(tabA, sampleRecord('open', { fingerprint: 'fp-open' }));
    await claimFor(tabA, sampleRecord('done', { fingerprint: 'fp-done', orderId: '1' }));
    // Tab B settles A's attempt (it adopted it from a broadcast or at start-up).
    const tabB = track(indexedDbStore(db));
    await tabB.put(sampleRecord('done', { fingerprint: 'fp-done', orderId: '1', status: 'unknown' }));
    expect((await dump(db)).get('c:fp-done')).toEqual(['done']);
    await tabB.put(sampleRecord('done', { fingerprint: 'fp-done', orderId: '1', status: 'declined' }));
    const data = await dump(db);
    expect([...data.keys()].filter((key) => key.startsWith('c:') || key.startsWith('h:')).sort()).toEqual(['c:fp-open', 'h:open']);
    expect(data.get('h:open')).toEqual(['c:fp-open']);
  });

  it('reads a claim filed by an earlier release (one id per key)', async () => {
    const db = freshDb();
    const store = track(indexedDbStore(db));
    await store.put(sampleRecord('old', { fingerprint: 'fp' }));
    await rawPut(db, 'c:fp', 'old');
    let seen: AttemptRecord[] = [];
    expect(await claimFor(store, sampleRecord('new', { fingerprint: 'fp' }), ['fp'], (related) => ((seen = related), false))).toBe(false);
    expect(seen.map((r) => r.id)).toEqual(['old']);
  });

  it("hands back the records named by id, live or not: a refund's original, the record's own stored version", async () => {
    const db = freshDb();
    const store = track(indexedDbStore(db));
    await store.put(sampleRecord('sale', { status: 'refunded' }));
    await store.put(sampleRecord('mine', { status: 'unknown' }));
    let seen: AttemptRecord[] = [];
    await store.claim({ keys: ['fp-r'], ids: ['mine', 'sale'] }, (related) => ((seen = related), undefined));
    expect(seen.map((r) => [r.id, r.status]).sort()).toEqual([
      ['mine', 'unknown'],
      ['sale', 'refunded'],
    ]);
  });

  it('writes every record the judge returns, in one transaction', async () => {
    const db = freshDb();
    const store = track(indexedDbStore(db));
    expect(await store.claim({ keys: [], ids: [] }, () => [sampleRecord('a'), sampleRecord('b', { status: 'approved' })])).toBe(true);
    expect((await store.load()).map((r) => r.id).sort()).toEqual(['a', 'b']);
  });

  it('writes nothing and rejects with the error when the judge throws', async () => {
    const db = freshDb();
    const store = track(indexedDbStore(db));
    const boom = new Error('judge failed');
    await expect(
      store.claim({ keys: ['fp'], ids: [] }, () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect([...(await dump(db)).keys()].filter((key) => !key.startsWith('m:'))).toEqual([]);
  });
});

describe('indexedDbStore with a guard', () => {
  it('reports a pending attempt as unknown after a reload, and blocks its retry', async () => {
    const db = freshDb();
    const before = await guardOn(track(indexedDbStore(db)));
    const first = await before.begin(sale());
    expect(first.verdict).toBe('allow');
    const id = first.attempt?.id ?? '';
    // The reload: the page's guard and store objects are gone, a new one opens the same database.
    const after = await guardOn(track(indexedDbStore(db)));
    expect((await after.get(id))?.status).toBe('unknown');
    const retry = await after.begin(sale());
    expect(retry.verdict).toBe('block');
    expect(retry.reasons.map((r) => r.code)).toContain('UNKNOWN_OUTCOME');
    expect(retry.reasons.find((r) => r.code === 'UNKNOWN_OUTCOME')?.attemptId).toBe(id);
  });

  it('lets exactly one of 100 concurrent begins across two tabs reserve one sale', async () => {
    const db = freshDb();
    const tabA = await guardOn(track(indexedDbStore(db)));
    const tabB = await guardOn(track(indexedDbStore(db)));
    for (const amount of [1250, 990, 31_415]) {
      const decisions = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? tabA : tabB).begin(sale(amount))));
      const allowed = decisions.filter((d) => d.verdict === 'allow');
      expect(allowed).toHaveLength(1);
      // The losers saw either the winner or their own tab's short-lived
      // reservation (withdrawn when its claim lost): IN_FLIGHT either way.
      for (const d of decisions.filter((x) => x.verdict !== 'allow')) {
        expect(d.verdict).toBe('block');
        expect(d.reasons.map((r) => r.code)).toContain('IN_FLIGHT');
      }
      const winner = allowed[0]?.attempt?.id;
      const persisted = [...(await dump(db))]
        .filter(([key, v]) => key.startsWith('r:') && (v as { amount: number }).amount === amount)
        .map(([, v]) => v);
      expect(persisted).toEqual([expect.objectContaining({ id: winner, status: 'pending' })]);
      // Both tabs now know the winner, so a later begin in either is IN_FLIGHT on it.
      for (const tab of [tabA, tabB]) {
        const later = await tab.begin(sale(amount));
        expect(later.reasons.find((r) => r.code === 'IN_FLIGHT')?.attemptId).toBe(winner);
      }
    }
  });

  it('lets a supervisor override UNKNOWN_OUTCOME past the unknown claim holder, never past a pending one', async () => {
    const db = freshDb();
    const guard = await createGuard({ merchantId: 'M-IDB', secret: SECRET, store: track(indexedDbStore(db)), authorize: () => true }).then(
      track,
    );
    const first = await guard.begin(sale());
    await first.attempt?.markUnknown();
    const blocked = await guard.begin(sale());
    expect(blocked.reasons.map((r) => r.code)).toEqual(['UNKNOWN_OUTCOME']);
    const overridden = await guard.override(blocked, { operator: 'amy', reason: 'processor shows no charge', supervisor: 'sup-1' });
    expect(overridden.verdict).toBe('allow');
    // Tab B opens now: to it, the overriding attempt's `pending` may be a
    // dead tab's (UNKNOWN_OUTCOME), but its own supervisor override cannot get
    // past it, because in the database it is still in flight.
    const tabB = await createGuard({ merchantId: 'M-IDB', secret: SECRET, store: track(indexedDbStore(db)), authorize: () => true }).then(
      track,
    );
    const again = await tabB.begin(sale());
    expect(again.verdict).toBe('block');
    expect(again.reasons.find((r) => r.code === 'UNKNOWN_OUTCOME')?.attemptId).toBe(overridden.attempt?.id);
    const refused = await tabB.override(again, { operator: 'bob', reason: 'retry', supervisor: 'sup-2' });
    expect(refused.verdict).toBe('block');
    expect(refused.reasons.find((r) => r.code === 'IN_FLIGHT')?.attemptId).toBe(overridden.attempt?.id);
  });

  describe('without BroadcastChannel (older WebViews): the next claim hands back what other tabs wrote', () => {
    it("tab A's approval is DUPLICATE_CHARGE in tab B, and its paid order ORDER_ALREADY_PAID", async () => {
      vi.stubGlobal('BroadcastChannel', undefined);
      const db = freshDb();
      const tabA = await guardOn(track(indexedDbStore(db)));
      const tabB = await guardOn(track(indexedDbStore(db)));
      const paid = await tabA.begin({ ...sale(4200), orderId: 'T-12' });
      await paid.attempt?.approve();
      const again = await tabB.begin(sale(4200));
      expect(again.verdict).toBe('prompt');
      expect(again.reasons.find((r) => r.code === 'DUPLICATE_CHARGE')?.attemptId).toBe(paid.attempt?.id);
      const order = await tabB.begin({ ...sale(4200, { pan: VISA }), orderId: 'T-12' });
      expect(order.verdict).toBe('prompt');
      expect(order.reasons.map((r) => r.code)).toContain('ORDER_SAME_AMOUNT');
      const overpay = await tabB.begin({ ...sale(100, { pan: VISA }), orderId: 'T-12', orderTotal: 4200 });
      expect(overpay).toMatchObject({ verdict: 'block', reasons: [expect.objectContaining({ code: 'ORDER_ALREADY_PAID' })] });
    });

    it('a confirmed prompt still reserves: the approval handed back is the one the cashier saw', async () => {
      vi.stubGlobal('BroadcastChannel', undefined);
      const db = freshDb();
      const tabA = await guardOn(track(indexedDbStore(db)));
      const tabB = await guardOn(track(indexedDbStore(db)));
      await (await tabA.begin(sale(4200))).attempt?.approve();
      const prompt = await tabB.begin(sale(4200));
      const confirmed = await tabB.override(prompt, { operator: 'amy', reason: 'second coffee' });
      expect(confirmed.verdict).toBe('allow');
    });
  });

  it("a tab whose clock starts after another tab's sleep still sees that tab's pending as IN_FLIGHT", async () => {
    const db = freshDb();
    const clockA = new ManualClock();
    const tabA = await createGuard({ merchantId: 'M-IDB', secret: SECRET, store: track(indexedDbStore(db)), clock: clockA }).then(track);
    clockA.jump(6 * 3_600_000); // tab A's device slept: its monotonic clock paused
    const charging = await tabA.begin(sale());
    const clockB = new ManualClock(clockA.wall, 3); // a tab opened now
    const tabB = await createGuard({
      merchantId: 'M-IDB',
      secret: SECRET,
      store: track(indexedDbStore(db)),
      clock: clockB,
      authorize: () => true,
    }).then(track);
    // A tab that starts reads every pending as unknown (SPEC §6: it cannot
    // tell a live tab's from a dead one's)…
    const seen = await tabB.begin(sale());
    expect(seen).toMatchObject({
      verdict: 'block',
      reasons: [expect.objectContaining({ code: 'UNKNOWN_OUTCOME', attemptId: charging.attempt?.id })],
    });
    // …but its claim reads the record as stored, dated by the wall clock:
    // seconds old, so in flight, and no supervisor can lift that.
    const overridden = await tabB.override(seen, { operator: 'o', reason: 'r', supervisor: 's' });
    expect(overridden).toMatchObject({
      verdict: 'block',
      reasons: [expect.objectContaining({ code: 'IN_FLIGHT', attemptId: charging.attempt?.id })],
    });
  });

  it('a pending whose tab died is UNKNOWN_OUTCOME after pendingTimeout, which a supervisor override may pass', async () => {
    const db = freshDb();
    const clock = new ManualClock();
    const dead = await createGuard({ merchantId: 'M-IDB', secret: SECRET, store: indexedDbStore(db), clock });
    const orphan = await dead.begin(sale());
    clock.advance(120_001);
    const tabB = await createGuard({
      merchantId: 'M-IDB',
      secret: SECRET,
      store: track(indexedDbStore(db)),
      clock: new ManualClock(clock.wall, 9),
      authorize: () => true,
    }).then(track);
    const blocked = await tabB.begin(sale());
    expect(blocked.reasons).toEqual([expect.objectContaining({ code: 'UNKNOWN_OUTCOME', attemptId: orphan.attempt?.id })]);
    expect((await tabB.override(blocked, { operator: 'o', reason: 'processor shows no charge', supervisor: 's' })).verdict).toBe('allow');
  });

  describe('what a buggy or hostile page of the same origin can post', () => {
    it('cannot make a tab forget an approval: a forged voided record is not adopted', async () => {
      const db = freshDb();
      const tabA = await guardOn(track(indexedDbStore(db)));
      const { attempt } = await tabA.begin(sale());
      const approved = await attempt?.approve();
      const page = new BroadcastChannel(`pos-duplicate-guard:${db.name}`);
      page.postMessage({ from: 'evil', record: { ...approved, status: 'voided', updatedAt: Date.now() + 60_000 } });
      page.postMessage({ from: 'evil', unpersisted: { ...approved, status: 'voided', updatedAt: Date.now() + 60_000 } });
      page.postMessage({ from: 'evil', id: attempt?.id });
      await new Promise((resolve) => setTimeout(resolve, 30));
      page.close();
      expect((await tabA.begin(sale())).reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
    });

    it("cannot make a charging tab's real answer throw: a forged approval of its in-flight attempt is not adopted", async () => {
      const db = freshDb();
      const tabA = await guardOn(track(indexedDbStore(db)));
      const { attempt } = await tabA.begin(sale());
      const pending = await tabA.get(attempt?.id ?? '');
      const page = new BroadcastChannel(`pos-duplicate-guard:${db.name}`);
      const forged = { ...pending, status: 'approved', approvedAt: Date.now(), updatedAt: Date.now() + 1 };
      page.postMessage({ from: 'evil', record: forged });
      page.postMessage({ from: 'evil', unpersisted: forged });
      await new Promise((resolve) => setTimeout(resolve, 30));
      page.close();
      expect((await attempt?.decline({ code: '51' }))?.status).toBe('declined');
    });
  });

  it("a charging tab's own answer stands over another tab's settle of its attempt", async () => {
    const db = freshDb();
    const tabA = await guardOn(track(indexedDbStore(db)));
    const { attempt } = await tabA.begin(sale());
    // Tab B starts meanwhile: to it, A's pending may be a dead tab's (unknown), and it cancels it.
    const tabB = await guardOn(track(indexedDbStore(db)));
    expect((await tabB.settle(attempt?.id ?? '', { status: 'cancelled' })).status).toBe('cancelled');
    await new Promise((resolve) => setTimeout(resolve, 30));
    // The processor approves A's charge: that must be recorded, not thrown.
    expect((await attempt?.approve({ authCode: 'A7' }))?.status).toBe('approved');
    expect((await dump(db)).get(`r:${attempt?.id}`)).toMatchObject({ status: 'approved' });
  });

  it('…except over a reversal: a charge another tab reversed stays voided when its approval arrives', async () => {
    const db = freshDb();
    const tabA = await guardOn(track(indexedDbStore(db)));
    const { attempt } = await tabA.begin(sale());
    const tabB = await guardOn(track(indexedDbStore(db)));
    await tabB.settle(attempt?.id ?? '', { status: 'voided' }); // a reversal (冲正) acknowledged
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect((await attempt?.approve())?.status).toBe('voided');
    await new Promise((resolve) => setTimeout(resolve, 30));
    const journal = [...(await dump(db)).values()] as { type?: string; detail?: string }[];
    expect(journal.some((e) => e.type === 'settle' && e.detail?.includes("settled it 'voided' while this one was charging it"))).toBe(true);
  });

  it('a tab whose write failed tells the other tabs of its in-memory attempt, so they block', async () => {
    const db = freshDb();
    const tabA = await createGuard({ merchantId: 'M-IDB', secret: SECRET, store: track(indexedDbStore(db)), onStorageError: 'allow' }).then(
      track,
    );
    const tabB = await guardOn(track(indexedDbStore(db)));
    await tabB.peek(sale()); // B is open and listening
    failPutsWithQuota();
    const charging = await tabA.begin(sale());
    expect(charging).toMatchObject({ verdict: 'allow', reasons: [expect.objectContaining({ code: 'STORAGE_UNAVAILABLE' })] });
    await vi.waitFor(async () => expect((await tabB.peek(sale())).reasons.map((r) => r.code)).toContain('IN_FLIGHT'));
  });

  it('a database deleted under a live tab is written back, reported and journaled', async () => {
    const db = freshDb();
    const storeA = track(indexedDbStore(db));
    const tabA = await createGuard({ merchantId: 'M-IDB', secret: SECRET, store: storeA }).then(track);
    const errors: GuardEventOf<'storage-error'>[] = [];
    tabA.on('storage-error', (event) => errors.push(event));
    const charging = await tabA.begin(sale());
    await new Promise<void>((resolve, reject) => {
      const request = db.indexedDB.deleteDatabase(db.name);
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
    });
    // Tab A's next write finds the database new and writes back what it holds.
    await tabA.begin(sale(990));
    await vi.waitFor(() =>
      expect(errors).toEqual([expect.objectContaining({ operation: 'restore', error: expect.objectContaining({ code: 'WIPED' }) })]),
    );
    await vi.waitFor(async () => expect((await dump(db)).get(`r:${charging.attempt?.id}`)).toMatchObject({ status: 'pending' }));
    const tabB = await guardOn(track(indexedDbStore(db)));
    expect((await tabB.begin(sale())).verdict).toBe('block');
    expect([...(await dump(db)).values()].some((v) => (v as { type?: string }).type === 'storage')).toBe(true);
  });

  describe('resume goes through the same claim as begin', () => {
    it('is refused in tab B while tab A charges the overriding attempt (IN_FLIGHT), and allowed in one tab only', async () => {
      const db = freshDb();
      const tabA = await createGuard({ merchantId: 'M-IDB', secret: SECRET, store: track(indexedDbStore(db)), authorize: () => true }).then(
        track,
      );
      const x = await tabA.begin(sale());
      await x.attempt?.markUnknown();
      const blocked = await tabA.begin(sale());
      const y = await tabA.override(blocked, { operator: 'o', reason: 'processor shows no charge', supervisor: 's' });
      expect(y.verdict).toBe('allow');
      const tabB = await guardOn(track(indexedDbStore(db)));
      // Tab B started after y began, so it reads y as unknown (SPEC §6); either way resuming x is refused.
      const refused = await thrown(() => tabB.resume(x.attempt?.id ?? ''));
      expect(refused).toMatchObject({ name: 'GuardStateError', code: expect.stringMatching(/^(IN_FLIGHT|UNKNOWN_OUTCOME)$/) });
      expect((await dump(db)).get(`r:${x.attempt?.id}`)).toMatchObject({ status: 'unknown' });
    });

    it('is refused by the claim when tab B never heard of the overriding attempt (no BroadcastChannel)', async () => {
      vi.stubGlobal('BroadcastChannel', undefined);
      const db = freshDb();
      const tabA = await createGuard({ merchantId: 'M-IDB', secret: SECRET, store: track(indexedDbStore(db)), authorize: () => true }).then(
        track,
      );
      const x = await tabA.begin(sale());
      await x.attempt?.markUnknown();
      const tabB = await guardOn(track(indexedDbStore(db)));
      const blocked = await tabA.begin(sale());
      const y = await tabA.override(blocked, { operator: 'o', reason: 'processor shows no charge', supervisor: 's' });
      await expect(tabB.resume(x.attempt?.id ?? '')).rejects.toMatchObject({ name: 'GuardStateError', code: 'IN_FLIGHT' });
      await y.attempt?.approve();
      // Tab B still holds y as it read it (pending): refused all the same.
      await expect(tabB.resume(x.attempt?.id ?? '')).rejects.toMatchObject({ name: 'GuardStateError', code: 'IN_FLIGHT' });
      const tabC = await guardOn(track(indexedDbStore(db)));
      await expect(tabC.resume(x.attempt?.id ?? '')).rejects.toMatchObject({ name: 'GuardStateError', code: 'DUPLICATE_CHARGE' });
      expect((await dump(db)).get(`r:${x.attempt?.id}`)).toMatchObject({ status: 'unknown' });
      expect(await tabB.get(x.attempt?.id ?? '')).toMatchObject({ status: 'unknown' });
    });

    it('two tabs resuming one unknown attempt at once: one resumes it, the other is told', async () => {
      const db = freshDb();
      const tabA = await guardOn(track(indexedDbStore(db)));
      const x = await tabA.begin(sale());
      await x.attempt?.markUnknown();
      const tabB = await guardOn(track(indexedDbStore(db)));
      const results = await Promise.allSettled([tabA.resume(x.attempt?.id ?? ''), tabB.resume(x.attempt?.id ?? '')]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { name: 'GuardStateError' } });
    });
  });

  it("shows tab A's approved sale to tab B as DUPLICATE_CHARGE without a reload", async () => {
    const db = freshDb();
    const tabA = await guardOn(track(indexedDbStore(db)));
    const tabB = await guardOn(track(indexedDbStore(db)));
    const charged = await tabA.begin(sale(4200, { pan: VISA }));
    const id = charged.attempt?.id ?? '';
    await charged.attempt?.approve({ authCode: 'A1' });
    await vi.waitFor(async () => expect((await tabB.get(id))?.status).toBe('approved'));
    const again = await tabB.begin(sale(4200, { pan: VISA }));
    expect(again.verdict).toBe('prompt');
    expect(again.reasons.find((r) => r.code === 'DUPLICATE_CHARGE')?.attemptId).toBe(id);
  });

  it('tells other tabs of a put, which read the record back from the database; ignores its own', async () => {
    const db = freshDb();
    const tabA = track(indexedDbStore(db));
    const tabB = track(indexedDbStore(db));
    const seenByA = vi.fn();
    const seenByB = vi.fn();
    tabA.subscribe(seenByA);
    tabB.subscribe(seenByB);
    const record = sampleRecord('x', { status: 'approved' });
    await tabA.put(record);
    await vi.waitFor(() => expect(seenByB).toHaveBeenCalledTimes(1));
    expect(seenByB.mock.calls[0]?.[0]).toEqual({ type: 'record', record });
    // A message from B proves the channel delivered everything A sent before it.
    await tabB.put(sampleRecord('y'));
    await vi.waitFor(() => expect(seenByA).toHaveBeenCalledTimes(1));
    expect(seenByA.mock.calls[0]?.[0]).toMatchObject({ type: 'record', record: { id: 'y' } });
  });

  it('takes a posted record as a hint only: what the database holds is delivered, never the message', async () => {
    const db = freshDb();
    const store = track(indexedDbStore(db));
    const seen = vi.fn();
    store.subscribe(seen);
    await store.put(sampleRecord('x', { status: 'approved' }));
    // Another page of the origin posts a forged version, the old message format included.
    const page = new BroadcastChannel(`pos-duplicate-guard:${db.name}`);
    page.postMessage({ from: 'evil', record: sampleRecord('x', { status: 'voided' }) });
    page.postMessage({ from: 'evil', id: 'x' });
    page.postMessage({ from: 'evil', id: 'nothing-here' });
    await vi.waitFor(() => expect(seen).toHaveBeenCalledTimes(1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    page.close();
    expect(seen.mock.calls).toEqual([[{ type: 'record', record: expect.objectContaining({ id: 'x', status: 'approved' }) }]]);
  });

  it('works without BroadcastChannel: subscribe is a no-op', async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const db = freshDb();
    const store = track(indexedDbStore(db));
    const listener = vi.fn();
    const unsubscribe = store.subscribe(listener);
    expect(unsubscribe).toBeTypeOf('function');
    unsubscribe();
    await store.put(sampleRecord('a'));
    expect(await store.load()).toHaveLength(1);
    const guard = await guardOn(track(indexedDbStore(db)));
    expect((await guard.begin(sale())).verdict).toBe('allow');
  });

  it('persists no PAN, no 12+ digit run and no expiry', async () => {
    const db = freshDb();
    const guard = await guardOn(track(indexedDbStore(db)));
    const cards: Sale['card'][] = [{ pan: VISA }, { pan: UNIONPAY }, { last4: '1111', bin: '411111', expiry: '12/29' }];
    for (const [i, card] of cards.entries()) {
      const decision = await guard.begin({ ...sale(100 + i, card), orderId: `ORD-${i}`, operator: 'amy' });
      await (i === 0 ? decision.attempt?.approve() : decision.attempt?.markUnknown());
    }
    await guard.close();
    const data = await dump(db);
    expect(data.size).toBeGreaterThan(6);
    const strings: string[] = [];
    const collect = (value: unknown): void => {
      if (typeof value === 'string') strings.push(value);
      else if (value && typeof value === 'object') Object.values(value).forEach(collect);
    };
    for (const [key, value] of data) {
      strings.push(key);
      collect(value);
    }
    for (const text of strings) expect(text).not.toMatch(/\d{12,}/);
    const everything = JSON.stringify([...data]);
    for (const secret of ['4111111111111111', '6222020200112233446', '12/29']) expect(everything).not.toContain(secret);
    // The expiry's digits alone, in what is stored as text: a time, stored as a number, may hold any four
    // digits (1796676122904 holds 1229), and scanning those made this test fail on the clock's say.
    for (const text of strings) expect(text).not.toContain('1229');
  });
});

describe('indexedDbStore storage errors', () => {
  it('maps a quota abort to GuardStorageError QUOTA_EXCEEDED with the original as cause', async () => {
    const store = track(indexedDbStore(freshDb()));
    await store.load();
    failPutsWithQuota();
    for (const write of [() => store.put(sampleRecord('a')), () => claimFor(store, sampleRecord('b'))]) {
      const error = await write().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GuardStorageError);
      expect(error).toMatchObject({ code: 'QUOTA_EXCEEDED', cause: expect.objectContaining({ name: 'QuotaExceededError' }) });
    }
    vi.restoreAllMocks();
    expect(await store.load()).toEqual([]);
  });

  it('recognises a quota error wrapped in an AbortError', () => {
    const quota = new DOMException('disk full', 'QuotaExceededError');
    const wrapped = Object.assign(new DOMException('Transaction aborted', 'AbortError'), { cause: quota });
    expect(isQuotaError(wrapped)).toBe(true);
    expect(isQuotaError(new DOMException('Quota exceeded during commit', 'AbortError'))).toBe(true);
    expect(isQuotaError(new DOMException('Transaction aborted', 'AbortError'))).toBe(false);
    expect(toStorageError(wrapped, 'put', 'db')).toMatchObject({ code: 'QUOTA_EXCEEDED', cause: wrapped });
  });

  it('gives a guard STORAGE_UNAVAILABLE (prompt by default) and a storage-error event on quota', async () => {
    const guard = await guardOn(track(indexedDbStore(freshDb())));
    const events: GuardEventOf<'storage-error'>[] = [];
    guard.on('storage-error', (event) => events.push(event));
    failPutsWithQuota();
    const decision = await guard.begin(sale());
    expect(decision.verdict).toBe('prompt');
    expect(decision.reasons.map((r) => r.code)).toEqual(['STORAGE_UNAVAILABLE']);
    expect(decision.attempt).toBeUndefined();
    const put = events.find((e) => e.operation === 'put');
    expect(put?.error).toMatchObject({ name: 'GuardStorageError', code: 'QUOTA_EXCEEDED' });
  });

  it('rejects writes on a connection closed under it, then reopens', async () => {
    const db = freshDb();
    const openSpy = vi.spyOn(db.indexedDB, 'open');
    const store = track(indexedDbStore(db));
    await store.put(sampleRecord('a'));
    const connection = (openSpy.mock.results[0]?.value as IDBOpenDBRequest).result;
    connection.close();
    await expect(store.put(sampleRecord('b'))).rejects.toMatchObject({ name: 'GuardStorageError', code: 'CLOSED' });
    await store.put(sampleRecord('c'));
    // The engine closing it (site data cleared): the close event makes the next call reopen.
    // (fake-indexeddb types its parameter as the class, not an instance.)
    forceCloseDatabase((openSpy.mock.results[1]?.value as IDBOpenDBRequest).result as unknown as Parameters<typeof forceCloseDatabase>[0]);
    await store.put(sampleRecord('d'));
    expect((await store.load()).map((r) => r.id).sort()).toEqual(['a', 'c', 'd']);
    expect(openSpy).toHaveBeenCalledTimes(3);
  });

  it('steps aside when another connection (a newer release) upgrades the database, then uses it as it is', async () => {
    const db = freshDb();
    const store = track(indexedDbStore(db));
    await store.put(sampleRecord('a'));
    const upgraded = await new Promise<IDBDatabase>((resolve, reject) => {
      // Past this release's schema version (2): reopening at 2 is a VersionError.
      const request = db.indexedDB.open(db.name, 3);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error('blocked by the store'));
    });
    upgraded.close();
    await store.put(sampleRecord('b', { status: 'approved' }));
    expect(await store.load()).toHaveLength(2);
    expect(await store.get('b')).toMatchObject({ status: 'approved' });
    expect((await store.load({ since: 0 })).map((r) => r.id).sort()).toEqual(['a', 'b']);
  });

  it('rejects every call after close() with GuardStorageError CLOSED', async () => {
    const store = indexedDbStore(freshDb());
    await store.load();
    await store.close();
    await expect(store.put(sampleRecord('a'))).rejects.toMatchObject({ name: 'GuardStorageError', code: 'CLOSED' });
    await expect(store.getMeta('keyCheck')).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('indexedDbStore persistence', () => {
  it('asks navigator.storage.persist() once, at open, and reports the answer', async () => {
    const persist = vi.fn(async () => true);
    vi.stubGlobal('navigator', { storage: { persist } });
    const store = track(indexedDbStore(freshDb()));
    await store.load();
    await store.put(sampleRecord('a'));
    expect(await store.persistent()).toBe(true);
    expect(persist).toHaveBeenCalledTimes(1);
  });

  it('reports undefined where the Storage API is missing (http:// pages)', async () => {
    vi.stubGlobal('navigator', {});
    const store = track(indexedDbStore(freshDb()));
    await store.load();
    expect(await store.persistent()).toBeUndefined();
  });
});
