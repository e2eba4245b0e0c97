/**
 * atk10: two cut-off lanes catching up at once over one sale.
 *
 * #sendOutbox (src/shared/store.ts) reads the stored row (remote.get), merges
 * (keptRefunds) and uploads in two separate trips, outside any per-sale
 * lock: both lanes read the row as it was, each uploads its merge, and the
 * later one replaces the other's, with the refunds only the other listed.
 * Only the first lane's recount (from the in-memory 'sent') puts them back:
 * killed before it, they are lost for good.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore, type Guard } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { codes, flush, lanes, never } from '../helpers/lanes.js';

const card = { token: 'tok_atk10_race' };

describe('atk10: two catch-ups at once, one lane killed before its recount', () => {
  it('300 outside the guard on T2, 400 on T3, both cut off: after T2 restarts, 700 counted', async () => {
    const { time, db, open } = lanes();
    const g1 = await open(time.terminal(), 'T1');
    const state = { dead: false, uploads: 0 };
    const durable = memoryStore();
    const t2 = time.terminal();
    const remote2 = new Proxy(db.remote('T2'), {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (state.dead) return never();
          if (state.uploads >= 1) {
            state.dead = true;
            return never();
          }
          if (name === 'upload') state.uploads++;
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
    const store2 = sharedStore(remote2, { local: durable });
    const g2 = await open(t2, 'T2', { store: store2 });
    const store3 = sharedStore(db.remote('T3'), { local: memoryStore() });
    const g3 = await open(time.terminal(), 'T3', { store: store3 });
    const s = await g1.begin({ amount: 1_000, currency: 'CNY', card });
    await g1.settle(s.attempt!.id, { status: 'approved', authCode: '123456' });
    await time.advance(1_000);
    await flush();
    const saleId = s.attempt!.id;
    for (const g of [g2, g3]) expect((await g.get(saleId))?.status).toBe('approved');
    db.disconnect('T2');
    db.disconnect('T3');
    await g2.settle(saleId, { status: 'refunded', amount: 300 });
    await time.advance(1_000);
    await g3.settle(saleId, { status: 'refunded', amount: 400 });
    await time.advance(1_000);
    db.reconnect('T2');
    db.reconnect('T3');
    await Promise.race([Promise.all([store2.sync().catch(() => undefined), store3.sync()]), flush()]);
    await flush();
    expect(state.dead).toBe(true);
    t2.restart();
    const store4 = sharedStore(db.remote('T2'), { local: durable });
    const g4 = await open(t2, 'T2', { store: store4 });
    await store4.settled();
    for (let i = 0; i < 3; i++) {
      await time.advance(5_000);
      await flush();
    }
    const guards: Guard[] = [g1, g3, g4];
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.refunded).toBe(700);
    for (const g of guards) expect((await g.get(saleId))?.refunded).toBe(700);
    const past = await g1.peek({ amount: 301, currency: 'CNY', card: { token: 'tok_atk10_race_r' }, kind: 'refund', refundOf: saleId });
    expect(codes(past)).toContain('REFUND_EXCEEDS_CHARGE');
  });
});
