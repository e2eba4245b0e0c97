/**
 * The guard's side of several terminals (SPEC §9): SHARED_UNAVAILABLE under
 * onSharedUnavailable, the conflict event and journal entry, attach, and
 * another terminal's pending at start-up. Over the in-memory shared database
 * (the same client as postgresStore); the PostgreSQL runs are in test/stores/postgres.
 */
import { describe, expect, test, vi } from 'vitest';
import { createGuard, memoryStore, type GuardOptions, type GuardStore, type StoreOwner } from '../../src/index.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import { RemoteUnreachable } from '../../src/shared/remote.js';
import { sharedStore } from '../../src/shared/store.js';

const secret = 'several-terminals-secret-0123';
const sale = { amount: 4200, currency: 'CNY', card: { token: 'tok_lane' } };
const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);

async function lane(db: ReturnType<typeof sharedMemoryDatabase>, terminalId: string, options: Partial<GuardOptions> = {}) {
  const local = memoryStore();
  const store = sharedStore(db.remote(terminalId), { local, retryMs: 60_000 });
  const guard = await createGuard({ merchantId: 'M1', terminalId, secret, store, authorize: () => true, ...options });
  return { guard, store, local };
}

describe('SHARED_UNAVAILABLE', () => {
  test("'allow' (the default): the verdict is unchanged and the warning rides along", async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    const t2 = await lane(db, 'T2');
    db.disconnect('T2');
    const first = await t2.guard.begin(sale);
    expect([first.verdict, codes(first)]).toEqual(['allow', ['SHARED_UNAVAILABLE']]);
    // What this terminal knows still counts: the same sale again is IN_FLIGHT.
    const second = await t2.guard.begin(sale);
    expect([second.verdict, codes(second).sort()]).toEqual(['block', ['IN_FLIGHT', 'SHARED_UNAVAILABLE']]);
  });

  test("'prompt': the sale is held for the cashier, and a confirmation reserves it once", async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    const t2 = await lane(db, 'T2', { onSharedUnavailable: 'prompt' });
    db.disconnect('T2');
    const held = await t2.guard.begin(sale);
    expect([held.verdict, codes(held)]).toEqual(['prompt', ['SHARED_UNAVAILABLE']]);
    expect(held.attempt).toBeUndefined();
    const confirmed = await t2.guard.override(held, { operator: 'op-7', reason: 'store server down, customer present' });
    expect(confirmed.verdict).toBe('allow');
    expect(confirmed.attempt).toBeDefined();
    // A second tap on the same confirmation reserves nothing more.
    await expect(t2.guard.override(held, { operator: 'op-7', reason: 'again' })).rejects.toMatchObject({ name: 'GuardInputError' });
    expect(await t2.guard.attempts()).toHaveLength(1);
  });

  test("'block': a supervisor override lifts it; a peek shows it and reserves nothing", async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    const t2 = await lane(db, 'T2', { onSharedUnavailable: 'block' });
    db.disconnect('T2');
    // The store learns it is cut off from the first call that fails: here, the reservation.
    const held = await t2.guard.begin(sale);
    expect([held.verdict, codes(held)]).toEqual(['block', ['SHARED_UNAVAILABLE']]);
    const peeked = await t2.guard.peek(sale);
    expect([peeked.verdict, codes(peeked)]).toEqual(['block', ['SHARED_UNAVAILABLE']]);
    const lifted = await t2.guard.override(held, { operator: 'op-7', reason: 'offline sale', supervisor: 'sup-1' });
    // Still true of this decision: it saw only this terminal's records.
    expect([lifted.verdict, codes(lifted)]).toEqual(['allow', ['SHARED_UNAVAILABLE']]);
  });

  test('a store cut off during the reservation itself: the decision still says so', async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    const t2 = await lane(db, 'T2');
    // Cut off between the decision's check and the claim's round trip.
    const begun = t2.guard.begin(sale);
    db.disconnect('T2');
    const decision = await begun;
    expect([decision.verdict, codes(decision)]).toEqual(['allow', ['SHARED_UNAVAILABLE']]);
  });

  test("cut off during the reservation under 'block': decided again, held, nothing reserved", async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    const t2 = await lane(db, 'T2', { onSharedUnavailable: 'block' });
    const begun = t2.guard.begin(sale);
    db.disconnect('T2');
    const decision = await begun;
    expect([decision.verdict, codes(decision)]).toEqual(['block', ['SHARED_UNAVAILABLE']]);
    expect(await t2.guard.attempts()).toHaveLength(0);
  });

  test("cut off during an order's reservation after a restart: the order's payment in this till's own history still counts", async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    // A short window: the payment is not hot a moment after its approval (it stays in the database and in `local`).
    const local = memoryStore();
    const before = await createGuard({
      merchantId: 'M1',
      terminalId: 'T2',
      secret,
      store: sharedStore(db.remote('T2'), { local }),
      window: 50,
    });
    const paid = await before.begin({ ...sale, orderId: 'A-9' });
    await paid.attempt?.approve();
    await before.close();
    await new Promise((r) => setTimeout(r, 120));
    // The till restarts, and its connection drops under its first claim (its LISTEN has not noticed yet).
    const remote = db.remote('T2');
    const dropping = {
      ...remote,
      claim: () => {
        db.disconnect('T2');
        return Promise.reject(new RemoteUnreachable('connection lost'));
      },
    };
    const after = await createGuard({ merchantId: 'M1', terminalId: 'T2', secret, store: sharedStore(dropping, { local }), window: 50 });
    const decision = await after.begin({ ...sale, orderId: 'A-9' });
    expect([decision.verdict, codes(decision).sort()]).toEqual(['block', ['ORDER_ALREADY_PAID', 'SHARED_UNAVAILABLE']]);
  });

  test('without local, an order begun while the database is down: STORAGE_UNAVAILABLE once, under onStorageError', async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    const store = sharedStore(db.remote('T2'), {});
    const t2 = await createGuard({ merchantId: 'M1', terminalId: 'T2', secret, store, onStorageError: 'allow' });
    db.disconnect('T2');
    const first = await t2.begin({ ...sale, orderId: 'A-3' });
    expect([first.verdict, codes(first)]).toEqual(['allow', ['STORAGE_UNAVAILABLE']]);
    // What this till knows still counts.
    const again = await t2.begin({ ...sale, orderId: 'A-3' });
    expect([again.verdict, codes(again)[0]]).toEqual(['block', 'IN_FLIGHT']);
  });

  test('onSharedUnavailable is checked like every option', async () => {
    await expect(createGuard({ merchantId: 'M1', secret, onSharedUnavailable: 'ask' as never })).rejects.toMatchObject({
      name: 'GuardConfigError',
      field: 'onSharedUnavailable',
    });
  });
});

