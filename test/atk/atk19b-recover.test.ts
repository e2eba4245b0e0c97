/**
 * atk19b: `recover` (SPEC §10) answering late, twice, contradicting a
 * person, hanging across close(), and clock jumps between tries.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type GuardEvent, type RecoverAnswer } from '../../src/index.js';
import { virtualTime } from '../../src/scenarios/virtual-time.js';
import { deferred, revokedProxy, throwingGetter } from '../helpers/guard.js';

const SECRET = 'atk19b-recover-secret-0123456789abcdef';
const START = Date.parse('2026-03-01T09:00:00Z');
const sale = { amount: 7_700, currency: 'CNY', card: { token: 'tok-19b-rec' } };
const tick = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
};

async function till(recover: (a: { id: string }) => RecoverAnswer | Promise<RecoverAnswer>, extra = {}) {
  const time = virtualTime(START);
  const store = memoryStore();
  const options = {
    merchantId: 'M1',
    secret: SECRET,
    store,
    clock: time.clock,
    scheduler: time.scheduler,
    recover,
    recoverAfter: '5s',
    ...extra,
  };
  const guard = await createGuard(options);
  const events: GuardEvent[] = [];
  for (const type of ['recover', 'recovery-exhausted', 'settle'] as const) guard.on(type, (e) => events.push(e));
  const unknown = async () => {
    const d = await guard.begin(sale);
    await guard.settle(d.attempt!.id, { status: 'unknown' });
    return d.attempt!.id;
  };
  return { guard, time, events, store, options, unknown };
}

describe('atk19b recover', () => {
  it('a reversal acknowledged after a person settled the attempt approved is dropped: the approval stands', async () => {
    const hold = deferred<RecoverAnswer>();
    const { guard, time, unknown } = await till(() => hold.promise);
    const id = await unknown();
    await time.advance(5_000);
    await guard.settle(id, { status: 'approved', authCode: 'MANUAL' });
    hold.resolve({ status: 'voided' });
    await tick();
    expect((await guard.get(id))?.status).toBe('approved');
  });

  it('an answer after a resume (pending again, same key) is dropped: the attempt stays pending', async () => {
    const hold = deferred<RecoverAnswer>();
    const { guard, time, unknown } = await till(() => hold.promise);
    const id = await unknown();
    await time.advance(5_000);
    await guard.resume(id);
    hold.resolve({ status: 'cancelled' });
    await tick();
    expect((await guard.get(id))?.status).toBe('pending');
  });

  it('close() while recover hangs resolves once the lease gives up, and no try runs after close', async () => {
    let calls = 0;
    const { guard, time, unknown } = await till(() => {
      calls++;
      return new Promise<RecoverAnswer>(() => undefined);
    });
    await unknown();
    await time.advance(5_000);
    expect(calls).toBe(1);
    let closed = false;
    const closing = guard.close().then(() => (closed = true));
    await time.advance(121_000);
    await tick();
    expect(closed).toBe(true);
    await closing;
    await time.advance(3_600_000);
    expect(calls).toBe(1);
  });

  it('the wall clock set back an hour between tries: the second try still comes 15 s after the attempt became unknown', async () => {
    let calls = 0;
    const { time, unknown } = await till(() => {
      calls++;
      return undefined;
    });
    await unknown();
    await time.advance(5_000);
    expect(calls).toBe(1);
    time.jump(-3_600_000);
    await time.advance(10_000);
    expect(calls).toBe(2);
  });

  it('the wall clock set forward a day between tries: the attempt is still tried (not pruned, not stranded) and then reported exhausted', async () => {
    let calls = 0;
    const { time, unknown, events } = await till(() => {
      calls++;
      return undefined;
    });
    await unknown();
    await time.advance(5_000);
    time.jump(24 * 3_600_000);
    await time.advance(40_000);
    expect(calls).toBe(3);
    expect(events.filter((e) => e.type === 'recovery-exhausted').length).toBe(1);
  });

  it('recoverNow tapped twice: one call, both taps get its result', async () => {
    let calls = 0;
    const hold = deferred<RecoverAnswer>();
    const { guard, unknown } = await till(
      () => {
        calls++;
        return hold.promise;
      },
      { recoverAfter: '1h' },
    );
    const id = await unknown();
    const one = guard.recoverNow(id);
    const two = guard.recoverNow(id);
    hold.resolve({ status: 'declined' });
    const [r1, r2] = await Promise.all([one, two]);
    expect(calls).toBe(1);
    expect(r1[0]?.status).toBe('declined');
    expect(r2[0]?.status).toBe('declined');
  });

  it('a recover that answers approved for an unknown refund counts it against the sale once', async () => {
    const { guard, unknown: _u, time } = await till(() => ({ status: 'approved' }));
    const paid = await guard.begin({ ...sale, amount: 5_000 });
    await paid.attempt!.approve();
    const refund = await guard.begin({ ...sale, amount: 2_000, kind: 'refund', refundOf: paid.attempt!.id });
    await refund.attempt!.markUnknown();
    await time.advance(5_000);
    await tick();
    expect((await guard.get(refund.attempt!.id))?.status).toBe('approved');
    expect((await guard.get(paid.attempt!.id))?.refunded).toBe(2_000);
    await guard.recoverNow(refund.attempt!.id);
    expect((await guard.get(paid.attempt!.id))?.refunded).toBe(2_000);
  });
});

describe('atk19b recover: hostile answers', () => {
  for (const [name, make] of [
    ['a revoked Proxy', () => revokedProxy()],
    ['an object whose status getter throws', () => throwingGetter('status')],
    ['a thenable that never settles inside an object', () => ({ status: { then: () => undefined } })],
    ['a status of "approved " (trailing space)', () => ({ status: 'approved ' })],
  ] as const) {
    it(`${name}: recoverNow resolves (no raw throw), the attempt stays unknown and can be tried again`, async () => {
      let n = 0;
      const { guard, unknown } = await till(
        () => {
          n++;
          return n === 1 ? (make() as RecoverAnswer) : { status: 'cancelled' };
        },
        { recoverAfter: '1h' },
      );
      const id = await unknown();
      const [first] = await guard.recoverNow(id);
      expect(first?.status).toBe('unknown');
      const [second] = await guard.recoverNow(id);
      expect(second?.status).toBe('cancelled');
    });
  }
});

describe('atk19b recover racing close() and a take-over', () => {
  it('close() during a try: the answer is applied to the store before close resolves', async () => {
    const hold = deferred<RecoverAnswer>();
    const { guard, time, unknown, store } = await till(() => hold.promise);
    const id = await unknown();
    await time.advance(5_000);
    const closing = guard.close();
    hold.resolve({ status: 'cancelled' });
    await closing;
    expect((await store.load()).find((r) => r.id === id)?.status).toBe('cancelled');
  });

  it('a take-over during a try: the successor does not call recover again for it and gets its answer', async () => {
    let calls = 0;
    const hold = deferred<RecoverAnswer>();
    const { time, unknown, options } = await till(() => {
      calls++;
      return hold.promise;
    });
    const id = await unknown();
    await time.advance(5_000);
    expect(calls).toBe(1);
    const successor = await createGuard(options);
    await time.advance(5_000);
    expect(calls).toBe(1);
    hold.resolve({ status: 'voided' });
    await tick();
    expect((await successor.get(id))?.status).toBe('voided');
  });
});
