/**
 * atk10: the catch-up's merge of two rows of a sale (keptRefunds in
 * src/shared/store.ts) on a till whose wall clock was put back while it was
 * cut off (NTP, a person fixing the date).
 *
 * #sendOutbox reads the stored row through the skew measured now (#seen)
 * but writes the merged row with the skew of when it was written cut off
 * (#outboxSkews): `later` (stored.updatedAt + 1, in today's terms) then
 * lands EARLIER than the stored row in the database's time, and the upload
 * keeps the stored row. The recount re-merges, and reports the over the
 * merge already reported ('sent'.over) a second time under the other
 * refund's id.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore, type AttemptRecord } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { flush, hangsAfterUploads, lanes } from '../helpers/lanes.js';

const card = { token: 'tok_atk10_skew' };
const overOf = (record: AttemptRecord) => (record.refunds ?? []).reduce((sum, r) => sum + ((r as { over?: number }).over ?? 0), 0);

async function setup() {
  const { time, db, open } = lanes();
  const g1 = await open(time.terminal(), 'T1');
  const t2 = time.terminal();
  const store2 = sharedStore(db.remote('T2'), { local: memoryStore() });
  const g2 = await open(t2, 'T2', { store: store2 });
  const s = await g1.begin({ amount: 1_000, currency: 'CNY', card });
  await g1.settle(s.attempt!.id, { status: 'approved', authCode: '123456' });
  await time.advance(1_000);
  await flush();
  const saleId = s.attempt!.id;
  expect((await g2.get(saleId))?.status).toBe('approved');
  return { time, db, g1, g2, t2, store2, saleId };
}

describe('atk10: the cut-off till clock put back before its catch-up', () => {
  for (const back of [0, 60_000, 10 * 60_000]) {
    it(`put back ${back / 1000} s: 700 on the cut-off lane, 600 on the connected one: 1 000, 300 over, journaled once`, async () => {
      const { time, db, g1, g2, t2, store2, saleId } = await setup();
      db.disconnect('T2');
      await g2.settle(saleId, { status: 'refunded', amount: 700 });
      await time.advance(1_000);
      await g1.settle(saleId, { status: 'refunded', amount: 600 });
      await time.advance(1_000);
      t2.jump(-back);
      db.reconnect('T2');
      await store2.sync();
      for (let i = 0; i < 4; i++) {
        await flush();
        await time.advance(5_000);
      }
      await flush();
      const [row] = await db.remote('observer').get('M1', [saleId]);
      expect([row!.record.refunded, overOf(row!.record), row!.record.refunds?.length]).toEqual([1_000, 300, 2]);
      for (const g of [g1, g2]) expect((await g.get(saleId))?.refunded).toBe(1_000);
      const journaled = db
        .journal('M1')
        .filter(({ entry }) => entry.attemptId === saleId && entry.detail?.startsWith('over-refund by'))
        .map(({ entry }) => entry.amount ?? 0);
      expect(journaled.reduce((a, b) => a + b, 0)).toBe(300);
    });
  }
});

describe('atk10: clock put back, and the till killed after its upload, before the recount', () => {
  it('700 on the cut-off lane, 600 on the connected one: the merged row lands (1 000 counted) without the recount', async () => {
    const { time, db, open } = lanes();
    const g1 = await open(time.terminal(), 'T1');
    const t2 = time.terminal();
    const durable = memoryStore();
    const { remote: remote2, state } = hangsAfterUploads(db.remote('T2'), 1);
    const store2 = sharedStore(remote2, { local: durable });
    const g2 = await open(t2, 'T2', { store: store2 });
    const s = await g1.begin({ amount: 1_000, currency: 'CNY', card });
    await g1.settle(s.attempt!.id, { status: 'approved', authCode: '123456' });
    await time.advance(1_000);
    await flush();
    const saleId = s.attempt!.id;
    expect((await g2.get(saleId))?.status).toBe('approved');
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'refunded', amount: 700 });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'refunded', amount: 600 });
    await time.advance(1_000);
    t2.jump(-60_000);
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
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.refunded, overOf(row!.record)]).toEqual([1_000, 300]);
    for (const g of [g1, g3]) expect((await g.get(saleId))?.refunded).toBe(1_000);
  });
});
