/**
 * atk12: refunds outside the guard with a processorRef, and money to recover
 * after catch-ups, on two and three lanes of one shared database.
 */
import { describe, expect, it } from 'vitest';
import type { AttemptRecord } from '../../src/index.js';
import type { Remote } from '../../src/shared/remote.js';
import { approvedOnTwoLanes, flush, lanes, losesAnswers } from '../helpers/lanes.js';

const overOf = (record: AttemptRecord) => (record.refunds ?? []).reduce((sum, r) => sum + ((r as { over?: number }).over ?? 0), 0);

/** Three lanes; a sale of 1 000 approved on T1 that T2 and T3 have heard of. `wrap` wraps a lane's connection. */
async function threeLanes(token: string, wrap: (remote: Remote, terminalId: string) => Remote = (r) => r) {
  const { time, db, open } = lanes({ remote: wrap });
  const g1 = await open(time.terminal(), 'T1');
  const g2 = await open(time.terminal(), 'T2');
  const g3 = await open(time.terminal(), 'T3');
  const s = await g1.begin({ amount: 1_000, currency: 'CNY', card: { token } });
  await g1.settle(s.attempt!.id, { status: 'approved', authCode: '123456' });
  await time.advance(1_000);
  await flush();
  const saleId = s.attempt!.id;
  for (const g of [g2, g3]) expect((await g.get(saleId))?.status).toBe('approved');
  const settleDown = async () => {
    for (let i = 0; i < 4; i++) {
      await time.advance(5_000);
      await flush();
    }
  };
  return { time, db, g1, g2, g3, saleId, settleDown };
}

function journalOf(db: ReturnType<typeof lanes>['db'], saleId: string) {
  const all = db.journal('M1').filter(({ entry }) => entry.attemptId === saleId);
  return {
    overs: all.filter(({ entry }) => entry.detail?.startsWith('over-refund by')).map(({ entry }) => entry.amount ?? 0),
    refunds: all
      .filter(({ entry }) => entry.type === 'settle' && entry.amount !== undefined && !entry.detail?.startsWith('over-refund'))
      .map(({ terminalId, entry }) => `${terminalId}:${entry.amount}`),
  };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('atk12: the same processorRef on lanes', () => {
  it('T2 and T3 both cut off record the same reference, T1 too; concurrent catch-ups: counted once, journaled once per lane at most', async () => {
    const { time, db, g1, g2, g3, saleId, settleDown } = await threeLanes('tok_atk12_same3');
    db.disconnect('T2');
    db.disconnect('T3');
    const o = { status: 'refunded', amount: 400, processorRef: 'ACQ-3LANES' } as const;
    await g2.settle(saleId, o);
    await g3.settle(saleId, o);
    await g1.settle(saleId, o);
    await time.advance(1_000);
    db.reconnect('T2');
    db.reconnect('T3');
    await settleDown();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.refunded, overOf(row!.record), row!.record.refunds?.length]).toEqual([400, 0, 1]);
    for (const g of [g1, g2, g3]) expect((await g.get(saleId))?.refunded).toBe(400);
    expect(journalOf(db, saleId).overs).toEqual([]);
  });

  it('T2 cut off records the reference with 400, T1 with 500 (same ref, another amount): the row keeps one, no 900', async () => {
    const { time, db, g1, g2, saleId } = await approvedOnTwoLanes({ token: 'tok_atk12_diffamt' });
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'refunded', amount: 400, processorRef: 'R-AMT' });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'refunded', amount: 500, processorRef: 'R-AMT' });
    db.reconnect('T2');
    for (let i = 0; i < 3; i++) {
      await time.advance(5_000);
      await flush();
    }
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.refunds).toHaveLength(1);
    const kept = row!.record.refunded;
    expect([400, 500]).toContain(kept);
    for (const g of [g1, g2]) expect((await g.get(saleId))?.refunded).toBe(kept);
  });

  it('voided on cut-off T2; the same reference recorded on T1 and cut-off T3: 300 over, journaled once', async () => {
    const { time, db, g1, g2, g3, saleId, settleDown } = await threeLanes('tok_atk12_void3');
    db.disconnect('T2');
    db.disconnect('T3');
    await g2.settle(saleId, { status: 'voided' });
    const o = { status: 'refunded', amount: 300, processorRef: 'R-VOID' } as const;
    await g3.settle(saleId, o);
    await g1.settle(saleId, o);
    await time.advance(1_000);
    db.reconnect('T3');
    db.reconnect('T2');
    await settleDown();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.status, overOf(row!.record)]).toEqual(['voided', 300]);
    expect(journalOf(db, saleId).overs).toEqual([300]);
  });

  it('two lanes record two references at the same moment (claims race): each lane journals only its own amount', async () => {
    const { time, db, g1, g2, saleId } = await approvedOnTwoLanes({ token: 'tok_atk12_race_journal' });
    await Promise.all([
      g1.settle(saleId, { status: 'refunded', amount: 300, processorRef: 'L1' }),
      g2.settle(saleId, { status: 'refunded', amount: 200, processorRef: 'L2' }),
    ]);
    await time.advance(5_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.refunded).toBe(500);
    expect(journalOf(db, saleId).refunds.sort()).toEqual(['T1:300', 'T2:200']);
  });
});

