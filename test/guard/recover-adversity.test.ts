/**
 * `recover` (SPEC §10) where it is hardest: a call that never answers, a
 * restart with a call in flight, the till's button used for the last try,
 * two terminals taking turns, start-up on a shared store, and hostile
 * answers. Each case found by recover.properties.test.ts or by reading
 * recover.ts, kept here as a plain example.
 */
import { describe, expect, test } from 'vitest';
import {
  createGuard,
  memoryStore,
  type AttemptRecord,
  type GuardEvent,
  type GuardOptions,
  type GuardStore,
  type RecoverAnswer,
} from '../../src/index.js';
import { RECOVER_LEASE_MS } from '../../src/guard/recover.js';
import { sharedVirtualTime, virtualTime } from '../../src/scenarios/virtual-time.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import { sharedStore } from '../../src/shared/store.js';

const secret = 'recover-adversity-secret-0123456789';
const sale = { amount: 5000, currency: 'CNY', card: { token: 'tok_recover' } };
const START = Date.parse('2026-03-01T09:00:00Z');

const PAN = '4111 1111 1111 1111';

const ticks = async (n = 6) => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** A `recover` that logs its calls (start and end, virtual ms) and answers as the test says. */
function scripted(now: () => number, answer: (call: number, attempt: AttemptRecord) => RecoverAnswer | Promise<RecoverAnswer>) {
  const calls: { id: string; start: number; end?: number; guard?: string }[] = [];
  const recover = (guard: string) => (attempt: AttemptRecord) => {
    const call = { id: attempt.id, start: now(), guard };
    calls.push(call);
    const done = () => ((call as { end?: number }).end = now());
    try {
      const result = answer(calls.length, attempt);
      if (result instanceof Promise) return result.finally(done);
      done();
      return result;
    } catch (error) {
      done();
      throw error;
    }
  };
  return { calls, recover };
}

/** No two calls for one attempt overlap. */
function overlaps(calls: readonly { id: string; start: number; end?: number }[]): string[] {
  const found: string[] = [];
  calls.forEach((a, i) =>
    calls.slice(i + 1).forEach((b) => {
      if (a.id === b.id && (a.end === undefined || b.start < a.end)) found.push(`${a.id}: ${a.start}–${a.end ?? '…'} and ${b.start}`);
    }),
  );
  return found;
}

async function unknownAttempt(guard: Awaited<ReturnType<typeof createGuard>>) {
  const decision = await guard.begin(sale);
  await decision.attempt?.markUnknown();
  return decision.attempt?.id as string;
}

