/**
 * atk17: the hand-back along fenced guards (src/guard/start.ts `ctx.fenced`, `stillOpen`, close() memoised).
 *
 * Findings (F = fails on the current code, P = passes: a guarantee pinned):
 *
 * F1 'a take-over fenced while it still loads starts anyway: it journals and listens over the store another guard
 *    owns'. A runs; B starts (slow load); C starts and fences B; C's load finishes first and C starts; then B's
 *    load finishes. Nothing in start() looks whether B still holds the store: B's journalStarted() appends its
 *    start entries (and the pending → unknown settles it found) to the store C now owns, B subscribes (C's
 *    success loop found `B.unsubscribe` still undefined, so nothing ever unsubscribes it) and createGuard
 *    resolves B — a guard that throws TAKEN_OVER on its first begin. Should: a start that lost the store before it
 *    finished fails (TAKEN_OVER) and writes nothing. At a till: a double-tapped restart leaves a second chain of
 *    start entries interleaved in the journal the running guard seals, a zombie listener, and the app holding a
 *    guard that refuses every sale. (start.ts: no `owners.holds(store, ctx.guard)` before journalStarted/subscribe.)
 *
 * F2 'the guard closed while a take-over of its store fails: close() resolves and the store is never closed'.
 *    A runs on a store without `attach` (a memory/file store); a take-over B is loading; the app shuts down and
 *    calls A.close() (twice). A does not hold the store (B does): close() resolves without closing it. B then fails:
 *    stillOpen() finds A closed, the store is released to nobody, and hydrate's giveBack only runs for stores with
 *    `attach`. Nobody ever calls store.close(). Should: the last guard to leave closes the store (the failed
 *    take-over closes it when it hands back to no one, or close() waits for the take-over). At a till: a file
 *    store is left open (its lock file and handles held until the process exits: another process opening the
 *    path meanwhile, a helper or the updater, is refused LOCKED; a reopen in the same process still works), and
 *    the app's shutdown, which awaited close(), believes it was closed.
 *
 * P3 chain fail, succeed, fail (B fails, C starts, D fails): C owns the store, begins and settles; A and B write
 *    nothing more; D's failure hands the store back to C.
 * P4 close() called three times on the owner resolves, every time, only once store.close() finished.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type GuardStore, type JournalEntry, type StoreChange } from '../../src/index.js';
import { virtualTime } from '../../src/scenarios/virtual-time.js';
import { deferred, failure, type Deferred } from '../helpers/guard.js';
import { flush } from '../helpers/lanes.js';

const SECRET = 'atk17-handback-secret-0123456789ab';
const START = Date.parse('2026-03-01T09:00:00Z');
const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk17_handback' } };

/** A memoryStore whose loads can be held, whose journal appends and closes are counted, and whose subscribers are seen. */
function heldStore() {
  const inner = memoryStore();
  const held: Deferred<void>[] = [];
  let holding = false;
  const listeners = new Set<(change: StoreChange) => void>();
  const journal: JournalEntry[] = [];
  const closing = deferred<void>();
  const state = { closes: 0, closed: false, gateClose: false };
  const store: GuardStore = {
    ...inner,
    load: async (scope) => {
      if (holding) {
        const gate = deferred<void>();
        held.push(gate);
        await gate.promise;
      }
      return inner.load(scope);
    },
    appendJournal: (entry, seal) => {
      journal.push(entry);
      return inner.appendJournal(entry, seal);
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    close: async () => {
      state.closes++;
      if (state.gateClose) await closing.promise;
      await inner.close?.();
      state.closed = true;
    },
  };
  return { store, held, journal, listeners, state, closing, hold: (on: boolean) => void (holding = on) };
}

describe('atk17: take-overs of take-overs still starting', () => {
  it('F1: a take-over fenced while it still loads starts anyway: it journals and listens over the store another guard owns', async () => {
    const s = heldStore();
    const options = { merchantId: 'M1', secret: SECRET, store: s.store };
    const a = await createGuard(options);
    const d = await a.begin(sale);
    await d.attempt!.markUnknown();

    s.hold(true);
    const b = createGuard(options);
    const c = createGuard(options);
    await flush();
    expect(s.held).toHaveLength(2);
    s.hold(false);
    s.held[1]!.resolve(); // C loads first, and starts
    const guardC = await c;
    await flush();
    const journalBefore = s.journal.length;
    s.held[0]!.resolve(); // then B's load finishes
    const outcome = await b.then(
      (guard) => ({ guard, error: undefined }),
      (error: unknown) => ({ guard: undefined, error }),
    );
    await flush();
    // Nothing from B reaches the journal C seals, and B does not listen.
    expect.soft(s.journal.slice(journalBefore).map((e) => e.type)).toEqual([]);
    expect.soft(s.listeners.size).toBe(1);
    // B lost the store before it started: its createGuard fails rather than handing the app a fenced guard.
    expect(outcome.error).toMatchObject({ code: 'TAKEN_OVER' });
    expect(await guardC.begin({ ...sale, amount: 2_000 })).toMatchObject({ verdict: 'allow' });
    await outcome.guard?.close();
    await guardC.close();
  });

  it('F2: the guard closed while a take-over of its store fails: close() resolves and the store is never closed', async () => {
    const s = heldStore();
    const options = { merchantId: 'M1', secret: SECRET, store: s.store };
    const a = await createGuard(options);
    s.hold(true);
    const b = failure(createGuard(options));
    await flush();
    expect(s.held).toHaveLength(1);
    // The app shuts down: A is closed (twice: beforeunload and the menu).
    await Promise.all([a.close(), a.close()]);
    s.held[0]!.reject(new Error('disk hiccup (B)'));
    expect(await b).toMatchObject({ name: 'GuardStorageError' });
    await flush();
    // No guard runs over the store any more: it must have been closed (lock released, journal flushed).
    expect(s.state.closes).toBe(1);
  });
});

describe('atk17: chains that end with one owner (pins)', () => {
  it('P3: fail, succeed, fail: the one that started owns the store, begins and settles; the others write nothing', async () => {
    const time = virtualTime(START);
    const s = heldStore();
    const options = { merchantId: 'M1', secret: SECRET, store: s.store, clock: time.clock, scheduler: time.scheduler };
    const a = await createGuard(options);
    s.hold(true);
    const b = failure(createGuard(options));
    const c = createGuard(options);
    const dd = failure(createGuard(options));
    await flush();
    expect(s.held).toHaveLength(3);
    s.hold(false);
    s.held[0]!.reject(new Error('B fails'));
    expect(await b).toMatchObject({ name: 'GuardStorageError' });
    s.held[1]!.resolve();
    s.held[2]!.reject(new Error('D fails'));
    expect(await dd).toMatchObject({ name: 'GuardStorageError' });
    const guardC = await c;
    const begun = await guardC.begin(sale);
    expect(begun.verdict).toBe('allow');
    await guardC.settle(begun.attempt!.id, { status: 'approved', processorRef: 'ch_atk17_1' });
    expect((await guardC.get(begun.attempt!.id))?.status).toBe('approved');
    expect(await a.begin({ ...sale, amount: 3_000 }).catch((e: unknown) => e)).toMatchObject({ code: 'TAKEN_OVER' });
    expect(s.listeners.size).toBe(1);
    await guardC.close();
    expect(s.state.closes).toBe(1);
  });

  it('P4: close() called three times resolves, every time, only once the store is closed', async () => {
    const s = heldStore();
    s.state.gateClose = true;
    const a = await createGuard({ merchantId: 'M1', secret: SECRET, store: s.store });
    const done: number[] = [];
    const closes = [a.close(), a.close(), a.close()].map((p, i) => p.then(() => void done.push(i)));
    await flush();
    expect(done).toEqual([]);
    s.closing.resolve();
    await Promise.all(closes);
    expect(s.state.closed).toBe(true);
    expect(s.state.closes).toBe(1);
  });
});