/** A terminal that hears no notice at all (a slow or dropped LISTEN connection). */
async function deafLane(db: ReturnType<typeof sharedMemoryDatabase>, terminalId: string) {
  const remote = db.remote(terminalId);
  const deaf = {
    ...remote,
    listen: (merchantId: string, listener: Parameters<typeof remote.listen>[1]) =>
      remote.listen(merchantId, { ...listener, changed: () => undefined }),
  };
  return createGuard({ merchantId: 'M1', terminalId, secret, store: sharedStore(deaf, { local: memoryStore() }) });
}

describe('no rule depends on a notice having arrived', () => {
  test('approved on T1 after T2 met its pending in a claim: DUPLICATE_CHARGE on T2, not a stale IN_FLIGHT', async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    const t1 = await lane(db, 'T1');
    // T2 hears no notice at all (a slow or dropped LISTEN connection): what it knows, its claims found.
    const guard = await deafLane(db, 'T2');
    const first = await t1.guard.begin(sale);
    expect(codes(await guard.begin(sale))).toEqual(['IN_FLIGHT']);
    await first.attempt?.approve();
    const second = await guard.begin(sale);
    expect([second.verdict, codes(second)]).toEqual(['prompt', ['DUPLICATE_CHARGE']]);
  });

  test('declined on T1 after T2 met its pending in a claim: T2 allows the retry, not a stale IN_FLIGHT', async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    const t1 = await lane(db, 'T1');
    // T2 hears no notice at all (a slow or dropped LISTEN connection): what it knows, its claims found.
    const guard = await deafLane(db, 'T2');
    const first = await t1.guard.begin(sale);
    expect(codes(await guard.begin(sale))).toEqual(['IN_FLIGHT']);
    await first.attempt?.decline();
    expect(codes(await guard.peek(sale))).toEqual([]);
    const second = await guard.begin(sale);
    expect([second.verdict, codes(second)]).toEqual(['allow', []]);
  });

  test("a new sale's reservation is not announced, and another terminal's peek and begin meet it in the database", async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    const t1 = await lane(db, 'T1');
    const t2 = await lane(db, 'T2');
    const heard: string[] = [];
    t2.store.subscribe?.((change) => {
      if (change.type === 'record') heard.push(change.record.status);
    });
    const first = await t1.guard.begin(sale);
    await new Promise((r) => setTimeout(r, 10));
    expect(heard).toEqual([]);
    expect(codes(await t2.guard.peek(sale))).toEqual(['IN_FLIGHT']);
    expect(codes(await t2.guard.begin(sale))).toEqual(['IN_FLIGHT']);
    // Its settle is announced (SPEC §9: within 1 s).
    heard.length = 0;
    await first.attempt?.approve();
    await vi.waitFor(() => expect(heard).toEqual(['approved']));
  });
});

