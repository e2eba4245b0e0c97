/**
 * Unknown outcomes resolved by `recover` (SPEC §10), on the virtual clock:
 * the schedule, what each answer does, recoverNow, the lease, close().
 */
import { describe, expect, test } from 'vitest';
import { createGuard, memoryStore, type GuardEvent, type GuardOptions, type RecoverAnswer } from '../../src/index.js';
import { virtualTime } from '../../src/scenarios/virtual-time.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import { sharedStore } from '../../src/shared/store.js';
import { contextOf } from '../../src/guard/context.js';

const secret = 'recover-secret-0123456789abcdef';
const sale = { amount: 5000, currency: 'CNY', card: { token: 'tok_recover' } };
const START = Date.parse('2026-03-01T09:00:00Z');

type Script = (RecoverAnswer | 'throw' | (() => Promise<RecoverAnswer>))[];

async function setup(script: Script = [], options: Partial<GuardOptions> = {}) {
  const time = virtualTime(START);
  const calls: { id: string; at: number }[] = [];
  const events: GuardEvent[] = [];
  const store = options.store ?? memoryStore();
  const recover = (attempt: { id: string }) => {
    calls.push({ id: attempt.id, at: time.clock.now() - START });
    const next = script[calls.length - 1];
    if (next === 'throw') throw new Error('processor unreachable');
    if (typeof next === 'function') return next();
    return next;
  };
  const make = () => createGuard({ merchantId: 'M1', secret, store, clock: time.clock, scheduler: time.scheduler, recover, ...options });
  const guard = await make();
  for (const type of ['recover', 'recovery-exhausted', 'settle'] as const) guard.on(type, (e) => events.push(e));
  const unknownAttempt = async () => {
    const decision = await guard.begin(sale);
    await decision.attempt?.markUnknown();
    return decision.attempt?.id as string;
  };
  return { time, calls, events, guard, store, make, unknownAttempt };
}

