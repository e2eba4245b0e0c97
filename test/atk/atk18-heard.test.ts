/**
 * atk18 (review of the hand-on, ctx.heard): a change acted on once (`conflict`) heard by the fenced guard
 * while a take-over loads. Pins both ends: the take-over that starts reports it, once; the take-over that
 * fails hands it back with the store, and the guard it fenced reports it, once. Before the hand-on the
 * fenced guard journaled it (while fenced) and the starting one never heard it.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type GuardEvent, type GuardStore, type StoreChange } from '../../src/index.js';
import { deferred, type Deferred } from '../helpers/guard.js';
import { flush } from '../helpers/lanes.js';

const SECRET = 'atk18-heard-secret-0123456789abcdef';
const CONFLICT: StoreChange = { type: 'conflict', code: 'DUPLICATE_CHARGE', attempts: ['pdg_own', 'pdg_other'] };

/** A memoryStore whose next load waits for `gate` (and then throws if `fail`), and that talks to its subscribers. */
function talkingStore() {
  const inner = memoryStore();
  const listeners = new Set<(change: StoreChange) => void>();
  const state: { gate?: Deferred<void>; fail: boolean } = { fail: false };
  const store: GuardStore = {
    ...inner,
    load: async (scope) => {
      const gate = state.gate;
      if (gate) {
        state.gate = undefined;
        await gate.promise;
        if (state.fail) throw new Error('disk hiccup');
      }
      return inner.load(scope);
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
  const tell = (change: StoreChange) => {
    for (const listener of [...listeners]) listener(change);
  };
  return { store, inner, state, tell };
}

async function heardDuringTakeOver(fail: boolean) {
  const s = talkingStore();
  const options = { merchantId: 'M1', secret: SECRET, store: s.store };
  const a = await createGuard(options);
  const heardA: GuardEvent[] = [];
  a.on('conflict', (e) => void heardA.push(e));
  s.state.gate = deferred<void>();
  s.state.fail = fail;
  const gate = s.state.gate;
  const b = createGuard(options).then(
    (guard) => guard,
    () => undefined,
  );
  await flush();
  s.tell(CONFLICT); // only A listens now: B subscribes once started
  gate.resolve();
  const guardB = await b;
  const heardB: GuardEvent[] = [];
  guardB?.on('conflict', (e) => void heardB.push(e));
  await flush();
  const journaled = s.inner.journal().filter((e) => e.type === 'conflict');
  return { heardA, heardB, journaled, a, guardB };
}

describe('atk18: a change acted on once, heard while a take-over loads', () => {
  it('the take-over that starts reports it once; the fenced guard reports nothing', async () => {
    const { heardA, heardB, journaled, guardB } = await heardDuringTakeOver(false);
    expect(heardA).toEqual([]);
    expect(heardB.map((e) => e.type)).toEqual(['conflict']);
    expect(journaled).toHaveLength(1);
    await guardB?.close();
  });

  it('the take-over that fails hands it back with the store: the guard it fenced reports it once', async () => {
    const { heardA, guardB, journaled, a } = await heardDuringTakeOver(true);
    expect(guardB).toBeUndefined();
    expect(heardA.map((e) => e.type)).toEqual(['conflict']);
    expect(journaled).toHaveLength(1);
    expect(await a.begin({ amount: 1_000, currency: 'CNY', card: { token: 'tok_atk18' } })).toMatchObject({ verdict: 'allow' });
    await a.close();
  });
});
