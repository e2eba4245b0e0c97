/**
 * atk14: the key check on a store several terminals share (SPEC §5, §9), when a till starts cut off
 * from the database and checks its key check once back (`shared-unchecked-meta`, `meta-conflict`).
 *
 * Findings (F = fails on the current code, P = passes: a guarantee nobody had pinned):
 *
 * F5 'a failed start while cut off writes its wrong secret into the empty shared database once a
 *    later start comes back'. A till's first start is cut off and given the wrong secret (a typo);
 *    `initMeta` keeps the wrong key check in `local` (the value and the unchecked list), then the
 *    start fails (the local disk's load throws): createGuard rejects, nothing started. The
 *    operator fixes the secret; the till restarts with the merchant's secret while the database
 *    is back and still empty (the first till of the merchant): the attach's catch-up sends the
 *    failed start's unchecked key check, and the database now holds the WRONG secret's check.
 *    That very start is refused SECRET_CHANGED, and so is every other lane of the merchant with the
 *    right secret, for good. Should: a failed start leaves nothing, its unchecked key check
 *    included (or: the catch-up never sends a check value other than the one of the guard being
 *    started). At a till: the whole store's lanes refuse to start until someone edits the database.
 *    (src/guard/start.ts start(): initMeta before anything can fail; the catch-up in
 *    SharedStoreImpl.attach() sends #uncheckedMeta before the guard's own check.)
 *
 * F6 'a failed start while cut off with the wrong secret refuses the corrected secret until the
 *    database answers'. Same failed start; restarted with the right secret, still cut off: refused
 *    SECRET_CHANGED because `local` keeps the failed start's key check. Should: the corrected till
 *    starts (nothing was ever written under the wrong secret). At a till: a lane that cannot take
 *    payments during the very outage the `local` store is for.
 *
 * F7 'a begin in flight when the key check conflict is found resolves allow'. The till (wrong
 *    secret, started cut off) is reserving a sale — its write-ahead record lands in `local`, the
 *    fsync not yet answered — when the database comes back and the catch-up finds the conflict
 *    (`ctx.misconfigured` set, storage-error emitted). The begin then resolves `allow`: the
 *    cashier charges a sale fingerprinted under a key no other lane can match. Should: a decision
 *    that resolves after the guard knows it is misconfigured is refused (SECRET_CHANGED), its
 *    reservation cancelled. (src/guard/decide.ts checks ctx.misconfigured only on entry.)
 *
 * F15 'a till restarted cut off with a changed secret starts over its own history written with the
 *    old one'. A till that joined a merchant whose database already held the key check never keeps
 *    that check in its `local` store (start() calls initMeta only when getMeta found none, and
 *    load() writes it only when it differs). Restarted while the database is unreachable with a
 *    changed secret (a config push with a typo, a re-provisioned terminal), it reads no check in
 *    `local`, keeps its own as unchecked, and starts: its own sales of a minute ago, in `local`,
 *    no longer match, and the customer's retry of one is `allow`ed. Should: SPEC §5, a changed
 *    secret across restarts is detected at createGuard (SECRET_CHANGED): `local` holds history
 *    written with the old secret, and a check value to tell. At a till: a double charge on the
 *    very lane that took the first payment, during an outage.
 *
 * P8 'a till killed at each step of the catch-up's key check is refused, or refuses decisions, once
 *    back' (kill = the process stops mid-call, a new store and guard over the same `local` and
 *    database, with the database reachable or not at the restart).
 * P9 'resetOnSecretChange: true does not lift a meta-conflict'.
 * P10 'two tills cut off at their first start with different secrets, back at once: exactly one
 *    decides'.
 * P11 'after a meta-conflict, the till restarted with the merchant's secret starts, cut off or not,
 *    and sees the other lanes' sales'.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type Guard, type GuardStore } from '../../src/index.js';
import type { TerminalTime } from '../../src/scenarios/virtual-time.js';
import { sharedStore } from '../../src/shared/store.js';
import { deferred, failure, type Deferred } from '../helpers/guard.js';
import { codes, flush, lanes, never } from '../helpers/lanes.js';

const RIGHT = 'shared-lanes-test-secret-0123456789ab'; // the lanes helper's secret: the merchant's
const WRONG = 'a-typo-in-the-secret-0123456789abcd';
const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk14_keycheck' } };

/** A guard of T2 over `store`, on `t2`'s clock. */
function openT2(t2: TerminalTime, store: GuardStore, secret: string, extra: Record<string, unknown> = {}) {
  return createGuard({ merchantId: 'M1', terminalId: 'T2', secret, store, clock: t2.clock, scheduler: t2.scheduler, ...extra });
}

