/**
 * atk14: take-overs that race, fail, or are closed twice (SPEC §4 close(), §6 "a second guard on the
 * same store in the same process takes over, as after a crash").
 *
 * Findings (F = fails on the current code, P = passes: a guarantee nobody had pinned):
 *
 * F1 'two take-overs that both fail leave the running guard fenced for good'. A till runs guard A;
 *    its restart code calls createGuard twice over the same store (a double tap on "restart", a
 *    retry of a slow start), and both starts fail (the disk's load throws). B fenced A, C fenced B;
 *    B fails first and cannot hand back (C owns the store); C fails next and does not hand back to
 *    A either, because it only knows B (closed by its failure). Nobody owns the store: A, which
 *    never stopped, throws TAKEN_OVER on every begin and its unknown attempts are never recovered.
 *    Should: a failed take-over returns the store to the newest guard still open (A). At a till:
 *    the lane stops taking payments until the app is restarted, with no guard actually running.
 *    (src/guard/start.ts: `handBack = previous && !previous.closed ? previousGuard : undefined`.)
 *
 * F2 'a take-over that fails after another took over leaves the fenced guard subscribed, writing
 *    back its stale copies on a wipe'. Same race, B fails after C started: A was fenced by B, and
 *    only B's success would have unsubscribed it. A keeps hearing the store and, on a wipe, writes
 *    back its old copy of a record the running guard C settled since (src/guard/tabs.ts restore()
 *    writes whatever ctx.closed says; nothing checks ownership). Should: a fenced guard hears and
 *    writes nothing (start.ts's own comment). At a till: a stale `pending`/`unknown` written over a
 *    settled record holds the customer's next sale as UNKNOWN_OUTCOME; or a stale `approved`
 *    over a voided one.
 *
 * F3 'close() called twice: the second resolves before the store is closed'. The second call
 *    returns as soon as the first set `closed`, while the first still waits for the writes in
 *    flight and store.close(). Should: every close() resolves once the guard is closed. At a till:
 *    a shutdown handler run twice (double tap on "sign out", beforeunload + a menu) awaits the
 *    second close() and exits: the journal entry of the last settle, not yet written, is lost,
 *    and a file store's lock may still be held by the process that reopens it.
 *
 * (Not a finding: two createGuard calls at once over one store both journal the crashed charge
 *  pending → unknown, but so do two restarts one after the other: every start reports what it
 *  found in flight, the stored record staying `pending` — see atk14-start-journal P18.)
 *
 * F14 'a take-over refused SECRET_CHANGED leaves its options in the store: the catch-up misses the
 *    double charge'. Over a shared store a guard A still runs on (a restart in one process), a
 *    createGuard with the wrong secret and another `window` is refused; but SharedStoreImpl.attach()
 *    already replaced the store's owner with the refused guard's (its window, retention, clock,
 *    scheduler) and nothing puts A's back. A's next catch-up judges probable double charges on the
 *    refused guard's 1-minute window: lane 1 and lane 2 both charged one sale 5 minutes apart
 *    while lane 2 was cut off, and no `conflict` is reported. Should: a refused start leaves the
 *    store serving the guard that runs on it. At a till: a double charge nobody is told to refund.
 *    (src/shared/store.ts attach(): `this.#owner = owner` before the guard's start can fail;
 *    src/guard/start.ts hydrate() gives nothing back when a previous guard holds the store.)
 *
 * F17 'a guard closed while a take-over of its store fails keeps a recovery timer after close()
 *    resolved'. close() first stops the recovery schedule and waits for the try in progress; a
 *    take-over failing meanwhile hands the store back to the guard (not closed yet) and
 *    resumeRecovery() puts its schedule back; close() then goes on without stopping it again.
 *    The timer only finds the guard closed when it fires (nothing is tried), but on the default
 *    scheduler (setTimeout, not unref'd) it holds a Node/Electron process that should exit for up
 *    to recoverAfter × 2^k. Should: close() leaves no timer (resumeRecovery refuses a guard that is
 *    closing, or close() stops the schedule after it marks the guard closed).
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type GuardStore, type RecoverAnswer, type StoreChange } from '../../src/index.js';
import { virtualTime } from '../../src/scenarios/virtual-time.js';
import { deferred, failure, type Deferred } from '../helpers/guard.js';
import { flush } from '../helpers/lanes.js';
import { countedScheduler } from '../helpers/tabs.js';

const SECRET = 'atk14-takeover-secret-0123456789';
const START = Date.parse('2026-03-01T09:00:00Z');
const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk14_takeover' } };

/** A memoryStore whose loads can be held (each held load waits on a deferred the test settles), and whose subscribers the test can talk to. */
function heldStore() {
  const inner = memoryStore();
  const held: Deferred<void>[] = [];
  let holding = false;
  const listeners = new Set<(change: StoreChange) => void>();
  const puts: { id: string; status: string }[] = [];
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
    put: (record) => {
      puts.push({ id: record.id, status: record.status });
      return inner.put(record);
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
  return {
    store,
    inner,
    held,
    puts,
    listeners,
    hold: (on: boolean) => void (holding = on),
    emit: (change: StoreChange) => [...listeners].forEach((l) => l(change)),
  };
}

describe('atk14: take-overs racing over one store', () => {
  it('F1: two take-overs that both fail leave the running guard fenced for good', async () => {
    const time = virtualTime(START);
    const s = heldStore();
    const recovered: string[] = [];
    const recover = (attempt: { id: string }): RecoverAnswer => {
      recovered.push(attempt.id);
      return undefined;
    };
    const options = { merchantId: 'M1', secret: SECRET, store: s.store, clock: time.clock, scheduler: time.scheduler, recover };
    const a = await createGuard(options);
    const d = await a.begin(sale);
    await d.attempt!.markUnknown();

    s.hold(true);
    const b = failure(createGuard(options));
    const c = failure(createGuard(options));
    await flush();
    expect(s.held).toHaveLength(2); // both fenced their predecessor and wait in load
    s.hold(false);
    s.held[0]!.reject(new Error('disk hiccup (B)'));
    expect(await b).toMatchObject({ name: 'GuardStorageError' });
    s.held[1]!.reject(new Error('disk hiccup (C)'));
    expect(await c).toMatchObject({ name: 'GuardStorageError' });

    // No guard but A ever started: A must still be the store's guard, deciding and recovering.
    const next = await a.begin({ ...sale, amount: 2_000 }).catch((e: unknown) => e);
    expect(next).toMatchObject({ verdict: 'allow' });
    await time.advance(60_000);
    expect(recovered).toContain(d.attempt!.id);
  });

  it('F1 (order control): one failed take-over hands the store back, so the race above is what breaks it', async () => {
    const s = heldStore();
    const options = { merchantId: 'M1', secret: SECRET, store: s.store };
    const a = await createGuard(options);
    s.hold(true);
    const b = failure(createGuard(options));
    await flush();
    s.hold(false);
    s.held[0]!.reject(new Error('disk hiccup'));
    expect(await b).toMatchObject({ name: 'GuardStorageError' });
    expect(await a.begin(sale)).toMatchObject({ verdict: 'allow' });
  });

  it('F2: a take-over that fails after another took over leaves the fenced guard subscribed, writing back its stale copies on a wipe', async () => {
    const s = heldStore();
    const options = { merchantId: 'M1', secret: SECRET, store: s.store };
    const a = await createGuard(options);
    const d = await a.begin(sale); // A holds it pending (charging)
    const id = d.attempt!.id;

    s.hold(true);
    const b = failure(createGuard(options));
    const c = createGuard(options);
    await flush();
    expect(s.held).toHaveLength(2);
    s.hold(false);
    s.held[1]!.resolve(); // C loads and starts
    const guardC = await c;
    s.held[0]!.reject(new Error('disk hiccup (B)')); // B fails after C took the store
    await b;

    // C is the store's guard; the processor's answer for the sale A began arrives there.
    await guardC.settle(id, { status: 'declined' });

    const before = s.puts.length;
    s.emit({ type: 'wiped', detail: 'site data cleared' });
    await flush();
    // Only C writes back what it holds: the declined sale. A's copy (still `pending`) must not be written.
    const stale = s.puts.slice(before).filter((p) => p.id === id && p.status !== 'declined');
    expect(stale).toEqual([]);
    expect(s.listeners.size).toBe(1); // C only: A was fenced, and B never started
    await guardC.close();
  });
});

describe('atk14: close() twice', () => {
  it('F3: close() called twice: the second resolves before the store is closed', async () => {
    const inner = memoryStore();
    const closing = deferred<void>();
    let closed = false;
    const store: GuardStore = {
      ...inner,
      close: async () => {
        await closing.promise;
        closed = true;
      },
    };
    const guard = await createGuard({ merchantId: 'M1', secret: SECRET, store });
    const d = await guard.begin(sale);
    await d.attempt!.approve();
    const first = guard.close();
    let secondDone = false;
    const second = guard.close().then(() => (secondDone = true));
    await flush();
    // The store has not closed yet: neither call may have resolved.
    expect(secondDone).toBe(false);
    closing.resolve();
    await Promise.all([first, second]);
    expect(closed).toBe(true);
  });

  it('F3 (the journal): the second close() resolves before the last settle’s journal entry is written', async () => {
    const inner = memoryStore();
    const appending: Deferred<void>[] = [];
    let hold = false;
    const store: GuardStore = {
      ...inner,
      appendJournal: async (entry, seal) => {
        if (hold) {
          const gate = deferred<void>();
          appending.push(gate);
          await gate.promise;
        }
        return inner.appendJournal(entry, seal);
      },
    };
    const guard = await createGuard({ merchantId: 'M1', secret: SECRET, store });
    const d = await guard.begin(sale);
    hold = true;
    await d.attempt!.approve(); // its journal entry is on its way (not awaited by settle)
    void guard.close();
    // The app's shutdown handler, run a second time, awaits this and exits: what is journaled then is all there is.
    const second = guard.close().then(() => inner.journal().filter((e) => e.type === 'settle' && e.attemptId === d.attempt!.id).length);
    await flush();
    for (const gate of appending) gate.resolve();
    expect(await second).toBe(1);
  });
});

describe('atk14: a take-over refused on the running guard’s shared store', () => {
  /**
   * Lane 2 runs guard A (window 10m) over `store2`; cut off, it approves a sale lane 1 approved 5
   * minutes before (it could not know). `retry` (optional) is an in-process restart attempted
   * meanwhile over the same store object, with the wrong secret and a shorter window: refused.
   */
  async function conflictsFound(retry: boolean): Promise<string[]> {
    const { lanes: makeLanes } = await import('../helpers/lanes.js');
    const { sharedStore } = await import('../../src/shared/store.js');
    const { time, db, open } = makeLanes();
    const t2 = time.terminal();
    const store2 = sharedStore(db.remote('T2'), { local: memoryStore() });
    // Lane 2 is the merchant's first: its local store keeps the key check it wrote (a refused take-over is refused cut off too).
    const a = await open(t2, 'T2', { store: store2, window: '10m' });
    const g1 = await open(time.terminal(), 'T1');
    const conflicts: string[] = [];
    a.on('conflict', (e) => void conflicts.push(e.code));
    db.disconnect('T2');
    const first = await g1.begin(sale);
    await first.attempt!.approve();
    await time.advance(5 * 60_000);
    if (retry) {
      const refused = await failure(
        createGuard({
          merchantId: 'M1',
          terminalId: 'T2',
          secret: 'a-typo-in-the-secret-0123456789abcd',
          window: '1m',
          store: store2,
          clock: t2.clock,
          scheduler: t2.scheduler,
        }),
      );
      expect(refused).toMatchObject({ code: 'SECRET_CHANGED' });
    }
    const second = await a.begin(sale);
    expect(second.verdict).toBe('allow'); // cut off: it cannot know
    await second.attempt!.approve();
    db.reconnect('T2');
    await store2.sync().catch(() => undefined);
    for (let i = 0; i < 5; i++) await flush();
    return conflicts;
  }

  it('F14 (control): the catch-up reports lane 1’s approval 5 minutes before as a probable double charge', async () => {
    expect(await conflictsFound(false)).toEqual(['DUPLICATE_CHARGE']);
  });

  it('F14: a take-over refused SECRET_CHANGED leaves its options in the store: the catch-up misses the double charge', async () => {
    expect(await conflictsFound(true)).toEqual(['DUPLICATE_CHARGE']);
  });
});

describe('atk14: close() while a take-over of the store fails', () => {
  for (const takeOver of [false, true]) {
    it(
      takeOver
        ? 'F17: a guard closed while a take-over of its store fails keeps a recovery timer after close() resolved'
        : 'F17 (control): closed with a try out and no take-over, no timer is left',
      async () => {
        const time = virtualTime(START);
        // The virtual scheduler, counting the timers set and not yet run or cancelled.
        const { live, scheduler } = countedScheduler(time);
        const s = heldStore();
        const answer = deferred<RecoverAnswer>();
        const calls: string[] = [];
        const recover = (attempt: { id: string }): Promise<RecoverAnswer> => {
          calls.push(attempt.id);
          return answer.promise;
        };
        const options = { merchantId: 'M1', secret: SECRET, store: s.store, clock: time.clock, scheduler, recover, recoverAfter: '5s' };
        const a = await createGuard(options);
        const x = await a.begin(sale);
        await x.attempt!.markUnknown();
        await time.advance(1_000);
        const y = await a.begin({ ...sale, amount: 2_000 });
        await y.attempt!.markUnknown();
        await time.advance(4_500); // x's first try is out (and hangs), y's is due in 0.5 s
        expect(calls).toEqual([x.attempt!.id]);

        const closing = a.close(); // waits for x's try
        if (takeOver) {
          s.hold(true);
          const b = failure(createGuard(options)); // the app's restart code, at the same moment
          await flush();
          s.hold(false);
          s.held[0]!.reject(new Error('disk hiccup'));
          expect(await b).toMatchObject({ name: 'GuardStorageError' });
        }
        answer.resolve(undefined);
        await closing;
        await flush();
        // Closed: the process must be free to exit, and nothing more is tried.
        expect(live.size).toBe(0);
        await time.advance(60_000);
        expect(calls).toEqual([x.attempt!.id]);
      },
    );
  }
});
