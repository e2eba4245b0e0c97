/**
 * atk7: recountSent (src/guard/settle.ts, eb4bf19/6a50214) and a till killed
 * between its catch-up and the recount.
 *
 * Mechanism (src/shared/store.ts #sendOutbox): each outbox record is
 * uploaded, pushed onto the in-memory `#sent` list, and its id is at once
 * shifted off the outbox and the outbox is written to `local`. The StoreChange
 * `sent` (which starts the guard's recountSent claim) is only emitted at the
 * very end of the catch-up, and `#sent` is never kept in `local`. A till that
 * dies after the outbox write and before the recount's claim lands leaves
 * nothing that would run it again: the restarted till's outbox is empty.
 * With a void made while cut off and a refund made elsewhere after it, the
 * upload keeps the later row (the refund's, sale approved): the sale stays
 * approved and refundable on every lane although the processor reversed the
 * whole charge; the refund is never listed as money to recover.
 *
 * Fixed: the void is merged into the upload itself (keptVoid), durable with
 * it, instead of waiting for the guard's recount after the catch-up.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { flush, lanes, never } from '../helpers/lanes.js';

const card = { token: 'tok_atk7_recount_crash' };

describe('atk7: killed between the catch-up and its recount', () => {
  it('a void made cut off stays a void after a restart (the refund made elsewhere listed as over)', async () => {
    const { time, db, open } = lanes();
    const g1 = await open(time.terminal(), 'T1');
    const state = { dead: false };
    const durable = memoryStore();
    const t2 = time.terminal();
    const inner = db.remote('T2');
    // The process dies at the first call after the void's upload (the recount's, or the outbox's next).
    let catchingUp = false;
    const remote2 = new Proxy(inner, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (state.dead) return never();
          if (catchingUp) {
            state.dead = true;
            return never();
          }
          if (name === 'upload') catchingUp = true;
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
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    const r = await g1.begin({ amount: 300, currency: 'CNY', card, kind: 'refund', refundOf: saleId });
    expect(r.verdict).toBe('allow');
    await g1.settle(r.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    db.reconnect('T2');
    await Promise.race([store2.sync().catch(() => undefined), flush()]);
    await flush();
    expect(state.dead).toBe(true);
    // Restarted on what `local` holds.
    t2.restart();
    const store3 = sharedStore(db.remote('T2'), { local: durable });
    const g3 = await open(t2, 'T2', { store: store3 });
    await store3.settled();
    await time.advance(5_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.status).toBe('voided');
    for (const g of [g1, g3]) {
      const again = await g.peek({ amount: 100, currency: 'CNY', card: { token: 'tok_atk7_more' }, kind: 'refund', refundOf: saleId });
      expect(again.verdict).not.toBe('allow');
    }
  });
});