/** The key check value a secret writes (read back from a store a guard with it started on). */
async function keyCheckOf(secret: string): Promise<string> {
  const store = memoryStore();
  const g = await createGuard({ merchantId: 'M1', secret, store });
  await g.close();
  return (await store.getMeta('keyCheck'))!;
}

/** A memoryStore whose loads throw while `failing`. */
function flakyLocal() {
  const inner = memoryStore();
  const state = { failing: false };
  const store: GuardStore = { ...inner, load: (scope) => (state.failing ? Promise.reject(new Error('disk hiccup')) : inner.load(scope)) };
  return { store, state };
}

describe('atk14: a failed start while cut off, and its key check', () => {
  it('F5: a failed start while cut off writes its wrong secret into the empty shared database once a later start comes back', async () => {
    const { time, db } = lanes();
    const t2 = time.terminal();
    const local = flakyLocal();
    db.disconnect('T2');
    local.state.failing = true;
    const error = await failure(openT2(t2, sharedStore(db.remote('T2'), { local: local.store }), WRONG));
    expect(error).toMatchObject({ name: 'GuardStorageError' }); // nothing started
    local.state.failing = false;

    // The secret is corrected; the database is back (and still holds no key check: T2 is the merchant's first till).
    db.reconnect('T2');
    t2.restart();
    const started = await openT2(t2, sharedStore(db.remote('T2'), { local: local.store }), RIGHT).then(
      (g) => g,
      (e: unknown) => e,
    );
    const held = await db.remote('observer').getMeta('M1', 'keyCheck');
    expect(held).toBe(await keyCheckOf(RIGHT));
    expect(started).not.toMatchObject({ code: 'SECRET_CHANGED' });
    // Every other lane of the merchant, with the merchant's secret, starts.
    expect(
      await failure(createGuard({ merchantId: 'M1', terminalId: 'T1', secret: RIGHT, store: sharedStore(db.remote('T1')) })),
    ).toBeUndefined();
  });

  it('F6: a failed start while cut off with the wrong secret refuses the corrected secret until the database answers', async () => {
    const { time, db } = lanes();
    const t2 = time.terminal();
    const local = flakyLocal();
    db.disconnect('T2');
    local.state.failing = true;
    expect(await failure(openT2(t2, sharedStore(db.remote('T2'), { local: local.store }), WRONG))).toMatchObject({
      name: 'GuardStorageError',
    });
    local.state.failing = false;
    t2.restart();
    const error = await failure(openT2(t2, sharedStore(db.remote('T2'), { local: local.store }), RIGHT));
    expect(error).toBeUndefined();
  });

  it('F5 (control): without the failed start, the corrected till starts and the database keeps the right check', async () => {
    const { time, db } = lanes();
    const t2 = time.terminal();
    const local = memoryStore();
    const g = await openT2(t2, sharedStore(db.remote('T2'), { local }), RIGHT);
    expect((await g.peek(sale)).verdict).toBe('allow');
    expect(await db.remote('observer').getMeta('M1', 'keyCheck')).toBe(await keyCheckOf(RIGHT));
  });
});

describe('atk14: a till restarted cut off with another secret', () => {
  it('F15: a till restarted cut off with a changed secret starts over its own history written with the old one', async () => {
    const { time, db, open } = lanes();
    await open(time.terminal(), 'T1'); // the merchant's database holds the key check already
    const t2 = time.terminal();
    const local = memoryStore();
    const g2 = await openT2(t2, sharedStore(db.remote('T2'), { local }), RIGHT);
    const first = await g2.begin(sale);
    await first.attempt!.approve();
    await flush();
    // The network goes down; the till restarts with a changed secret.
    db.disconnect('T2');
    t2.restart();
    const restarted = await openT2(t2, sharedStore(db.remote('T2'), { local }), WRONG).then(
      (g) => g,
      (e: unknown) => e,
    );
    if (!(restarted instanceof Error)) {
      // What it lets through: the customer's retry of the sale it charged a minute ago.
      const retry = await (restarted as Guard).begin(sale);
      expect(codes(retry)).toContain('DUPLICATE_CHARGE');
    }
    expect(restarted).toMatchObject({ code: 'SECRET_CHANGED' });
  });

  it('F15 (control): restarted cut off with the same secret, the retry is DUPLICATE_CHARGE', async () => {
    const { time, db, open } = lanes();
    await open(time.terminal(), 'T1');
    const t2 = time.terminal();
    const local = memoryStore();
    const g2 = await openT2(t2, sharedStore(db.remote('T2'), { local }), RIGHT);
    const first = await g2.begin(sale);
    await first.attempt!.approve();
    await flush();
    db.disconnect('T2');
    t2.restart();
    const g3 = await openT2(t2, sharedStore(db.remote('T2'), { local }), RIGHT);
    expect(codes(await g3.begin(sale))).toContain('DUPLICATE_CHARGE');
  });
});

