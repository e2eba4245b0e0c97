/**
 * atk11: the money to recover a catch-up's merge found (src/shared/overs-due.ts),
 * under kills, lost answers, restarts while cut off, a cut at the recount, and a
 * `local` that fails. Each: the over journaled once, nothing lost.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore, type AttemptRecord, type GuardStore } from '../../src/index.js';
import { OVERS_DUE } from '../../src/shared/overs-due.js';
import { sharedStore } from '../../src/shared/store.js';
import { flush, hangsAfterUploads, lanes, losesAnswers, overReports } from '../helpers/lanes.js';

const overOf = (record: AttemptRecord) => (record.refunds ?? []).reduce((sum, r) => sum + ((r as { over?: number }).over ?? 0), 0);

async function run(time: { advance(ms: number): Promise<void> }, rounds = 4) {
  for (let i = 0; i < rounds; i++) {
    await flush();
    await time.advance(5_000);
  }
  await flush();
}

async function approved(open: ReturnType<typeof lanes>['open'], time: ReturnType<typeof lanes>['time'], token: string) {
  const g1 = await open(time.terminal(), 'T1');
  const s = await g1.begin({ amount: 1_000, currency: 'CNY', card: { token } });
  await g1.settle(s.attempt!.id, { status: 'approved', authCode: '123456' });
  return { g1, saleId: s.attempt!.id };
}

describe('atk11: overs due, misc', () => {
  it('the answer lost twice in a row: 300 journaled once', async () => {
    const { time, db, open } = lanes();
    const lost = losesAnswers(() => db);
    const { g1, saleId } = await approved(open, time, 'tok_atk11_twice');
    const store2 = sharedStore(lost.wrap(db.remote('T2'), 'T2'), { local: memoryStore() });
    const g2 = await open(time.terminal(), 'T2', { store: store2 });
    await time.advance(1_000);
    await flush();
    expect((await g2.get(saleId))?.status).toBe('approved');
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'refunded', amount: 700 });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'refunded', amount: 600 });
    await time.advance(1_000);
    lost.lose('T2', 2);
    for (let i = 0; i < 3; i++) {
      db.reconnect('T2');
      await store2.sync().catch(() => undefined);
      await run(time, 1);
    }
    expect(lost.left('T2')).toBe(0);
    await run(time);
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.refunded, overOf(row!.record)]).toEqual([1_000, 300]);
    for (const g of [g1, g2]) expect((await g.get(saleId))?.refunded).toBe(1_000);
    expect(overReports(db, saleId)).toEqual(['T2:300']);
  });

  // Killed after the upload (the sale still in the outbox), or at the recount's claim (the sale out of it).
  for (const [when, diesAt] of [
    ['after the upload', undefined],
    ['at the recount’s claim', 'claim'],
  ] as const) {
    it(`killed ${when}, another cut-off lane merges over it before the restart: 400 journaled in all`, async () => {
      const { time, db, open } = lanes();
      const { g1, saleId } = await approved(open, time, `tok_atk11_kill_${diesAt ?? 'upload'}`);
      const durable = memoryStore();
      const t2 = time.terminal();
      const { remote: remote2, state } = hangsAfterUploads(db.remote('T2'), 1, diesAt);
      const store2 = sharedStore(remote2, { local: durable });
      const g2 = await open(t2, 'T2', { store: store2 });
      const store3 = sharedStore(db.remote('T3'), { local: memoryStore() });
      const g3 = await open(time.terminal(), 'T3', { store: store3 });
      await time.advance(1_000);
      await flush();
      db.disconnect('T2');
      db.disconnect('T3');
      await g2.settle(saleId, { status: 'refunded', amount: 700 });
      await g3.settle(saleId, { status: 'refunded', amount: 100 });
      await time.advance(1_000);
      await g1.settle(saleId, { status: 'refunded', amount: 600 });
      await time.advance(1_000);
      db.reconnect('T2');
      await Promise.race([store2.sync().catch(() => undefined), flush()]);
      await flush();
      expect(state.dead).toBe(true);
      // Killed here: its timers (the call's timeout among them) die with it.
      t2.restart();
      db.reconnect('T3');
      await store3.sync().catch(() => undefined);
      await run(time);
      const store4 = sharedStore(db.remote('T2'), { local: durable });
      const g4 = await open(t2, 'T2', { store: store4 });
      await store4.settled();
      await run(time);
      const [row] = await db.remote('observer').get('M1', [saleId]);
      expect([row!.record.refunded, overOf(row!.record)]).toEqual([1_000, 400]);
      for (const g of [g1, g3, g4]) expect((await g.get(saleId))?.refunded).toBe(1_000);
      expect(overReports(db, saleId).sort()).toEqual(['T2:300', 'T3:100']);
    });
  }

  it('restarted while still cut off: nothing reported until the catch-up, then 300 once', async () => {
    const { time, db, open } = lanes();
    const { g1, saleId } = await approved(open, time, 'tok_atk11_restart_cut');
    const durable = memoryStore();

    const t2 = time.terminal();
    const { remote: remote2, state } = hangsAfterUploads(db.remote('T2'), 1, 'claim');
    const store2 = sharedStore(remote2, { local: durable });
    const g2 = await open(t2, 'T2', { store: store2 });
    await time.advance(1_000);
    await flush();
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'refunded', amount: 700 });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'refunded', amount: 600 });
    await time.advance(1_000);
    db.reconnect('T2');
    await Promise.race([store2.sync().catch(() => undefined), flush()]);
    await flush();
    expect(state.dead).toBe(true);
    // Killed at the recount's claim (its timers die with it): the report is kept, not made.
    t2.restart();
    expect(JSON.parse((await durable.getMeta(OVERS_DUE)) ?? '[]')).toHaveLength(1);
    // Restarted with the database out of reach.
    db.disconnect('T2');
    const store3 = sharedStore(db.remote('T2'), { local: durable });
    const g3 = await open(t2, 'T2', { store: store3 });
    await run(time, 3);
    expect(overReports(db, saleId)).toEqual([]);
    expect(JSON.parse((await durable.getMeta(OVERS_DUE)) ?? '[]')).toHaveLength(1);
    db.reconnect('T2');
    await store3.sync().catch(() => undefined);
    await run(time);
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.refunded, overOf(row!.record)]).toEqual([1_000, 300]);
    for (const g of [g1, g3]) expect((await g.get(saleId))?.refunded).toBe(1_000);
    expect(overReports(db, saleId)).toEqual(['T2:300']);
    expect(JSON.parse((await durable.getMeta(OVERS_DUE)) ?? '[]')).toEqual([]);
  });

  it('cut off again at the recount’s claim: 300 still journaled once, and let go only after', async () => {
    const { time, db, open } = lanes();
    const { g1, saleId } = await approved(open, time, 'tok_atk11_claim_cut');
    const arm = { claim: false };
    const inner = db.remote('T2');
    const remote2 = new Proxy(inner, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (name === 'claim' && arm.claim) {
            arm.claim = false;
            db.disconnect('T2');
          }
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
    const local = memoryStore();
    const store2 = sharedStore(remote2, { local });
    const g2 = await open(time.terminal(), 'T2', { store: store2 });
    await time.advance(1_000);
    await flush();
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'refunded', amount: 700 });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'refunded', amount: 600 });
    await time.advance(1_000);
    arm.claim = true;
    db.reconnect('T2');
    await store2.sync().catch(() => undefined);
    await run(time, 2);
    expect(arm.claim).toBe(false);
    db.reconnect('T2');
    await store2.sync().catch(() => undefined);
    await run(time);
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.refunded, overOf(row!.record)]).toEqual([1_000, 300]);
    for (const g of [g1, g2]) expect((await g.get(saleId))?.refunded).toBe(1_000);
    expect(overReports(db, saleId)).toEqual(['T2:300']);
  });

  it('a local whose setMeta fails once at the keep: the over is still journaled once, money kept', async () => {
    const { time, db, open } = lanes();
    const { g1, saleId } = await approved(open, time, 'tok_atk11_setmeta');
    const inner = memoryStore();
    const fail = { once: false };
    const local: GuardStore = new Proxy(inner, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (name === 'setMeta') {
          return (key: string, v: string) => {
            if (key === OVERS_DUE && fail.once) {
              fail.once = false;
              return Promise.reject(new Error('disk full'));
            }
            return (value as (k: string, v: string) => Promise<void>).call(target, key, v);
          };
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const store2 = sharedStore(db.remote('T2'), { local });
    const g2 = await open(time.terminal(), 'T2', { store: store2 });
    await time.advance(1_000);
    await flush();
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'refunded', amount: 700 });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'refunded', amount: 600 });
    await time.advance(1_000);
    fail.once = true;
    db.reconnect('T2');
    await store2.sync().catch(() => undefined);
    await run(time);
    expect(fail.once).toBe(false);
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.refunded, overOf(row!.record)]).toEqual([1_000, 300]);
    for (const g of [g1, g2]) expect((await g.get(saleId))?.refunded).toBe(1_000);
    expect(overReports(db, saleId)).toEqual(['T2:300']);
  });
});

describe('atk11: close() during the report', () => {
  it('closed while the recount’s claim is out: reported once, by this run or the next', async () => {
    const { time, db, open } = lanes();
    const { g1, saleId } = await approved(open, time, 'tok_atk11_close');
    const hold = { armed: false, release: undefined as undefined | (() => void), held: false };
    const inner = db.remote('T2');
    const remote2 = new Proxy(inner, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (name === 'claim' && hold.armed) {
            hold.armed = false;
            hold.held = true;
            await new Promise<void>((resolve) => (hold.release = resolve));
          }
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
    const durable = memoryStore();
    const t2 = time.terminal();
    const store2 = sharedStore(remote2, { local: durable });
    const g2 = await open(t2, 'T2', { store: store2 });
    await time.advance(1_000);
    await flush();
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'refunded', amount: 700 });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'refunded', amount: 600 });
    await time.advance(1_000);
    hold.armed = true;
    db.reconnect('T2');
    await store2.sync().catch(() => undefined);
    await flush();
    expect(hold.held).toBe(true);
    const closing = g2.close();
    await flush();
    hold.release?.();
    await closing;
    await flush();
    const store3 = sharedStore(db.remote('T2'), { local: durable });
    const g3 = await open(t2, 'T2', { store: store3 });
    await store3.settled();
    await run(time);
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.refunded, overOf(row!.record)]).toEqual([1_000, 300]);
    expect((await g3.get(saleId))?.refunded).toBe(1_000);
    expect(overReports(db, saleId)).toEqual(['T2:300']);
    await g3.close();
  });
});

describe('atk11: a guard re-created over the same shared store while the report is out', () => {
  it('a second guard takes the store over while the first one’s recount claim is out: 300 journaled exactly once', async () => {
    const { time, db, open } = lanes();
    const { g1, saleId } = await approved(open, time, 'tok_atk11_recreate');
    const hold = { armed: false, release: undefined as undefined | (() => void), held: false };
    const inner = db.remote('T2');
    const remote2 = new Proxy(inner, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (name === 'claim' && hold.armed) {
            hold.armed = false;
            hold.held = true;
            await new Promise<void>((resolve) => (hold.release = resolve));
          }
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
    const durable = memoryStore();
    const t2 = time.terminal();
    const store2 = sharedStore(remote2, { local: durable });
    const g2 = await open(t2, 'T2', { store: store2 });
    await time.advance(1_000);
    await flush();
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'refunded', amount: 700 });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'refunded', amount: 600 });
    await time.advance(1_000);
    hold.armed = true;
    db.reconnect('T2');
    await store2.sync().catch(() => undefined);
    await flush();
    expect(hold.held).toBe(true);
    // The same process makes a new guard over the same store (the first one is abandoned).
    const g3Promise = open(t2, 'T2', { store: store2 });
    await flush();
    hold.release?.();
    const g3 = await g3Promise;
    await run(time);
    // Reported by now, and let go of (OversDue.reported compares the record by identity; attach's read() replaced it).
    const mid = { reports: overReports(db, saleId), kept: JSON.parse((await durable.getMeta(OVERS_DUE)) ?? '[]').length };
    expect(mid).toEqual({ reports: ['T2:300'], kept: 0 });
    // Later, an ordinary cut-off and catch-up of this terminal.
    db.disconnect('T2');
    await time.advance(3_000);
    db.reconnect('T2');
    await store2.sync().catch(() => undefined);
    await run(time);
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.refunded, overOf(row!.record)]).toEqual([1_000, 300]);
    expect((await g3.get(saleId))?.refunded).toBe(1_000);
    expect(overReports(db, saleId)).toEqual(['T2:300']);
  });
});