describe('a call that never answers', () => {
  test('is given up on once its lease runs out (journaled, in the event): the next try comes on schedule', async () => {
    const time = virtualTime(START);
    const never = new Promise<RecoverAnswer>(() => undefined);
    const { calls, recover } = scripted(time.clock.monotonic, (n) => (n === 1 ? never : { status: 'declined' }));
    const guard = await createGuard({ merchantId: 'M1', secret, clock: time.clock, scheduler: time.scheduler, recover: recover('g') });
    const events: GuardEvent[] = [];
    guard.on('recover', (e) => events.push(e));
    const id = await unknownAttempt(guard);
    await time.advance(5_000);
    expect(calls).toHaveLength(1);
    // Try 2 is due at 15 s, but try 1 holds the attempt until its lease runs out.
    await time.advance(RECOVER_LEASE_MS - 1);
    expect(calls).toHaveLength(1);
    await time.advance(1);
    expect(calls.map((c) => c.start)).toEqual([5_000, 5_000 + RECOVER_LEASE_MS]);
    expect(events[0]).toMatchObject({ type: 'recover', attemptId: id, try: 1 });
    expect(String((events[0] as { error?: unknown }).error)).toMatch(/did not answer within \d+ ms \(its lease\), so it was given up on$/);
    expect((await guard.get(id))?.status).toBe('declined');
  });

  test('close() waits for a try in progress no longer than its lease', async () => {
    const time = virtualTime(START);
    const { recover } = scripted(time.clock.monotonic, () => new Promise<RecoverAnswer>(() => undefined));
    const store = memoryStore();
    const guard = await createGuard({
      merchantId: 'M1',
      secret,
      store,
      clock: time.clock,
      scheduler: time.scheduler,
      recover: recover('g'),
    });
    const id = await unknownAttempt(guard);
    await time.advance(5_000);
    let closed = false;
    const closing = guard.close().then(() => (closed = true));
    await time.advance(RECOVER_LEASE_MS - 1);
    expect(closed).toBe(false);
    await time.advance(1);
    await ticks();
    expect(closed).toBe(true);
    await closing;
    // The lease was given back: the next run may try it at once.
    expect((await store.get?.(id))?.recovery).toEqual({ tries: 1 });
  });
  test('its answer, should it still come, is applied if the attempt is still unknown as it was asked; dropped if not', async () => {
    const time = virtualTime(START);
    const answers: ((value: RecoverAnswer) => void)[] = [];
    const { calls, recover } = scripted(time.clock.monotonic, () => new Promise<RecoverAnswer>((resolve) => answers.push(resolve)));
    const guard = await createGuard({ merchantId: 'M1', secret, clock: time.clock, scheduler: time.scheduler, recover: recover('g') });
    const first = await unknownAttempt(guard);
    await time.advance(5_000 + RECOVER_LEASE_MS);
    expect(calls.map((c) => c.start)).toEqual([5_000, 5_000 + RECOVER_LEASE_MS]); // try 1 given up on, try 2 out
    // Try 1's answer comes after all: the attempt is still unknown, the version it was asked about.
    (answers[0] as (value: RecoverAnswer) => void)({ status: 'approved', authCode: 'LATE' });
    await ticks();
    expect(await guard.get(first)).toMatchObject({ status: 'approved', authCode: 'LATE' });
    // Try 2's answer then finds it settled: dropped.
    (answers[1] as (value: RecoverAnswer) => void)({ status: 'cancelled' });
    await ticks();
    expect((await guard.get(first))?.status).toBe('approved');
  });
  test('its answer and the next try’s at the same moment: applied one after the other, the second finds it settled (shared store)', async () => {
    const time = virtualTime(START);
    const answers: ((value: RecoverAnswer) => void)[] = [];
    const { recover } = scripted(time.clock.monotonic, () => new Promise<RecoverAnswer>((resolve) => answers.push(resolve)));
    const db = sharedMemoryDatabase(time.clock.now);
    const store = sharedStore(db.remote('T1'), { local: memoryStore() });
    const guard = await createGuard({
      merchantId: 'M1',
      terminalId: 'T1',
      secret,
      store,
      clock: time.clock,
      scheduler: time.scheduler,
      recover: recover('g'),
    });
    const events: GuardEvent[] = [];
    guard.on('settle', (e) => events.push(e));
    const id = await unknownAttempt(guard);
    await time.advance(5_000 + RECOVER_LEASE_MS);
    expect(answers).toHaveLength(2);
    // The processor contradicts itself; whichever answer is applied first stands, and only one is.
    (answers[0] as (value: RecoverAnswer) => void)({ status: 'cancelled' });
    (answers[1] as (value: RecoverAnswer) => void)({ status: 'approved' });
    await ticks(20);
    expect((await guard.get(id))?.status).toBe('cancelled');
    expect(events.map((e) => (e.type === 'settle' ? e.record.status : e.type))).toEqual(['unknown', 'cancelled']);
    expect(db.journal('M1').some((j) => /answered approved after the attempt became cancelled: dropped/.test(j.entry.detail ?? ''))).toBe(
      true,
    );
  });
  test('once close() was called, an answer for a try already given up on is dropped; one for the try in progress is applied', async () => {
    const time = virtualTime(START);
    const answers: ((value: RecoverAnswer) => void)[] = [];
    const { recover } = scripted(time.clock.monotonic, () => new Promise<RecoverAnswer>((resolve) => answers.push(resolve)));
    const store = memoryStore();
    const options = { merchantId: 'M1', secret, store, clock: time.clock, scheduler: time.scheduler, recover: recover('g') };
    const guard = await createGuard(options);
    const id = await unknownAttempt(guard);
    await time.advance(5_000 + RECOVER_LEASE_MS); // try 1 given up on, try 2 out
    const closing = guard.close();
    (answers[0] as (value: RecoverAnswer) => void)({ status: 'approved' }); // try 1, given up on: not waited for, dropped
    await ticks();
    expect((await store.get?.(id))?.status).toBe('unknown');
    (answers[1] as (value: RecoverAnswer) => void)({ status: 'declined' }); // try 2, in progress: waited for, applied
    await closing;
    expect((await store.get?.(id))?.status).toBe('declined');
  });
  test("the till's button for every attempt starts no try once close() was called", async () => {
    const time = virtualTime(START);
    let answer!: (value: RecoverAnswer) => void;
    const { calls, recover } = scripted(time.clock.monotonic, (n) =>
      n === 1 ? new Promise<RecoverAnswer>((resolve) => (answer = resolve)) : undefined,
    );
    const guard = await createGuard({ merchantId: 'M1', secret, clock: time.clock, scheduler: time.scheduler, recover: recover('g') });
    await unknownAttempt(guard);
    const other = await guard.begin({ ...sale, amount: 7000 });
    await other.attempt?.markUnknown();
    const all = guard.recoverNow(); // one after the other: the first one's answer is slow
    await ticks();
    expect(calls).toHaveLength(1);
    const closing = guard.close();
    answer(undefined);
    await closing;
    await all;
    expect(calls).toHaveLength(1);
  });
});