describe('atk14: the key check conflict meets a begin in flight', () => {
  it('F7: a begin in flight when the key check conflict is found resolves allow', async () => {
    const { time, db, open } = lanes();
    await open(time.terminal(), 'T1'); // the merchant's database holds the right key check
    const t2 = time.terminal();
    const inner = memoryStore();
    const held: { gate?: Deferred<void> } = {};
    const local: GuardStore = {
      ...inner,
      // The write lands, its fsync answers when the test says.
      put: async (record) => {
        await inner.put(record);
        if (held.gate) await held.gate.promise;
      },
    };
    db.disconnect('T2');
    const store2 = sharedStore(db.remote('T2'), { local });
    const g2 = await openT2(t2, store2, WRONG);
    const errors: unknown[] = [];
    g2.on('storage-error', (e) => void errors.push(e.error));
    const gate = (held.gate = deferred<void>());
    const begun = g2.begin(sale).then(
      (d) => d,
      (e: unknown) => e,
    );
    await flush();
    db.reconnect('T2');
    await Promise.race([store2.sync().catch(() => undefined), flush()]);
    await flush();
    expect(errors).toEqual([expect.objectContaining({ code: 'SECRET_CHANGED' })]); // the guard knows now
    gate.resolve();
    const decision = await begun;
    expect(decision).toMatchObject({ code: 'SECRET_CHANGED' });
  });
});

/** `inner`, dead from the call `at` picks (every call from then hangs): 'before' it is made, or 'after' it landed unanswered. */
function killable<T extends object>(
  inner: T,
  at: (name: string, args: unknown[]) => 'before' | 'after' | undefined,
  armed: { on: boolean },
) {
  const state = { dead: false };
  const proxy = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (state.dead) return never();
        const when = armed.on ? at(String(name), args) : undefined;
        if (when === 'before') {
          state.dead = true;
          return never();
        }
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (when === 'after') {
          state.dead = true;
          return Promise.resolve(result).then(never, never);
        }
        return result;
      };
    },
  });
  return { proxy, state };
}

const KILLS: { name: string; where: 'local' | 'remote'; at: (name: string, args: unknown[]) => 'before' | 'after' | undefined }[] = [
  { name: 'the database took the check, its answer lost', where: 'remote', at: (n) => (n === 'initMeta' ? 'after' : undefined) },
  { name: 'before the database was asked', where: 'remote', at: (n) => (n === 'initMeta' ? 'before' : undefined) },
  {
    name: 'before local took the merchant’s check',
    where: 'local',
    at: (n, a) => (n === 'setMeta' && a[0] === 'keyCheck' ? 'before' : undefined),
  },
  {
    name: 'after local took the merchant’s check',
    where: 'local',
    at: (n, a) => (n === 'setMeta' && a[0] === 'keyCheck' ? 'after' : undefined),
  },
  {
    name: 'before the unchecked list was cleared',
    where: 'local',
    at: (n, a) => (n === 'setMeta' && a[0] === 'shared-unchecked-meta' ? 'before' : undefined),
  },
  {
    name: 'after the unchecked list was cleared',
    where: 'local',
    at: (n, a) => (n === 'setMeta' && a[0] === 'shared-unchecked-meta' ? 'after' : undefined),
  },
];

describe('atk14: a till killed in the middle of its catch-up’s key check', () => {
  for (const kill of KILLS) {
    for (const backAtRestart of [true, false]) {
      it(`P8: killed ${kill.name}, restarted with the database ${backAtRestart ? 'reachable' : 'unreachable'}: refused, or decides nothing`, async () => {
        const { time, db, open } = lanes();
        await open(time.terminal(), 'T1');
        const t2 = time.terminal();
        const durable = memoryStore();
        const armed = { on: false };
        const l = killable(durable as GuardStore, kill.where === 'local' ? kill.at : () => undefined, armed);
        const r = killable(db.remote('T2'), kill.where === 'remote' ? kill.at : () => undefined, armed);
        db.disconnect('T2');
        const store2 = sharedStore(r.proxy, { local: l.proxy });
        const g2 = await openT2(t2, store2, WRONG);
        const d = await g2.begin(sale);
        expect(d.verdict).toBe('allow');
        await d.attempt!.approve();
        armed.on = true;
        db.reconnect('T2');
        await Promise.race([store2.sync().catch(() => undefined), flush()]);
        await flush();
        expect(l.state.dead || r.state.dead).toBe(true); // it died where the test says

        // Restarted: a new process over the same local and database.
        t2.restart();
        if (!backAtRestart) db.disconnect('T2');
        const store3 = sharedStore(db.remote('T2'), { local: durable });
        const restarted = await openT2(t2, store3, WRONG).then(
          (g) => g,
          (e: unknown) => e,
        );
        if (!backAtRestart) {
          db.reconnect('T2');
          for (let i = 0; i < 3; i++) {
            await time.advance(2_000);
            await flush();
          }
        }
        if (restarted instanceof Error) {
          expect(restarted).toMatchObject({ code: 'SECRET_CHANGED' });
        } else {
          await store3.settled();
          await flush();
          expect(await failure((restarted as Guard).begin({ ...sale, amount: 7 }))).toMatchObject({ code: 'SECRET_CHANGED' });
        }
        // Either way, the database keeps the merchant's check, and the sale it charged reached it.
        expect(await db.remote('observer').getMeta('M1', 'keyCheck')).toBe(await keyCheckOf(RIGHT));
        // The secret fixed, restarted once more: what it charged reaches the database.
        if (!(restarted instanceof Error)) await (restarted as Guard).close();
        t2.restart();
        const store4 = sharedStore(db.remote('T2'), { local: durable });
        const fixed = await openT2(t2, store4, RIGHT);
        await store4.settled();
        await flush();
        const rows = await db.remote('observer').get('M1', [d.attempt!.id]);
        expect(rows.map((row) => row.record.status)).toEqual(['approved']);
        expect((await fixed.peek({ ...sale, amount: 11 })).verdict).toBe('allow');
      });
    }
  }
});