describe('what reaches the other terminals', () => {
  test('a resume made in the millisecond of its begin is announced like any resume (SPEC §9)', async () => {
    // A clock that stands still, as the QA scenarios' virtual time does between steps.
    const at = Date.now();
    const clock = { now: () => at, monotonic: () => 1_000 };
    const db = sharedMemoryDatabase(() => at);
    const t1 = await lane(db, 'T1', { clock });
    const t2 = await lane(db, 'T2', { clock });
    const heard: string[] = [];
    t2.store.subscribe?.((change) => {
      if (change.type === 'record') heard.push(change.record.status);
    });
    const first = await t1.guard.begin(sale);
    await first.attempt?.markUnknown();
    await t1.guard.resume(first.attempt?.id as string);
    await vi.waitFor(() => expect(heard).toEqual(['unknown', 'pending']));
  });
});

describe('conflicts found on catch-up', () => {
  test('a conflict event and a journal entry naming both attempts', async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    const t1 = await lane(db, 'T1');
    const t2 = await lane(db, 'T2');
    const seen: unknown[] = [];
    t2.guard.on('conflict', (event) => seen.push(event));
    db.disconnect('T2');
    const offline = await t2.guard.begin({ ...sale, orderId: 'A-17' });
    await offline.attempt?.approve();
    const online = await t1.guard.begin({ ...sale, card: { token: 'tok_other' }, orderId: 'A-17' });
    await online.attempt?.approve();
    db.reconnect('T2');
    await t2.store.sync();
    const pair = [offline.attempt?.id, online.attempt?.id];
    expect(seen).toEqual([{ type: 'conflict', code: 'ORDER_ALREADY_PAID', attempts: pair }]);
    const entries = db.journal('M1').filter((e) => e.entry.type === 'conflict');
    expect(entries.map((e) => [e.terminalId, e.entry.attempts])).toEqual([['T2', pair]]);
    // Caught up twice (a second reconnect, as a till replaying its queue): nothing new.
    await t2.store.sync();
    expect(seen).toHaveLength(1);
  });
});

describe('start-up over a shared store', () => {
  test("another terminal's pending stays IN_FLIGHT; this terminal's own becomes UNKNOWN_OUTCOME", async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    const t1 = await lane(db, 'T1');
    const t2 = await lane(db, 'T2');
    await t1.guard.begin(sale);
    await t2.guard.begin({ ...sale, card: { token: 'tok_t2' } });
    // T2 restarts (as after a crash): a new guard over its store.
    const restarted = await createGuard({ merchantId: 'M1', terminalId: 'T2', secret, store: t2.store });
    expect(codes(await restarted.peek(sale))).toEqual(['IN_FLIGHT']);
    expect(codes(await restarted.peek({ ...sale, card: { token: 'tok_t2' } }))).toEqual(['UNKNOWN_OUTCOME']);
  });

  test('attach is told the merchant, terminal, window, timeout, clock and scheduler before any other call', async () => {
    const calls: string[] = [];
    let owner: StoreOwner | undefined;
    const inner = memoryStore();
    const store: GuardStore = {
      ...inner,
      attach: (given) => {
        calls.push('attach');
        owner = given;
      },
      getMeta: (key) => (calls.push('getMeta'), inner.getMeta(key)),
    };
    await createGuard({ merchantId: 'M9', terminalId: 'T4', secret, store, window: '5m', pendingTimeout: '90s' });
    expect(calls.slice(0, 2)).toEqual(['attach', 'getMeta']);
    expect(owner).toMatchObject({ merchantId: 'M9', terminalId: 'T4', windowMs: 300_000, pendingTimeoutMs: 90_000 });
    expect(typeof owner?.clock.now).toBe('function');
    expect(typeof owner?.scheduler.after).toBe('function');
  });

  test('one shared store serves one merchant', async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    const { store } = await lane(db, 'T1');
    await expect(createGuard({ merchantId: 'M2', terminalId: 'T1', secret, store })).rejects.toMatchObject({ name: 'GuardConfigError' });
  });
});