describe('a restart with a call in flight (a new guard over the store, the old one dropped without close)', () => {
  for (const kind of ['memoryStore', 'shared store'] as const) {
    test(`${kind}: the new guard does not call while the old guard's call is in flight, and takes its answer`, async () => {
      const time = virtualTime(START);
      let answer!: (value: RecoverAnswer) => void;
      const { calls, recover } = scripted(time.clock.monotonic, (n) =>
        n === 1 ? new Promise<RecoverAnswer>((resolve) => (answer = resolve)) : undefined,
      );
      const db = sharedMemoryDatabase(time.clock.now);
      const store: GuardStore = kind === 'memoryStore' ? memoryStore() : sharedStore(db.remote('T1'), { local: memoryStore() });
      const options = { merchantId: 'M1', terminalId: 'T1', secret, store, clock: time.clock, scheduler: time.scheduler };
      const first = await createGuard({ ...options, recover: recover('first') });
      const id = await unknownAttempt(first);
      await time.advance(5_000);
      expect(calls).toHaveLength(1);
      const second = await createGuard({ ...options, recover: recover('second') });
      // The new guard's first try would be due 5 s after its start-up.
      await time.advance(30_000);
      expect(calls).toHaveLength(1);
      answer({ status: 'approved', authCode: 'LATE1' });
      await ticks();
      expect(await second.get(id)).toMatchObject({ status: 'approved', authCode: 'LATE1' });
      await time.advance(60_000);
      expect(calls).toHaveLength(1);
      expect(overlaps(calls)).toEqual([]);
    });

    test(`${kind}: the old guard's late answer never writes over what the new guard settled`, async () => {
      const time = virtualTime(START);
      let answer!: (value: RecoverAnswer) => void;
      const { recover } = scripted(time.clock.monotonic, () => new Promise<RecoverAnswer>((resolve) => (answer = resolve)));
      const db = sharedMemoryDatabase(time.clock.now);
      const store: GuardStore = kind === 'memoryStore' ? memoryStore() : sharedStore(db.remote('T1'), { local: memoryStore() });
      const reader = db.remote('READER');
      const stored = async (id: string) => (kind === 'memoryStore' ? store.get?.(id) : (await reader.get('M1', [id]))[0]?.record);
      const options = { merchantId: 'M1', terminalId: 'T1', secret, store, clock: time.clock, scheduler: time.scheduler };
      const first = await createGuard({ ...options, recover: recover('first') });
      const id = await unknownAttempt(first);
      await time.advance(5_000);
      const second = await createGuard({ ...options, recover: recover('second') });
      // A person checked with the processor and settled it.
      await second.settle(id, { status: 'declined' });
      answer(undefined);
      await ticks();
      expect((await stored(id))?.status).toBe('declined');
      expect((await stored(id))?.recovery?.tries).toBe(1);
    });
  }
  test('a stale pending asked about before the restart, answered after the new guard tried it too: still the version it was asked about', async () => {
    const time = virtualTime(START);
    let answer!: (value: RecoverAnswer) => void;
    const { calls, recover } = scripted(time.clock.monotonic, (n) =>
      n === 1 ? new Promise<RecoverAnswer>((resolve) => (answer = resolve)) : undefined,
    );
    const store = memoryStore();
    const options = { merchantId: 'M1', secret, store, clock: time.clock, scheduler: time.scheduler, pendingTimeout: '1m' };
    const first = await createGuard({ ...options, recover: recover('first') });
    const id = (await first.begin(sale)).attempt?.id as string;
    await time.advance(65_000); // grown stale: asked about as a pending
    const second = await createGuard({ ...options, recover: recover('second') });
    await time.advance(RECOVER_LEASE_MS); // the first call given up on; the new guard asks (as unknown, its start-up's)
    expect(calls.slice(0, 2).map((c) => [c.guard, c.start])).toEqual([
      ['first', 65_000],
      ['second', 65_000 + RECOVER_LEASE_MS],
    ]);
    answer({ status: 'approved', authCode: 'LATE2' });
    await ticks();
    expect(await second.get(id)).toMatchObject({ status: 'approved', authCode: 'LATE2' });
  });
  test('asked about as unknown after a start-up, resumed in the same millisecond: a late answer is dropped', async () => {
    const time = virtualTime(START);
    let answer!: (value: RecoverAnswer) => void;
    const { recover } = scripted(time.clock.monotonic, (n) =>
      n === 1 ? new Promise<RecoverAnswer>((resolve) => (answer = resolve)) : undefined,
    );
    const store = memoryStore();
    const options = { merchantId: 'M1', secret, store, clock: time.clock, scheduler: time.scheduler, recover: recover('g') };
    const first = await createGuard(options);
    const id = (await first.begin(sale)).attempt?.id as string;
    const second = await createGuard(options); // the pending reads unknown: its process died mid-charge
    void second.recoverNow(id);
    await ticks();
    await second.resume(id); // the same millisecond: every time on it is the same as before
    await time.advance(RECOVER_LEASE_MS + 1); // try 1 given up on; the resumed charge grows stale (reads unknown)
    answer({ status: 'approved' });
    await ticks();
    expect((await second.get(id))?.status).not.toBe('approved');
  });
  test('shared store: once the old call was given up on and its lease given back, the new guard can resume the attempt', async () => {
    const time = virtualTime(START);
    const { recover } = scripted(time.clock.monotonic, () => new Promise<RecoverAnswer>(() => undefined));
    const db = sharedMemoryDatabase(time.clock.now);
    const store = sharedStore(db.remote('T1'), { local: memoryStore() });
    const options = {
      merchantId: 'M1',
      terminalId: 'T1',
      secret,
      store,
      clock: time.clock,
      scheduler: time.scheduler,
      pendingTimeout: '1m',
    };
    const first = await createGuard({ ...options, recover: recover('first') });
    const id = (await first.begin(sale)).attempt?.id as string;
    await time.advance(65_000); // grown stale: asked about, no answer
    const second = await createGuard({ ...options, recover: recover('second'), recoverTries: 0 });
    await time.advance(RECOVER_LEASE_MS); // given up on; the new guard gives its lease back
    await expect(second.resume(id)).resolves.toMatchObject({ id });
  });
});