describe('the schedule', () => {
  test('tries at recoverAfter × (2^k − 1) after the attempt became unknown, recoverTries times, then recovery-exhausted once', async () => {
    const { time, calls, events, guard, unknownAttempt } = await setup();
    const id = await unknownAttempt();
    await time.advance(60_000);
    expect(calls.map((c) => c.at)).toEqual([5_000, 15_000, 35_000]);
    expect(events.filter((e) => e.type === 'recovery-exhausted')).toEqual([{ type: 'recovery-exhausted', attemptId: id, tries: 3 }]);
    expect((await guard.get(id))?.status).toBe('unknown');
    expect((await guard.get(id))?.recovery).toMatchObject({ tries: 3, exhausted: true });
    expect((await guard.attempts({ status: 'unknown' })).map((a) => a.id)).toEqual([id]);
    // And it still blocks a retry of the sale.
    expect((await guard.begin(sale)).reasons.map((r) => r.code)).toEqual(['UNKNOWN_OUTCOME']);
  });

  test('an approval found by inquiry settles it: the retry then prompts DUPLICATE_CHARGE', async () => {
    const { time, guard, unknownAttempt } = await setup([undefined, { status: 'approved', authCode: 'A1' }]);
    const id = await unknownAttempt();
    await time.advance(15_000);
    expect(await guard.get(id)).toMatchObject({ status: 'approved', authCode: 'A1' });
    const retry = await guard.begin(sale);
    expect([retry.verdict, retry.reasons.map((r) => r.code)]).toEqual(['prompt', ['DUPLICATE_CHARGE']]);
  });

  test('not found: cancelled, and the retry is allowed', async () => {
    const { time, guard, unknownAttempt } = await setup([{ status: 'cancelled' }]);
    const id = await unknownAttempt();
    await time.advance(5_000);
    expect((await guard.get(id))?.status).toBe('cancelled');
    expect((await guard.begin(sale)).verdict).toBe('allow');
  });

  test('a throw is still unknown and tried again; an answer it may not settle with ends the tries', async () => {
    const { time, calls, events, guard, unknownAttempt } = await setup(['throw', { status: 'refunded' }]);
    const id = await unknownAttempt();
    await time.advance(120_000);
    expect(calls).toHaveLength(2);
    const tries = events.filter((e) => e.type === 'recover');
    expect(tries.map((e) => [e.try, e.error instanceof Error])).toEqual([
      [1, true],
      [2, true],
    ]);
    expect((await guard.get(id))?.recovery).toMatchObject({ tries: 2, ended: true });
    expect(events.some((e) => e.type === 'recovery-exhausted')).toBe(false);
  });

  test('a pending grown stale is tried recoverAfter after it passed pendingTimeout', async () => {
    const { time, calls, guard } = await setup([{ status: 'declined' }], { pendingTimeout: '1m' });
    const decision = await guard.begin(sale);
    await time.advance(64_999);
    expect(calls).toEqual([]);
    await time.advance(1);
    expect(calls.map((c) => c.at)).toEqual([65_000]);
    expect((await guard.get(decision.attempt?.id as string))?.status).toBe('declined');
  });

  test('a resumed attempt is not recovered while pending; an answer arriving after a resume is dropped', async () => {
    let answer!: (value: RecoverAnswer) => void;
    const { time, calls, events, guard, unknownAttempt } = await setup([() => new Promise((resolve) => (answer = resolve))]);
    const id = await unknownAttempt();
    await time.advance(5_000);
    expect(calls).toHaveLength(1);
    await guard.resume(id);
    answer({ status: 'approved' });
    await time.advance(0);
    expect((await guard.get(id))?.status).toBe('pending');
    const tried = events.find((e) => e.type === 'recover');
    expect(tried).toMatchObject({ attemptId: id, try: 1, outcome: { status: 'approved' } });
    await time.advance(30_000);
    expect(calls).toHaveLength(1);
  });

  test('after a restart, an unknown with tries left is tried within recoverAfter; the count carries on', async () => {
    const { time, calls, store, make, unknownAttempt } = await setup([undefined, undefined, { status: 'voided' }]);
    const id = await unknownAttempt();
    await time.advance(5_000);
    expect(calls).toHaveLength(1);
    const restarted = await make(); // dropped without close, as after a crash
    await time.advance(5_000);
    expect(calls).toHaveLength(2);
    expect((await restarted.get(id))?.recovery?.tries).toBe(2);
    await time.advance(10_000);
    expect((await restarted.get(id))?.status).toBe('voided');
    void store;
  });
});

describe('recoverNow', () => {
  test('one try now, counted; a double tap waits for the same try; not unknown: nothing', async () => {
    let answer!: (value: RecoverAnswer) => void;
    const { calls, guard, unknownAttempt } = await setup([() => new Promise((resolve) => (answer = resolve))]);
    const id = await unknownAttempt();
    const first = guard.recoverNow(id);
    const second = guard.recoverNow(id);
    await new Promise((r) => setTimeout(r, 0));
    answer({ status: 'approved' });
    expect(await first).toEqual([{ attemptId: id, status: 'approved', outcome: { status: 'approved' } }]);
    expect(await second).toEqual(await first);
    expect(calls).toHaveLength(1);
    expect(await guard.recoverNow(id)).toEqual([{ attemptId: id, status: 'approved' }]);
    expect(calls).toHaveLength(1);
  });

  test('every unknown attempt, exhausted ones included, without resetting the count', async () => {
    const { time, calls, guard, unknownAttempt } = await setup([undefined, undefined, undefined, { status: 'declined' }]);
    const id = await unknownAttempt();
    await time.advance(60_000);
    expect(calls).toHaveLength(3);
    expect(await guard.recoverNow()).toEqual([{ attemptId: id, status: 'declined', outcome: { status: 'declined' } }]);
    expect((await guard.get(id))?.recovery?.tries).toBe(4);
  });

  test('without a recover option it is a GuardConfigError naming the field', async () => {
    const guard = await createGuard({ merchantId: 'M1', secret });
    await expect(guard.recoverNow()).rejects.toMatchObject({ name: 'GuardConfigError', field: 'recover' });
  });
});

