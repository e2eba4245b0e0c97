/**
 * atk17: the catch-up in each id's line (SharedStoreImpl #sendOne inside #inOrder([id])), met by a take-over.
 *
 * Findings (F = fails on the current code, P = passes: a guarantee pinned):
 *
 * F1 'a double charge found by a catch-up while a take-over starts is told only to the fenced guard'. T2 was cut
 *    off and charged a sale T1 had charged too. Back online, T2's app restarts its guard in the same process (a
 *    createGuard over the same store: B takes over from A). While B loads, the store's reconnect catch-up uploads
 *    the sale and finds the probable double charge: the store's listeners are A's only (B subscribes at the end
 *    of its start), so the `conflict` goes to A, the fenced guard: A journals it (a fenced guard writing) and
 *    emits it on A's events, which the app stopped listening to when it replaced A. The id leaves the outbox once
 *    A's entry is durable; B, the guard the app runs, never emits the conflict. Should: a conflict found while the
 *    owner is starting waits for it (as it does when nobody listens: `#catchUpOnSubscribe`), or is handed to the
 *    guard that holds the store. At a till: the "charged twice, refund one" alert never shows on the lane that can
 *    act on it. (src/shared/store.ts #sendOne: `this.#listeners.size === 0` is the only "not listening yet" test;
 *    src/guard/tabs.ts applyChange delivers `conflict` to a guard that no longer holds the store.)
 *
 * P2 writes of one id arriving before, during and after its catch-up upload (held until it timed out) all land, in
 *    order, once; nothing deadlocks in the id's line; close() twice resolves with the last write in the database.
 *    (Not a finding: a write made while the store is cut off again stays in `local`'s outbox if close() comes
 *    before the next retry; it is sent by the next start, as SPEC §9 says.)
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type GuardEvent, type GuardStore } from '../../src/index.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import { sharedVirtualTime } from '../../src/scenarios/virtual-time.js';
import { sharedStore } from '../../src/shared/store.js';
import type { Remote } from '../../src/shared/remote.js';
import { deferred, type Deferred } from '../helpers/guard.js';
import { LANES_START, flush } from '../helpers/lanes.js';

const SECRET = 'shared-lanes-test-secret-0123456789ab';
const card = { token: 'tok_atk17_catchup' };

/** Calls named in `gated` wait on a deferred each while `on`. */
function gate<T extends object>(inner: T, gated: readonly string[]) {
  const state = { on: false, held: [] as Deferred<void>[] };
  const wrapped = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (state.on && gated.includes(String(name))) {
          const d = deferred<void>();
          state.held.push(d);
          await d.promise;
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { wrapped, state };
}

describe('atk17: a catch-up met by a take-over', () => {
  it('F1: a double charge found by a catch-up while a take-over starts is told only to the fenced guard', async () => {
    const time = sharedVirtualTime(LANES_START);
    const db = sharedMemoryDatabase(() => time.now());
    const [t1, t2] = [time.terminal(), time.terminal()];
    const g1 = await createGuard({
      merchantId: 'M1',
      terminalId: 'T1',
      secret: SECRET,
      store: sharedStore(db.remote('T1'), { local: memoryStore() }),
      clock: t1.clock,
      scheduler: t1.scheduler,
    });
    const remote = gate(db.remote('T2') as Remote & object, ['load']);
    const local = gate(memoryStore() as GuardStore & object, ['load']);
    const store2 = sharedStore(remote.wrapped, { local: local.wrapped });
    const options2 = { merchantId: 'M1', terminalId: 'T2', secret: SECRET, store: store2, clock: t2.clock, scheduler: t2.scheduler };
    const a = await createGuard(options2);
    const heardA: GuardEvent[] = [];
    a.on('conflict', (e) => heardA.push(e));

    // T2 cut off: both lanes charge the same sale.
    db.disconnect('T2');
    await (await g1.begin({ amount: 1_000, currency: 'CNY', card })).attempt!.approve();
    await time.advance(30_000);
    const d2 = await a.begin({ amount: 1_000, currency: 'CNY', card });
    expect(d2.verdict).toBe('allow');
    await d2.attempt!.approve();

    // Back online; the app restarts its guard in the same process. B's load is slow.
    db.reconnect('T2');
    remote.state.on = true;
    local.state.on = true;
    const b = createGuard(options2);
    await flush();
    expect(remote.state.held.length + local.state.held.length).toBeGreaterThan(0);
    remote.state.on = false;
    local.state.on = false;
    // Meanwhile the store's reconnect catch-up runs and uploads the cut-off sale.
    await time.advance(10_000);
    await flush();
    for (const held of [...remote.state.held, ...local.state.held]) held.resolve();
    const guardB = await b;
    const heardB: GuardEvent[] = [];
    guardB.on('conflict', (e) => heardB.push(e));
    await time.advance(10_000);
    await flush();

    const conflicts = db.journal('M1').filter((l) => l.entry.type === 'conflict');
    expect(conflicts).toHaveLength(1); // the double charge was found, and journaled once
    // ...and told to the guard the app runs now, not (only) to the one it replaced.
    expect.soft(heardA).toEqual([]);
    expect(heardB.map((e) => e.type)).toEqual(['conflict']);
    await guardB.close();
    await g1.close();
  });
});

describe('atk17: one id written around its catch-up (pin)', () => {
  it('P2: writes before, during and after the upload land in order, once; close() twice resolves', async () => {
    const time = sharedVirtualTime(LANES_START);
    const db = sharedMemoryDatabase(() => time.now());
    const t2 = time.terminal();
    const remote = gate(db.remote('T2') as Remote & object, ['upload']);
    const store = sharedStore(remote.wrapped, { local: memoryStore() });
    const guard = await createGuard({
      merchantId: 'M1',
      terminalId: 'T2',
      secret: SECRET,
      store,
      clock: t2.clock,
      scheduler: t2.scheduler,
    });
    db.disconnect('T2');
    const begun = await guard.begin({ amount: 2_000, currency: 'CNY', card });
    const id = begun.attempt!.id;
    await begun.attempt!.markUnknown(); // before the catch-up
    db.reconnect('T2');
    remote.state.on = true;
    await time.advance(10_000);
    await flush();
    expect(remote.state.held.length).toBeGreaterThan(0); // the upload of `id` is on its way
    remote.state.on = false;
    // During the upload: the processor's answer arrives.
    const settling = guard.settle(id, { status: 'approved', processorRef: 'ch_atk17_p2' });
    await flush();
    for (const held of remote.state.held) held.resolve();
    await settling;
    // After: a void; the store catches up again (the held upload timed out meanwhile), and close() is called twice.
    await guard.settle(id, { status: 'voided' });
    await time.advance(10_000);
    await flush();
    await Promise.all([guard.close(), guard.close()]);
    const row = await db.remote('reader').get('M1', [id]);
    expect(row[0]?.record.status).toBe('voided');
    const settles = db
      .journal('M1')
      .filter((l) => l.entry.type === 'settle' && l.entry.attemptId === id)
      .map((l) => l.entry.to);
    expect(settles).toEqual(['unknown', 'approved', 'voided']);
  });
});
