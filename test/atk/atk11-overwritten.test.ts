/**
 * atk11: a catch-up's merge found money to recover and its upload landed, but
 * the answer was lost. Before this till sends it again, ANOTHER cut-off lane's
 * catch-up merges over that landed row (listing the over again, and its own
 * share on top). The row this till meets on its retry is then not its own
 * write: it lists this till's over, which was counted as known (while the
 * other lane counted it as known too), and nobody journaled it; fixed by
 * OversDue.asKnown (a row counts as known only beyond the kept write).
 */
import { describe, expect, it } from 'vitest';
import { memoryStore, type AttemptRecord } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { flush, lanes, losesAnswers, overReports } from '../helpers/lanes.js';

const card = { token: 'tok_atk11_overwritten' };
const overOf = (record: AttemptRecord) => (record.refunds ?? []).reduce((sum, r) => sum + ((r as { over?: number }).over ?? 0), 0);

async function settle(time: { advance(ms: number): Promise<void> }) {
  for (let i = 0; i < 4; i++) {
    await flush();
    await time.advance(5_000);
  }
  await flush();
}

describe('atk11: a lost-answer merge overwritten by another lane’s merge before the retry', () => {
  it('600 on T1, 700 on cut-off T2 (answer lost), 100 on cut-off T3: the 400 over is journaled in full', async () => {
    const { time, db, open } = lanes();
    const g1 = await open(time.terminal(), 'T1');
    const lost = losesAnswers(() => db);
    const store2 = sharedStore(lost.wrap(db.remote('T2'), 'T2'), { local: memoryStore() });
    const g2 = await open(time.terminal(), 'T2', { store: store2 });
    const store3 = sharedStore(db.remote('T3'), { local: memoryStore() });
    const g3 = await open(time.terminal(), 'T3', { store: store3 });
    const s = await g1.begin({ amount: 1_000, currency: 'CNY', card });
    const saleId = s.attempt!.id;
    await g1.settle(saleId, { status: 'approved', authCode: '123456' });
    await time.advance(1_000);
    await flush();
    expect((await g2.get(saleId))?.status).toBe('approved');
    expect((await g3.get(saleId))?.status).toBe('approved');

    db.disconnect('T2');
    db.disconnect('T3');
    await g2.settle(saleId, { status: 'refunded', amount: 700 });
    await g3.settle(saleId, { status: 'refunded', amount: 100 });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'refunded', amount: 600 });
    await time.advance(1_000);

    // T2 catches up: its merge (700 + 600: 300 over) lands, the answer is lost, T2 is cut off again.
    lost.lose('T2');
    db.reconnect('T2');
    await store2.sync().catch(() => undefined);
    await flush();
    expect(lost.left('T2')).toBe(0);
    const [mid] = await db.remote('observer').get('M1', [saleId]);
    expect(overOf(mid!.record)).toBe(300);

    // T3 catches up over T2's landed row: 100 + 700 + 600, 400 over; T3 knew of 300 of it.
    db.reconnect('T3');
    await store3.sync().catch(() => undefined);
    await settle(time);

    // T2 back: its sale is sent again, merged over T3's row.
    db.reconnect('T2');
    await store2.sync().catch(() => undefined);
    await settle(time);

    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.refunded, overOf(row!.record)]).toEqual([1_000, 400]);
    for (const g of [g1, g2, g3]) expect((await g.get(saleId))?.refunded).toBe(1_000);
    const reports = overReports(db, saleId);
    const total = reports.reduce((sum, r) => sum + Number(r.split(':')[1]), 0);
    expect({ reports, total }).toMatchObject({ total: 400 });
  });
});
