/**
 * atk9: a till killed after its catch-up's last upload and before the
 * refund recount (recountSent in src/guard/settle.ts) runs.
 *
 * Mechanism (src/shared/store.ts #sendOutbox): every outbox record is
 * uploaded and shifted off the outbox (kept in `local`) at once; the
 * StoreChange `sent` that starts recountSent is emitted only at the very end,
 * from the in-memory `#sent`, which is never kept. A till that dies in
 * between restarts with an empty outbox: nothing runs the recount again. The
 * void of a sale was made durable in the upload itself (keptVoid, atk7), the
 * refund recount was not: a refund reversed on the cut-off lane stays counted
 * in the sale's kept (later) row, and a refund that fits is refused on every
 * lane. (An approved refund the kept row misses is re-counted at start-up,
 * which applies approved refunds again: that case passes.)
 */
import { describe, expect, it } from 'vitest';
import { memoryStore, type Guard } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { codes, flush, lanes, never, refundOf } from '../helpers/lanes.js';

const card = { token: 'tok_atk9_restart' };
/** Lane 2 dies at its first call to the database after its `uploads`-th upload. */
async function dyingLane(uploads: number) {
  const { time, db, open } = lanes();
  const g1 = await open(time.terminal(), 'T1');
  const state = { dead: false, uploads: 0 };
  const durable = memoryStore();
  const t2 = time.terminal();
  const inner = db.remote('T2');
  const remote2 = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (state.dead) return never();
        if (state.uploads >= uploads) {
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
  const s = await g1.begin({ amount: 1_000, currency: 'CNY', card });
  await g1.settle(s.attempt!.id, { status: 'approved', authCode: '123456' });
  await time.advance(1_000);
  await flush();
  const saleId = s.attempt!.id;
  expect((await g2.get(saleId))?.status).toBe('approved');
  const restart = async () => {
    db.reconnect('T2');
    await Promise.race([store2.sync().catch(() => undefined), flush()]);
    await flush();
    expect(state.dead).toBe(true);
    t2.restart();
    const store3 = sharedStore(db.remote('T2'), { local: durable });
    const g3 = await open(t2, 'T2', { store: store3 });
    await store3.settled();
    await time.advance(5_000);
    await flush();
    return g3;
  };
  return { time, db, g1, g2, saleId, restart, state };
}

async function expectRefunded(db: ReturnType<typeof lanes>['db'], guards: Guard[], saleId: string, sum: number) {
  const [row] = await db.remote('observer').get('M1', [saleId]);
  expect(row!.record.refunded).toBe(sum);
  for (const g of guards) {
    expect((await g.get(saleId))?.refunded).toBe(sum);
    expect(codes(await g.peek(refundOf(saleId, 1_000 - sum, 'tok_atk9_restart_fit')))).toEqual([]);
  }
}

describe('atk9: killed between the catch-up and its refund recount', () => {
  it('a refund reversed on the cut-off lane, another approved later elsewhere: after the restart only the latter counts', async () => {
    // Outbox: the reversed refund, then its sale: dies after the second upload.
    const { time, db, g1, g2, saleId, restart, state } = await dyingLane(2);
    const r2 = await g2.begin(refundOf(saleId, 400, 'tok_atk9_restart_r2'));
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    await flush();
    expect((await g1.get(saleId))?.refunded).toBe(400);
    db.disconnect('T2');
    await g2.settle(r2.attempt!.id, { status: 'voided' });
    await time.advance(1_000);
    const r1 = await g1.begin(refundOf(saleId, 300, 'tok_atk9_restart_r1'));
    expect(r1.verdict).toBe('allow');
    await g1.settle(r1.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    const g3 = await restart();
    expect(state.uploads).toBe(2);
    await expectRefunded(db, [g1, g3], saleId, 300);
  });

  it('a refund approved elsewhere first, one on the cut-off lane later: both count after the restart (start-up recount)', async () => {
    // Outbox: the refund, then its sale.
    const { time, db, g1, g2, saleId, restart } = await dyingLane(2);
    db.disconnect('T2');
    const r1 = await g1.begin(refundOf(saleId, 300, 'tok_atk9_restart_r1'));
    await g1.settle(r1.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    const r2 = await g2.begin(refundOf(saleId, 400, 'tok_atk9_restart_r2'));
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    const g3 = await restart();
    await expectRefunded(db, [g1, g3], saleId, 700);
  });
});