describe('recovery-exhausted', () => {
  test("the till's button used for the last try: reported once, like a scheduled last try", async () => {
    const time = virtualTime(START);
    const { calls, recover } = scripted(time.clock.monotonic, () => undefined);
    const guard = await createGuard({ merchantId: 'M1', secret, clock: time.clock, scheduler: time.scheduler, recover: recover('g') });
    const events: GuardEvent[] = [];
    guard.on('recovery-exhausted', (e) => events.push(e));
    const id = await unknownAttempt(guard);
    await time.advance(15_000); // tries 1 and 2, on schedule
    await guard.recoverNow(id); // try 3: the last
    await time.advance(600_000);
    expect(calls).toHaveLength(3);
    expect(events).toEqual([{ type: 'recovery-exhausted', attemptId: id, tries: 3 }]);
    await guard.recoverNow(id); // exhausted ones included; reported once only
    await time.advance(600_000);
    expect(events).toHaveLength(1);
  });

  test('a restart with fewer recoverTries than the tries already made: reported, once', async () => {
    const time = virtualTime(START);
    const { calls, recover } = scripted(time.clock.monotonic, () => undefined);
    const store = memoryStore();
    const options = { merchantId: 'M1', secret, store, clock: time.clock, scheduler: time.scheduler, recover: recover('g') };
    const guard = await createGuard({ ...options, recoverTries: 5 });
    const id = await unknownAttempt(guard);
    await time.advance(15_000);
    expect(calls).toHaveLength(2);
    const restarted = await createGuard({ ...options, recoverTries: 1 });
    const events: GuardEvent[] = [];
    restarted.on('recovery-exhausted', (e) => events.push(e));
    await time.advance(600_000);
    expect(calls).toHaveLength(2);
    expect(events).toEqual([{ type: 'recovery-exhausted', attemptId: id, tries: 2 }]);
    const again = await createGuard({ ...options, recoverTries: 1 });
    again.on('recovery-exhausted', (e) => events.push(e));
    await time.advance(600_000);
    expect(events).toHaveLength(1);
  });
  test('a resumed attempt whose tries are used up is reported once it grows stale (not spun on the instant before)', async () => {
    const time = virtualTime(START);
    const { calls, recover } = scripted(time.clock.monotonic, () => undefined);
    const options = {
      merchantId: 'M1',
      secret,
      store: memoryStore(),
      clock: time.clock,
      scheduler: time.scheduler,
      pendingTimeout: '1m',
      recover: recover('g'),
    };
    const guard = await createGuard({ ...options, recoverTries: 5 });
    const id = await unknownAttempt(guard);
    await time.advance(15_000);
    const restarted = await createGuard({ ...options, recoverTries: 1 });
    const events: GuardEvent[] = [];
    restarted.on('recovery-exhausted', (e) => events.push(e));
    await restarted.resume(id); // charged again, and that charge hangs: it grows stale
    await time.advance(60_000);
    expect(events).toEqual([]);
    await time.advance(1);
    expect(events).toEqual([{ type: 'recovery-exhausted', attemptId: id, tries: 2 }]);
    expect(calls).toHaveLength(2);
  }, 5_000);
});

