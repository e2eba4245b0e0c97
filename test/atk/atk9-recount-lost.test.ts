/**
 * atk9: the connection drops again exactly when the catch-up's refund
 * recount (recountSent in src/guard/settle.ts) claims the sale, and comes
 * back later: the recount must still happen (on that claim's fallback, or
 * at the next catch-up).
 *
 * Mechanism probed: recountSent runs once, on the StoreChange `sent` that
 * #sendOutbox (src/shared/store.ts) emits from the in-memory `#sent` (then
 * emptied). If its claim fails, `written` is false and it returns: nothing
 * records that the sale still has to be counted again, and the next
 * catch-up's `#sent` no longer holds the records.
 */
import { describe, expect, it } from 'vitest';
import type { Remote } from '../../src/shared/remote.js';
import { approvedOnTwoLanes, codes, flush, refundOf } from '../helpers/lanes.js';

const card = { token: 'tok_atk9_recount_lost' };
/** Lane 2's connection, which drops (db.disconnect) at the first claim once armed. */
function dropping() {
  const state: { armed: boolean; drop?: () => void; dropped: number } = { armed: false, dropped: 0 };
  const wrap = (inner: Remote): Remote =>
    new Proxy(inner, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (name === 'claim' && state.armed) {
            state.armed = false;
            state.dropped++;
            state.drop?.();
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  return { state, wrap };
}

async function twice(setup: Awaited<ReturnType<typeof approvedOnTwoLanes>>, state: { armed: boolean; dropped: number }) {
  const { time, db, store2 } = setup;
  await time.advance(1_000);
  state.armed = true;
  db.reconnect('T2');
  await store2.sync().catch(() => undefined);
  await flush();
  await time.advance(1_000);
  await flush();
  expect(state.dropped).toBe(1);
  // Back again: the store reconnects on its own within 2 s; a sync for good measure.
  db.reconnect('T2');
  await time.advance(3_000);
  await flush();
  await store2.sync();
  await flush();
  await time.advance(5_000);
  await flush();
}

describe('atk9: the connection drops again at the recount', () => {
  it("the other lane's earlier refund dropped by the upload is still counted once the lane is back", async () => {
    const { state, wrap } = dropping();
    const setup = await approvedOnTwoLanes(card, wrap);
    const { time, db, g1, g2, saleId } = setup;
    state.drop = () => db.disconnect('T2');
    db.disconnect('T2');
    const r1 = await g1.begin(refundOf(saleId, 300, 'tok_atk9_rl_r1'));
    await g1.settle(r1.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    const r2 = await g2.begin(refundOf(saleId, 600, 'tok_atk9_rl_r2'));
    expect(r2.verdict).toBe('allow');
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await twice(setup, state);
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.refunded).toBe(900);
    for (const g of [g1, g2]) {
      expect((await g.get(saleId))?.refunded).toBe(900);
      expect(codes(await g.peek(refundOf(saleId, 101, 'tok_atk9_rl_past')))).toEqual(['REFUND_EXCEEDS_CHARGE']);
    }
  });

  it('a refund reversed on the cut-off lane, still listed by the kept row, is taken back once the lane is back', async () => {
    const { state, wrap } = dropping();
    const setup = await approvedOnTwoLanes(card, wrap);
    const { time, db, g1, g2, saleId } = setup;
    state.drop = () => db.disconnect('T2');
    const r2 = await g2.begin(refundOf(saleId, 400, 'tok_atk9_rl_r2'));
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    await flush();
    db.disconnect('T2');
    await g2.settle(r2.attempt!.id, { status: 'voided' });
    await time.advance(1_000);
    const r1 = await g1.begin(refundOf(saleId, 300, 'tok_atk9_rl_r1'));
    await g1.settle(r1.attempt!.id, { status: 'approved' });
    await twice(setup, state);
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.refunded).toBe(300);
    for (const g of [g1, g2]) {
      expect((await g.get(saleId))?.refunded).toBe(300);
      expect(codes(await g.peek(refundOf(saleId, 700, 'tok_atk9_rl_fit')))).toEqual([]);
    }
  });
});
