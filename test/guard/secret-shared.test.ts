/**
 * A secret that differs from the one a store several terminals share was
 * written with (SPEC §5, §9): the history is every lane's, so one terminal
 * started with the wrong secret must not wipe it, whatever
 * `resetOnSecretChange` says.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, GuardConfigError, memoryStore, type Guard } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { codes, flush, lanes } from '../helpers/lanes.js';

const SECRET = 'shared-lanes-test-secret-0123456789ab';
const card = { token: 'tok_secret_shared' };
const sale = { amount: 1_000, currency: 'CNY', card };

describe('a store several terminals share, and a terminal with another secret', () => {
  it('is refused SECRET_CHANGED, with resetOnSecretChange too, and every lane keeps its history', async () => {
    const { time, db, open } = lanes();
    const g1 = await open(time.terminal(), 'T1');
    const pending = await g1.begin({ ...sale, amount: 2_000 });
    const approved = await g1.begin(sale);
    await g1.settle(approved.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    await flush();
    for (const resetOnSecretChange of [false, true]) {
      // A new store each time, as a till's start-up code makes it: the refused one gave the terminal back.
      const error = await open(time.terminal(), 'T2', { secret: 'another-secret-0123456789abcdef', resetOnSecretChange }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(GuardConfigError);
      expect(error).toMatchObject({ code: 'SECRET_CHANGED', field: 'secret' });
    }
    // Nothing was deleted: the database still holds both attempts, and a lane with the right secret still sees them.
    const rows = await db.remote('observer').get('M1', [pending.attempt!.id, approved.attempt!.id]);
    expect(rows.map((r) => r.record.status).sort()).toEqual(['approved', 'pending']);
    const g2 = await open(time.terminal(), 'T2');
    expect(codes(await g2.peek(sale))).toEqual(['DUPLICATE_CHARGE']);
    const g3 = await open(time.terminal(), 'T3');
    expect(codes(await g3.peek(sale))).toEqual(['DUPLICATE_CHARGE']);
    expect(codes(await g3.peek({ ...sale, amount: 2_000 }))).toEqual(['IN_FLIGHT']);
  });

  it('a store given back by a createGuard that did not start is closed, and says so to the next guard', async () => {
    const { time, db } = lanes();
    const first = await createGuard({
      merchantId: 'M1',
      terminalId: 'T1',
      secret: SECRET,
      store: sharedStore(db.remote('T1'), { local: memoryStore() }),
    });
    await first.close();
    const store = sharedStore(db.remote('T2'), { local: memoryStore() });
    const options = { merchantId: 'M1', terminalId: 'T2', store, clock: time.terminal().clock };
    await expect(createGuard({ ...options, secret: 'another-secret-0123456789abcdef' })).rejects.toMatchObject({ code: 'SECRET_CHANGED' });
    await expect(createGuard({ ...options, secret: SECRET })).rejects.toMatchObject({ name: 'GuardStorageError', code: 'CLOSED' });
  });
});

describe('a terminal started with another secret while cut off from the shared database', () => {
  it('once back, decides nothing more (SECRET_CHANGED), still settles what it charged, and is refused at its next start', async () => {
    const { time, db, open } = lanes();
    const g1 = await open(time.terminal(), 'T1');
    const approved = await g1.begin(sale);
    await g1.settle(approved.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    await flush();
    db.disconnect('T2');
    const local = memoryStore();
    const store2 = sharedStore(db.remote('T2'), { local });
    const t2 = time.terminal();
    const options = {
      merchantId: 'M1',
      terminalId: 'T2',
      secret: 'another-secret-0123456789abcdef',
      clock: t2.clock,
      scheduler: t2.scheduler,
    };
    const g2 = await createGuard({ ...options, store: store2 });
    const errors: unknown[] = [];
    g2.on('storage-error', (event) => void errors.push(event.error));
    // Cut off, its own history is all it has: the sale the other lane charged is not known to it.
    const charging = await g2.begin({ ...sale, amount: 3_000 });
    expect(charging.verdict).toBe('allow');
    db.reconnect('T2');
    await store2.sync().catch(() => undefined);
    await flush();
    await expect(g2.begin(sale)).rejects.toMatchObject({ name: 'GuardConfigError', code: 'SECRET_CHANGED', field: 'secret' });
    await expect(g2.peek(sale)).rejects.toMatchObject({ code: 'SECRET_CHANGED' });
    expect(errors).toEqual([expect.objectContaining({ code: 'SECRET_CHANGED' })]);
    // What it charged is still recorded, and reaches the others.
    await g2.settle(charging.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    await flush();
    // Fingerprinted under another secret, it matches nothing on the other lane: why this lane may decide nothing more.
    expect(codes(await g1.peek({ ...sale, amount: 3_000 }))).toEqual([]);
    const [row] = await db.remote('observer').get('M1', [charging.attempt!.id]);
    expect(row?.record.status).toBe('approved');
    expect(db.journal('M1').some(({ entry }) => entry.type === 'storage' && entry.detail?.startsWith('SECRET_CHANGED'))).toBe(true);
    await g2.close();
    // Restarted, still cut off: its local copy of the key check is now the merchant's.
    db.disconnect('T2');
    t2.restart();
    await expect(createGuard({ ...options, store: sharedStore(db.remote('T2'), { local }) })).rejects.toMatchObject({
      code: 'SECRET_CHANGED',
    });
  });
});

describe('the key check written on a dead connection', () => {
  it('a database that never answers initMeta does not hang the start: cut off within the timeout, checked once back', async () => {
    let hang = true;
    const { time, db, open } = lanes({
      remote: (remote, terminalId) =>
        terminalId !== 'T2'
          ? remote
          : new Proxy(remote, {
              get(target, name, receiver) {
                const value = Reflect.get(target, name, receiver) as unknown;
                if (name !== 'initMeta' || typeof value !== 'function') return value;
                return (...args: unknown[]) =>
                  hang ? new Promise(() => undefined) : (value as (...a: unknown[]) => unknown).apply(target, args);
              },
            }),
    });
    // T2 starts first, on an empty merchant: it asks the database to keep its key check, which hangs.
    let started: Guard | undefined;
    void open(time.terminal(), 'T2', { secret: 'another-secret-0123456789abcdef' }).then((g) => (started = g));
    for (let i = 0; i < 10 && !started; i++) {
      await flush();
      await time.advance(1_000);
    }
    expect(started).toBeDefined();
    expect((await started!.peek(sale)).reasons.map((r) => r.code)).toContain('SHARED_UNAVAILABLE');
    // Meanwhile T1 starts with the merchant's secret, and its key check is the one the database keeps.
    const g1 = await open(time.terminal(), 'T1');
    expect((await g1.peek(sale)).verdict).toBe('allow');
    // T2's connection answers again: its kept key check is asked, and it is not the merchant's.
    hang = false;
    db.reconnect('T2');
    for (let i = 0; i < 5; i++) {
      await time.advance(2_000);
      await flush();
    }
    await expect(started!.begin(sale)).rejects.toMatchObject({ code: 'SECRET_CHANGED' });
  });
});