describe('two terminals on one shared store', () => {
  async function lanes(recoverAfter: string) {
    const time = sharedVirtualTime(START);
    const db = sharedMemoryDatabase(time.now);
    const terminals = ['T1', 'T2'].map((terminalId) => ({ terminalId, time: time.terminal() }));
    const { calls, recover } = scripted(
      () => time.now() - START,
      () => undefined,
    );
    const guards = await Promise.all(
      terminals.map((t) =>
        createGuard({
          merchantId: 'M1',
          terminalId: t.terminalId,
          secret,
          store: sharedStore(db.remote(t.terminalId), { local: memoryStore() }),
          clock: t.time.clock,
          scheduler: t.time.scheduler,
          recover: recover(t.terminalId),
          recoverAfter,
        }),
      ),
    );
    return { time, terminals, guards, calls };
  }

  test("the other terminal's try counts: tries stay recoverAfter × (2^k − 1) apart, whoever makes them", async () => {
    const { time, guards, calls } = await lanes('5s');
    const [t1] = guards as [Awaited<ReturnType<typeof createGuard>>];
    await unknownAttempt(t1);
    await time.advance(600_000);
    expect(calls.map((c) => c.start)).toEqual([5_000, 15_000, 35_000]);
  });
});

describe('a store that fails its writes', () => {
  test('a try whose lease cannot be written is tried again recoverAfter later, not at once and forever', async () => {
    const time = virtualTime(START);
    const inner = memoryStore();
    let failing = false;
    const store: GuardStore = {
      ...inner,
      put: async (record) => {
        if (failing) throw new Error('disk full');
        return inner.put(record);
      },
    };
    const { calls, recover } = scripted(time.clock.monotonic, () => undefined);
    const guard = await createGuard({
      merchantId: 'M1',
      secret,
      store,
      clock: time.clock,
      scheduler: time.scheduler,
      recover: recover('g'),
    });
    const errors: GuardEvent[] = [];
    guard.on('storage-error', (e) => errors.push(e));
    const id = await unknownAttempt(guard);
    failing = true;
    await time.advance(5_000);
    await time.advance(4_999);
    // Once, then once again recoverAfter later: not in a loop at the instant it was due.
    expect(errors).toHaveLength(1);
    await time.advance(1);
    expect(errors).toHaveLength(2);
    expect(calls).toEqual([]);
    failing = false;
    await time.advance(5_000);
    // Try 1 at last, and try 2 with it: it was due at 15 s (5 s × (2² − 1)) all along.
    expect(calls.map((c) => c.start)).toEqual([15_000, 15_000]);
    expect((await guard.get(id))?.recovery).toEqual({ tries: 2 });
  }, 5_000);

  test('an exhaustion report that cannot be written is tried again recoverAfter later too', async () => {
    const time = virtualTime(START);
    const inner = memoryStore();
    let failing = false;
    const store: GuardStore = {
      ...inner,
      put: async (record) => {
        if (failing) throw new Error('disk full');
        return inner.put(record);
      },
    };
    const { recover } = scripted(time.clock.monotonic, () => undefined);
    const options = { merchantId: 'M1', secret, store, clock: time.clock, scheduler: time.scheduler, recover: recover('g') };
    const first = await createGuard({ ...options, recoverTries: 5 });
    const id = await unknownAttempt(first);
    await time.advance(15_000); // two tries
    const second = await createGuard({ ...options, recoverTries: 1 }); // its tries are used up: a report is due
    const errors: GuardEvent[] = [];
    const reported: GuardEvent[] = [];
    second.on('storage-error', (e) => errors.push(e));
    second.on('recovery-exhausted', (e) => reported.push(e));
    failing = true;
    await time.advance(9_999);
    expect(errors).toHaveLength(2); // at start-up, then recoverAfter later
    failing = false;
    await time.advance(5_000);
    expect(reported).toEqual([{ type: 'recovery-exhausted', attemptId: id, tries: 2 }]);
  }, 5_000);
});

