import { describe, expect, it } from 'vitest';
import { memoryStore, type AttemptRecord, type GuardStore, type StoreChange } from '../../src/index.js';
import { MINUTE, UNIONPAY, sale, spyStore, testGuard } from '../helpers/guard.js';

// A store that takes real time to write, so every begin below is still
// awaiting its write when the others evaluate: the race is real.
const slowStore = () =>
  spyStore(async (_record, write) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    await write();
  });

describe('atomic reservation', () => {
  it('lets exactly one of 50 concurrent begins of one sale through; the rest are IN_FLIGHT', async () => {
    const store = slowStore();
    const { guard } = await testGuard({ store });
    const decisions = await Promise.all(Array.from({ length: 50 }, () => guard.begin(sale({ card: { pan: UNIONPAY } }))));

    const allowed = decisions.filter((d) => d.verdict === 'allow');
    const blocked = decisions.filter((d) => d.verdict === 'block');
    expect(allowed).toHaveLength(1);
    expect(blocked).toHaveLength(49);
    const winner = allowed[0]?.attempt?.id;
    for (const d of blocked) {
      expect(d.attempt).toBeUndefined();
      expect(d.reasons.map((r) => [r.code, r.attemptId])).toEqual([['IN_FLIGHT', winner]]);
    }
    expect(store.puts.map((r) => r.id)).toEqual([winner]);
    expect((await store.load()).map((r) => r.id)).toEqual([winner]);
    expect(await guard.attempts()).toHaveLength(1);
  });

  it('reserves one attempt per order even when the concurrent sales differ in card and amount', async () => {
    const { guard } = await testGuard({ store: slowStore() });
    const decisions = await Promise.all(
      Array.from({ length: 20 }, (_, i) => guard.begin(sale({ amount: 1000 + i, orderId: 'ORD-7', card: { token: `tok_${i}` } }))),
    );
    expect(decisions.filter((d) => d.verdict === 'allow')).toHaveLength(1);
    expect(decisions.filter((d) => d.reasons.some((r) => r.code === 'IN_FLIGHT'))).toHaveLength(19);
  });

  it('does not hold back different sales begun at the same time', async () => {
    const { guard } = await testGuard({ store: slowStore() });
    const decisions = await Promise.all(Array.from({ length: 10 }, (_, i) => guard.begin(sale({ amount: 100 + i }))));
    expect(decisions.map((d) => d.verdict)).toEqual(Array(10).fill('allow'));
  });
});

/** A memory store whose `subscribe` hands the test the listener: it plays the other tab. */
function tabStore(): { store: GuardStore; deliver: (record: AttemptRecord) => void } {
  let listener: (change: StoreChange) => void = () => undefined;
  const store: GuardStore = {
    ...memoryStore(),
    subscribe: (l) => {
      listener = l;
      return () => undefined;
    },
  };
  return { store, deliver: (record) => listener({ type: 'record', record }) };
}

describe('records from another tab', () => {
  it('an attempt resumed in another tab is IN_FLIGHT here, even after its approval here had left the fingerprint index', async () => {
    const { store, deliver } = tabStore();
    const { guard, clock } = await testGuard({ store, window: '10m' });
    const { attempt } = await guard.begin(sale());
    const pending = await guard.get(attempt?.id ?? '');
    await attempt?.approve();
    clock.advance(11 * MINUTE);
    // Any decision runs the sweep: the approved attempt leaves the fingerprint index.
    await guard.peek(sale({ amount: 1 }));
    // A tab that missed the approval resumes the attempt: its pending version arrives here.
    deliver({ ...(pending as AttemptRecord), pendingSince: clock.wall, updatedAt: clock.wall });
    expect((await guard.get(attempt?.id ?? ''))?.status).toBe('pending');
    expect((await guard.peek(sale())).reasons.map((r) => r.code)).toEqual(['IN_FLIGHT']);
  });

  it('a later approval of the attempt in another tab, after the first left the fingerprint index, is a DUPLICATE_CHARGE here', async () => {
    const { store, deliver } = tabStore();
    const { guard, clock } = await testGuard({ store, window: '10m' });
    const { attempt } = await guard.begin(sale());
    await attempt?.markUnknown();
    const unknown = (await guard.get(attempt?.id ?? '')) as AttemptRecord;
    await attempt?.approve();
    clock.advance(11 * MINUTE);
    await guard.peek(sale({ amount: 1 }));
    // Another tab, which still had it unknown, approves it now and broadcasts it.
    deliver({ ...unknown, status: 'approved', approvedAt: clock.wall, updatedAt: clock.wall });
    clock.advance(MINUTE);
    expect((await guard.peek(sale())).reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
  });
});