describe('atk12: money to recover with three lanes', () => {
  it('all three lanes cut off, each refunding outside the guard; concurrent catch-ups: overs journaled exactly once in total', async () => {
    const { time, db, g1, g2, g3, saleId, settleDown } = await threeLanes('tok_atk12_all3');
    db.disconnect('T1');
    db.disconnect('T2');
    db.disconnect('T3');
    await g1.settle(saleId, { status: 'refunded', amount: 500 });
    await g2.settle(saleId, { status: 'refunded', amount: 400 });
    await g3.settle(saleId, { status: 'refunded', amount: 300 });
    await time.advance(1_000);
    db.reconnect('T1');
    db.reconnect('T2');
    db.reconnect('T3');
    await settleDown();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.refunded, overOf(row!.record)]).toEqual([1_000, 200]);
    for (const g of [g1, g2, g3]) expect((await g.get(saleId))?.refunded).toBe(1_000);
    expect(sum(journalOf(db, saleId).overs)).toBe(200);
  });

  for (const lost of [['T2', 'T3'], ['T2'], ['T3'], []] as const) {
    it(`two cut-off lanes catching up at once, the answer to the upload lost on [${lost.join(',')}]: overs journaled exactly once in total`, async () => {
      const at: { db?: { disconnect(id: string): void } } = {};
      const answers = losesAnswers(() => at.db!);
      const { time, db, g1, g2, g3, saleId, settleDown } = await threeLanes('tok_atk12_lost2', answers.wrap);
      at.db = db;
      db.disconnect('T2');
      db.disconnect('T3');
      await g2.settle(saleId, { status: 'refunded', amount: 600 });
      await g3.settle(saleId, { status: 'refunded', amount: 500 });
      await g1.settle(saleId, { status: 'refunded', amount: 300 });
      await time.advance(1_000);
      for (const t of lost) answers.lose(t);
      db.reconnect('T2');
      db.reconnect('T3');
      await flush();
      await time.advance(1_000);
      await flush();
      db.reconnect('T2');
      db.reconnect('T3');
      await settleDown();
      db.reconnect('T2');
      db.reconnect('T3');
      await settleDown();
      const [row] = await db.remote('observer').get('M1', [saleId]);
      expect([row!.record.refunded, overOf(row!.record)]).toEqual([1_000, 400]);
      for (const g of [g1, g2, g3]) expect((await g.get(saleId))?.refunded).toBe(1_000);
      expect(sum(journalOf(db, saleId).overs)).toBe(400);
    });
  }

  it('the answer to T2’s upload lost, the sale voided on cut-off T3: every refund over, journaled exactly once in total', async () => {
    const at: { db?: { disconnect(id: string): void } } = {};
    const answers = losesAnswers(() => at.db!);
    const { time, db, g1, g2, g3, saleId, settleDown } = await threeLanes('tok_atk12_lost_void', answers.wrap);
    at.db = db;
    db.disconnect('T2');
    db.disconnect('T3');
    await g2.settle(saleId, { status: 'refunded', amount: 700 });
    await g1.settle(saleId, { status: 'refunded', amount: 600 });
    await g3.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    answers.lose('T2');
    db.reconnect('T2');
    db.reconnect('T3');
    await flush();
    await time.advance(1_000);
    db.reconnect('T2');
    await settleDown();
    db.reconnect('T2');
    await settleDown();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.status, overOf(row!.record)]).toEqual(['voided', 1_300]);
    for (const g of [g1, g2, g3]) expect((await g.get(saleId))?.status).toBe('voided');
    expect(sum(journalOf(db, saleId).overs)).toBe(1_300);
  });

  it('void on cut-off T3, external refunds on cut-off T2 and T1 (connected): the refunds all over, journaled once in total', async () => {
    const { time, db, g1, g2, g3, saleId, settleDown } = await threeLanes('tok_atk12_void_over3');
    db.disconnect('T2');
    db.disconnect('T3');
    await g3.settle(saleId, { status: 'voided' });
    await g2.settle(saleId, { status: 'refunded', amount: 400 });
    await g1.settle(saleId, { status: 'refunded', amount: 250 });
    await time.advance(1_000);
    db.reconnect('T2');
    db.reconnect('T3');
    await settleDown();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.status, overOf(row!.record)]).toEqual(['voided', 650]);
    for (const g of [g1, g2, g3]) expect((await g.get(saleId))?.status).toBe('voided');
    expect(sum(journalOf(db, saleId).overs)).toBe(650);
  });

  it('void on cut-off T2 racing T3’s catch-up of 300 over: overs journaled once in total', async () => {
    const { time, db, g1, g2, g3, saleId, settleDown } = await threeLanes('tok_atk12_void_race');
    db.disconnect('T2');
    db.disconnect('T3');
    await g3.settle(saleId, { status: 'refunded', amount: 700 });
    await g1.settle(saleId, { status: 'refunded', amount: 600 });
    await g2.settle(saleId, { status: 'voided' });
    await time.advance(1_000);
    db.reconnect('T3');
    db.reconnect('T2');
    await settleDown();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.status, overOf(row!.record)]).toEqual(['voided', 1_300]);
    expect(sum(journalOf(db, saleId).overs)).toBe(1_300);
  });
});