describe('a terminal whose wall clock is wrong', () => {
  // The shared store moves another terminal's times onto this one's clock,
  // the lease's `recovery.leaseUntil` included: unmoved, T2 read T1's lease
  // an hour early, took it as run out, and called recover while T1's call
  // was in flight.
  test('a lease holds on a terminal whose wall clock is an hour behind the others', async () => {
    let answer!: (value: RecoverAnswer) => void;
    const time = sharedVirtualTime(START);
    const db = sharedMemoryDatabase(time.now);
    const t1Time = time.terminal();
    const t2Time = time.terminal();
    t1Time.jump(-3_600_000);
    const { calls, recover } = scripted(
      () => time.now() - START,
      (n) => (n === 1 ? new Promise<RecoverAnswer>((resolve) => (answer = resolve)) : undefined),
    );
    const lane = (terminalId: string, t: typeof t1Time) =>
      createGuard({
        merchantId: 'M1',
        terminalId,
        secret,
        store: sharedStore(db.remote(terminalId), { local: memoryStore() }),
        clock: t.clock,
        scheduler: t.scheduler,
        recover: recover(terminalId),
      });
    const t1 = await lane('T1', t1Time);
    await lane('T2', t2Time);
    await unknownAttempt(t1);
    await time.advance(60_000);
    // T1's call is in flight, its lease good for two minutes: T2 must not call.
    expect(calls.map((c) => c.guard)).toEqual(['T1']);
    answer(undefined);
    await ticks();
    expect(overlaps(calls)).toEqual([]);
  });
});