describe('atk14: meta-conflict, and what cannot lift it', () => {
  it('P9: resetOnSecretChange: true does not lift a meta-conflict', async () => {
    const { time, db, open } = lanes();
    const g1 = await open(time.terminal(), 'T1');
    const d1 = await g1.begin(sale);
    await d1.attempt!.approve();
    const t2 = time.terminal();
    db.disconnect('T2');
    const store2 = sharedStore(db.remote('T2'), { local: memoryStore() });
    const g2 = await openT2(t2, store2, WRONG, { resetOnSecretChange: true });
    const charged = await g2.begin({ ...sale, amount: 3_000 });
    db.reconnect('T2');
    await store2.sync().catch(() => undefined);
    await flush();
    await expect(g2.begin(sale)).rejects.toMatchObject({ code: 'SECRET_CHANGED' });
    await expect(g2.override(charged, { operator: 'x', reason: 'y' })).rejects.toBeDefined();
    await g2.settle(charged.attempt!.id, { status: 'approved' });
    // The merchant's history is intact.
    expect(codes(await g1.peek(sale))).toEqual(['DUPLICATE_CHARGE']);
  });

  it('P10: two tills cut off at their first start with different secrets, back at once: exactly one decides', async () => {
    const { time, db } = lanes();
    const ta = time.terminal();
    const tb = time.terminal();
    db.disconnect('T1');
    db.disconnect('T2');
    const s1 = sharedStore(db.remote('T1'), { local: memoryStore() });
    const s2 = sharedStore(db.remote('T2'), { local: memoryStore() });
    const g1 = await createGuard({
      merchantId: 'M1',
      terminalId: 'T1',
      secret: RIGHT,
      store: s1,
      clock: ta.clock,
      scheduler: ta.scheduler,
    });
    const g2 = await openT2(tb, s2, WRONG);
    db.reconnect('T1');
    db.reconnect('T2');
    await Promise.all([s1.sync().catch(() => undefined), s2.sync().catch(() => undefined)]);
    await flush();
    const results = await Promise.allSettled([g1.peek(sale), g2.peek(sale)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('P11: after a meta-conflict, the till restarted with the merchant’s secret starts, cut off or not, and sees the other lanes’ sales', async () => {
    const { time, db, open } = lanes();
    const g1 = await open(time.terminal(), 'T1');
    const d1 = await g1.begin(sale);
    await d1.attempt!.approve();
    const t2 = time.terminal();
    const local = memoryStore();
    db.disconnect('T2');
    const store2 = sharedStore(db.remote('T2'), { local });
    const g2 = await openT2(t2, store2, WRONG);
    db.reconnect('T2');
    await store2.sync().catch(() => undefined);
    await flush();
    await expect(g2.peek(sale)).rejects.toMatchObject({ code: 'SECRET_CHANGED' });
    // Restarted, cut off, with the merchant's secret: starts on its local copy of the merchant's check.
    t2.restart();
    db.disconnect('T2');
    const g3 = await openT2(t2, sharedStore(db.remote('T2'), { local }), RIGHT);
    expect((await g3.peek({ ...sale, amount: 9 })).verdict).toBe('allow');
    // And with the database back, it sees lane 1's sale.
    t2.restart();
    db.reconnect('T2');
    const g4 = await openT2(t2, sharedStore(db.remote('T2'), { local }), RIGHT);
    expect(codes(await g4.peek(sale))).toEqual(['DUPLICATE_CHARGE']);
  });
});