describe('options, lease and close', () => {
  test('recoverAfter and recoverTries are checked', async () => {
    await expect(createGuard({ merchantId: 'M1', secret, recoverAfter: 0 })).rejects.toMatchObject({ field: 'recoverAfter' });
    await expect(createGuard({ merchantId: 'M1', secret, recoverTries: 1.5 })).rejects.toMatchObject({ field: 'recoverTries' });
    await expect(createGuard({ merchantId: 'M1', secret, recover: 'yes' as never })).rejects.toMatchObject({ field: 'recover' });
  });

  test('close() stops the schedule and waits for a try in progress, whose answer is applied', async () => {
    let answer!: (value: RecoverAnswer) => void;
    const { time, calls, guard, store, unknownAttempt } = await setup([() => new Promise((resolve) => (answer = resolve))]);
    const id = await unknownAttempt();
    await time.advance(5_000);
    let closed = false;
    const closing = guard.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 0));
    expect(closed).toBe(false);
    answer({ status: 'approved' });
    await closing;
    expect((await store.load()).find((r) => r.id === id)?.status).toBe('approved');
    await time.advance(60_000);
    expect(calls).toHaveLength(1);
  });

  test('across terminals: one try at a time (the lease), and another terminal takes over once the holder died', async () => {
    const time = virtualTime(START);
    const db = sharedMemoryDatabase(() => time.clock.now());
    const calls: string[] = [];
    const lane = (terminalId: string, recover: GuardOptions['recover']) =>
      createGuard({
        merchantId: 'M1',
        terminalId,
        secret,
        store: sharedStore(db.remote(terminalId), { local: memoryStore() }),
        clock: time.clock,
        scheduler: time.scheduler,
        recover,
      });
    // T1's inquiry never answers: the terminal hangs, then dies holding the lease.
    const t1 = await lane('T1', () => {
      calls.push('T1');
      return new Promise<RecoverAnswer>(() => undefined);
    });
    const t2 = await lane('T2', () => {
      calls.push('T2');
      return { status: 'declined' };
    });
    const decision = await t1.begin(sale);
    await decision.attempt?.markUnknown();
    const id = decision.attempt?.id as string;
    await time.advance(0);
    expect((await t2.get(id))?.status).toBe('unknown');
    await time.advance(5_000);
    expect(calls).toEqual(['T1']);
    // T2 has it on its own schedule too, but finds the lease held.
    await time.advance(60_000);
    expect(calls).toEqual(['T1']);
    // The lease (2 minutes) runs out: T2 tries, and settles it.
    await time.advance(120_000);
    expect(calls.slice(0, 2)).toEqual(['T1', 'T2']);
    expect((await t2.get(id))?.status).toBe('declined');
  });
});

describe('what the schedule keeps', () => {
  test('an unknown pruned after 7 days leaves the schedule: nothing of it is kept in memory', async () => {
    const { time, guard, unknownAttempt, events } = await setup();
    const id = await unknownAttempt();
    await time.advance(60_000);
    expect(events.filter((e) => e.type === 'recovery-exhausted')).toHaveLength(1);
    const { recovery } = contextOf(guard);
    // Dated ahead by another terminal's clock: remembered while the attempt is open (see firstSeen).
    recovery.leasesSeen.set(id, [time.clock.now() + 600_000, 0]);
    expect(recovery.watched.has(id)).toBe(true);
    await time.advance(8 * 86_400_000);
    await guard.begin({ ...sale, amount: 1 });
    expect(await guard.get(id)).toBeUndefined();
    expect([recovery.watched.has(id), recovery.leasesSeen.has(id)]).toEqual([false, false]);
  });
});