describe('a wall clock set back an hour', () => {
  test('shared store: a pending grown stale is tried on schedule, and its times stay its own', async () => {
    const time = virtualTime(START);
    const { calls, recover } = scripted(time.clock.monotonic, () => undefined);
    const db = sharedMemoryDatabase(time.clock.now);
    const store = sharedStore(db.remote('T1'), { local: memoryStore() });
    const guard = await createGuard({
      merchantId: 'M1',
      terminalId: 'T1',
      secret,
      store,
      clock: time.clock,
      scheduler: time.scheduler,
      pendingTimeout: '1m',
      recover: recover('g'),
    });
    const id = (await guard.begin(sale)).attempt?.id as string;
    const begun = await guard.get(id);
    time.jump(-3_600_000);
    await time.advance(600_000);
    // Reading its own lease back through the wall clock took the pending for one an hour younger.
    expect(calls.map((c) => c.start)).toEqual([65_000, 75_000, 95_000]);
    const now = await guard.get(id);
    expect([now?.status, now?.pendingSince]).toEqual(['unknown', begun?.pendingSince]);
  });
});

describe('a shared store at start-up', () => {
  test('a pending found at start-up (the process died mid-charge) is tried, and keeps reading unknown', async () => {
    const time = virtualTime(START);
    const { calls, recover } = scripted(time.clock.monotonic, () => undefined);
    const db = sharedMemoryDatabase(time.clock.now);
    const store = sharedStore(db.remote('T1'), { local: memoryStore() });
    const options = {
      merchantId: 'M1',
      terminalId: 'T1',
      secret,
      store,
      clock: time.clock,
      scheduler: time.scheduler,
      recover: recover('g'),
    };
    const first = await createGuard(options);
    const id = (await first.begin(sale)).attempt?.id as string;
    const restarted = await createGuard(options);
    expect((await restarted.get(id))?.status).toBe('unknown');
    await time.advance(5_000);
    expect(calls).toHaveLength(1);
    expect((await restarted.get(id))?.status).toBe('unknown');
    // A retry of the sale is blocked as an unknown outcome, not held as a charge in flight.
    expect((await restarted.begin(sale)).reasons.map((r) => r.code)).toEqual(['UNKNOWN_OUTCOME']);
  });
});

