/**
 * atk13: a failed start (SECRET_CHANGED, a failing load) and the store it leaves behind:
 * under a guard still running over the same store object, stores whose close() misbehaves,
 * stores without attach (reusable), and two secrets racing on an empty shared database.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGuard, GuardError, memoryStore, type GuardStore, type RecoverAnswer } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { virtualTime } from '../../src/scenarios/virtual-time.js';
import { sharedStore } from '../../src/shared/store.js';
import { codes, flush, lanes } from '../helpers/lanes.js';
import { failure } from '../helpers/guard.js';

const SECRET = 'shared-lanes-test-secret-0123456789ab';
const OTHER = 'another-secret-0123456789abcdef';
const START = Date.parse('2026-03-01T09:00:00Z');
const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk13_start' } };

describe('atk13: a failed take-over of a store a guard still runs over', () => {
  it('memoryStore: the guard handed the store back still recovers its unknown attempt (recoverNow and the schedule)', async () => {
    const time = virtualTime(START);
    const store = memoryStore();
    let failLoad = false;
    const flaky: GuardStore = {
      ...store,
      load: (scope) => (failLoad ? Promise.reject(new Error('disk hiccup')) : store.load(scope)),
    };
    const calls: string[] = [];
    const recover = (attempt: { id: string }): RecoverAnswer => {
      calls.push(attempt.id);
      return { status: 'cancelled' };
    };
    const options = { merchantId: 'M1', secret: SECRET, store: flaky, clock: time.clock, scheduler: time.scheduler, recover };
    const a = await createGuard({ ...options, recoverAfter: '1h' });
    const d = await a.begin(sale);
    await d.attempt!.markUnknown();
    failLoad = true;
    const error = await failure(createGuard(options));
    expect(error).toBeInstanceOf(GuardError);
    failLoad = false;
    // The take-over failed: A owns the store again and must be whole (its recovery too).
    const results = await a.recoverNow(d.attempt!.id);
    expect(calls).toEqual([d.attempt!.id]);
    expect(results[0]).toMatchObject({ status: 'cancelled' });
  });

  it('memoryStore: after a handed-back take-over the schedule still fires', async () => {
    const time = virtualTime(START);
    const store = memoryStore();
    let failLoad = false;
    const flaky: GuardStore = {
      ...store,
      load: (scope) => (failLoad ? Promise.reject(new Error('disk hiccup')) : store.load(scope)),
    };
    const calls: string[] = [];
    const recover = (attempt: { id: string }): RecoverAnswer => {
      calls.push(attempt.id);
      return { status: 'cancelled' };
    };
    const options = { merchantId: 'M1', secret: SECRET, store: flaky, clock: time.clock, scheduler: time.scheduler, recover };
    const a = await createGuard(options);
    const d = await a.begin(sale);
    await d.attempt!.markUnknown();
    failLoad = true;
    await failure(createGuard(options));
    failLoad = false;
    await time.advance(10 * 60_000);
    expect(calls.length).toBeGreaterThan(0);
    expect((await a.get(d.attempt!.id))?.status).toBe('cancelled');
  });

  it('shared store: a wrong-secret createGuard over the running guard’s store object leaves it open', async () => {
    const { time, db } = lanes();
    const terminal = time.terminal();
    const store = sharedStore(db.remote('T1'), { local: memoryStore() });
    const base = { merchantId: 'M1', terminalId: 'T1', store, clock: terminal.clock, scheduler: terminal.scheduler };
    const a = await createGuard({ ...base, secret: SECRET });
    for (const resetOnSecretChange of [false, true]) {
      const error = await failure(createGuard({ ...base, secret: OTHER, resetOnSecretChange }));
      expect(error).toMatchObject({ code: 'SECRET_CHANGED' });
    }
    const d = await a.begin(sale);
    expect(d.verdict).toBe('allow');
    await a.settle(d.attempt!.id, { status: 'approved' });
    await flush();
    const rows = await db.remote('obs').get('M1', [d.attempt!.id]);
    expect(rows.map((r) => r.record.status)).toEqual(['approved']);
    await a.close();
  });

  it('shared store: a take-over whose load fails leaves the running guard working (store not closed)', async () => {
    const { time, db } = lanes();
    const terminal = time.terminal();
    const store = sharedStore(db.remote('T1'), { local: memoryStore() });
    const base = { merchantId: 'M1', terminalId: 'T1', store, clock: terminal.clock, scheduler: terminal.scheduler, secret: SECRET };
    const a = await createGuard(base);
    const load = store.load.bind(store);
    store.load = () => Promise.reject(new Error('boom'));
    const error = await failure(createGuard(base));
    expect(error).toBeInstanceOf(GuardError);
    store.load = load;
    const d = await a.begin(sale);
    expect(d.verdict).toBe('allow');
    await a.settle(d.attempt!.id, { status: 'approved' });
    await flush();
    const rows = await db.remote('obs').get('M1', [d.attempt!.id]);
    expect(rows.map((r) => r.record.status)).toEqual(['approved']);
    await a.close();
  });
});

describe('atk13: a store with attach whose close() misbehaves', () => {
  function custom(close: () => Promise<void>): GuardStore {
    const inner = memoryStore();
    return {
      ...inner,
      attach: () => undefined,
      getMeta: async (key) => (key === 'keyCheck' ? 'not-this-secret' : inner.getMeta(key)),
      close,
    };
  }

  it('close() that throws synchronously: createGuard still rejects SECRET_CHANGED', async () => {
    const store = custom(() => {
      throw new Error('close blew up');
    });
    const error = await failure(createGuard({ merchantId: 'M1', terminalId: 'T1', secret: SECRET, store }));
    expect(error).toMatchObject({ code: 'SECRET_CHANGED' });
  });

  it('close() that rejects: createGuard still rejects SECRET_CHANGED', async () => {
    const store = custom(() => Promise.reject(new Error('close failed')));
    const error = await failure(createGuard({ merchantId: 'M1', terminalId: 'T1', secret: SECRET, store }));
    expect(error).toMatchObject({ code: 'SECRET_CHANGED' });
  });

  it('close() that never settles: createGuard still rejects (does not hang the till’s start-up)', async () => {
    const store = custom(() => new Promise<void>(() => undefined));
    const outcome = await Promise.race([
      failure(createGuard({ merchantId: 'M1', terminalId: 'T1', secret: SECRET, store })),
      new Promise((resolve) => setTimeout(() => resolve('hung'), 3_000)),
    ]);
    expect(outcome).toMatchObject({ code: 'SECRET_CHANGED' });
  });
});

describe('atk13: stores without attach stay reusable after a failed start', () => {
  it('memoryStore: wrong secret refused, then the right one starts on the same store and the history is there', async () => {
    const store = memoryStore();
    const a = await createGuard({ merchantId: 'M1', secret: SECRET, store });
    const d = await a.begin(sale);
    await d.attempt!.approve();
    await a.close();
    expect(await failure(createGuard({ merchantId: 'M1', secret: OTHER, store }))).toMatchObject({ code: 'SECRET_CHANGED' });
    const b = await createGuard({ merchantId: 'M1', secret: SECRET, store });
    expect(codes(await b.peek(sale))).toEqual(['DUPLICATE_CHARGE']);
    await b.close();
    const c = await createGuard({ merchantId: 'M1', secret: OTHER, store, resetOnSecretChange: true });
    expect((await c.peek(sale)).verdict).toBe('allow');
    await c.close();
  });

  it('fileStore: wrong secret refused, same store object then starts with the right one; reset works', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'atk13-'));
    const file = path.join(dir, 'guard.jsonl');
    const store = fileStore(file);
    const a = await createGuard({ merchantId: 'M1', secret: SECRET, store });
    const d = await a.begin(sale);
    await d.attempt!.approve();
    await a.close();
    const store2 = fileStore(file);
    expect(await failure(createGuard({ merchantId: 'M1', secret: OTHER, store: store2 }))).toMatchObject({ code: 'SECRET_CHANGED' });
    const b = await createGuard({ merchantId: 'M1', secret: SECRET, store: store2 });
    expect(codes(await b.peek(sale))).toEqual(['DUPLICATE_CHARGE']);
    await b.close();
    const c = await createGuard({ merchantId: 'M1', secret: OTHER, store: fileStore(file), resetOnSecretChange: true });
    expect((await c.peek(sale)).verdict).toBe('allow');
    await c.close();
  });
});

describe('atk13: two secrets racing to start first on an empty shared database', () => {
  it('one of them is refused SECRET_CHANGED: both running would not see each other’s duplicates', async () => {
    const { time, open } = lanes();
    const results = await Promise.allSettled([
      open(time.terminal(), 'T1', { secret: SECRET }),
      open(time.terminal(), 'T2', { secret: OTHER }),
    ]);
    const started = results.filter((r) => r.status === 'fulfilled');
    expect(started).toHaveLength(1);
  });

  it('sequentially: the second is refused', async () => {
    const { time, open } = lanes();
    await open(time.terminal(), 'T1', { secret: SECRET });
    expect(await failure(open(time.terminal(), 'T2', { secret: OTHER }))).toMatchObject({ code: 'SECRET_CHANGED' });
  });
});

describe('atk13: a take-over that fails after its load journaled', () => {
  it('the running guard’s charge in flight is not journaled "pending → unknown" by a createGuard that never started', async () => {
    const store = memoryStore();
    let failWarnings = false;
    const flaky: GuardStore = {
      ...store,
      warnings: () => {
        if (failWarnings) throw new Error('warnings blew up');
        return [];
      },
    };
    const options = { merchantId: 'M1', secret: SECRET, store: flaky };
    const a = await createGuard(options);
    const d = await a.begin(sale); // charging now
    failWarnings = true;
    const error = await failure(createGuard(options));
    expect(error).toBeInstanceOf(GuardError);
    failWarnings = false;
    await d.attempt!.approve();
    await flush();
    const trail = store.journal().filter((e) => e.attemptId === d.attempt!.id && e.type === 'settle');
    expect(trail.map((e) => [e.from, e.to])).toEqual([['pending', 'approved']]);
  });
});

describe('atk13: a terminal with the wrong secret started while cut off from the shared database', () => {
  it('once reconnected, its approvals are still seen as duplicates by the merchant’s other lanes (or it is stopped)', async () => {
    const { sharedMemoryDatabase } = await import('../../src/shared/memory-remote.js');
    const db = sharedMemoryDatabase(() => Date.now());
    const clock = { now: () => Date.now(), monotonic: () => performance.now() };
    const t1 = await createGuard({
      merchantId: 'M1',
      terminalId: 'T1',
      secret: SECRET,
      clock,
      store: sharedStore(db.remote('T1'), { retryMs: 20 }),
    });
    db.disconnect('T2');
    const store = sharedStore(db.remote('T2'), { local: memoryStore(), retryMs: 20 });
    const started = await createGuard({ merchantId: 'M1', terminalId: 'T2', secret: OTHER, clock, store }).then(
      (g) => g,
      (e: unknown) => e,
    );
    if (!(started instanceof GuardError)) {
      db.reconnect('T2');
      await new Promise((r) => setTimeout(r, 200));
      await store.settled();
      const t2 = started as Awaited<ReturnType<typeof createGuard>>;
      const d = await t2.begin(sale).catch((e: unknown) => e);
      if (!(d instanceof GuardError)) {
        await (d as Awaited<ReturnType<typeof t2.begin>>).attempt!.approve();
        await store.settled();
        await new Promise((r) => setTimeout(r, 100));
        const id = (d as Awaited<ReturnType<typeof t2.begin>>).attempt!.id;
        // The approval reached the shared database: the other lane just cannot match it.
        expect((await db.remote('obs').get('M1', [id])).map((r) => r.record.status)).toEqual(['approved']);
        expect(codes(await t1.peek(sale))).toEqual(['DUPLICATE_CHARGE']);
      }
      await t2.close();
    }
    await t1.close();
  });
});