describe('hostile answers', () => {
  async function oneTry(answer: () => RecoverAnswer | Promise<RecoverAnswer>, options: Partial<GuardOptions> = {}) {
    const time = virtualTime(START);
    const store = memoryStore();
    const events: GuardEvent[] = [];
    const guard = await createGuard({
      merchantId: 'M1',
      secret,
      store,
      clock: time.clock,
      scheduler: time.scheduler,
      recover: answer,
      ...options,
    });
    guard.on('recover', (e) => events.push(e));
    const id = await unknownAttempt(guard);
    await time.advance(5_000);
    return { guard, id, events, store };
  }

  test('a card number in an answer is masked like any settle: in the record, the journal and the event', async () => {
    const { guard, id, events, store } = await oneTry(() => ({
      status: 'approved',
      authCode: 'A1',
      message: `approved for card ${PAN}`,
      processorRef: PAN.replaceAll(' ', ''),
    }));
    const record = await guard.get(id);
    expect(record?.status).toBe('approved');
    const seen = JSON.stringify([record, store.journal(), events, await store.load()]);
    expect(seen).not.toMatch(/4111\s?1111\s?1111\s?1111/);
  });

  test('a thrown card number is masked in the journal', async () => {
    const { store } = await oneTry(() => {
      throw new Error(`inquiry failed for card ${PAN}`);
    });
    expect(JSON.stringify(store.journal())).not.toMatch(/4111\s?1111\s?1111\s?1111/);
    expect(JSON.stringify(store.journal())).toMatch(/inquiry failed/);
  });

  test('`throw undefined` is a throw: journaled as one, the event carries an error', async () => {
    const { events, store } = await oneTry(() => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw undefined;
    });
    expect(events).toHaveLength(1);
    expect((events[0] as { error?: unknown }).error).toBeDefined();
    expect(store.journal().find((e) => e.type === 'recover')?.detail).toMatch(/threw/);
  });

  test('a Proxy that throws on every read, thrown or returned: still unknown, tried again', async () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('hostile');
        },
      },
    );
    const returned = await oneTry(() => hostile as RecoverAnswer);
    expect((await returned.guard.get(returned.id))?.recovery).toEqual({ tries: 1 });
    const thrown = await oneTry(() => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw hostile;
    });
    expect((await thrown.guard.get(thrown.id))?.recovery).toEqual({ tries: 1 });
    expect(JSON.stringify(thrown.store.journal())).toMatch(/threw/);
  });

  test('an answer whose every field but `then` throws is an error that ends the tries, without throwing out of the guard', async () => {
    const unreadable = new Proxy(
      {},
      {
        get(_target, key) {
          if (key === 'then') return undefined;
          throw new Error('hostile');
        },
      },
    );
    const { guard, id, events } = await oneTry(() => unreadable as RecoverAnswer);
    expect((await guard.get(id))?.recovery).toEqual({ tries: 1, ended: true });
    expect(events[0]).toMatchObject({ type: 'recover', try: 1 });
    expect((events[0] as { error?: unknown }).error).toBeDefined();
  });
  test('a recover that writes to the attempt it is given changes nothing of the guard’s (it is a snapshot)', async () => {
    const time = virtualTime(START);
    let calls = 0;
    const guard = await createGuard({
      merchantId: 'M1',
      secret,
      clock: time.clock,
      scheduler: time.scheduler,
      recover: (attempt) => {
        calls++;
        // A buggy app "resets" what it was given (capped, so that a guard fooled by it stops at last).
        if (calls <= 10 && attempt.recovery) Object.assign(attempt.recovery, { tries: 0, ended: false });
        return undefined;
      },
    });
    const events: GuardEvent[] = [];
    guard.on('recover', (e) => events.push(e));
    const id = await unknownAttempt(guard);
    await time.advance(600_000);
    expect(calls).toBe(3);
    // The copy is the app's to write to: handed the guard's own (frozen) record, the write throws.
    expect(events.filter((e) => 'error' in e)).toEqual([]);
    expect((await guard.get(id))?.recovery).toEqual({ tries: 3, exhausted: true });
  });
});
