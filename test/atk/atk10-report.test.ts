/**
 * atk10: the journal of lanes whose catch-up merged two rows of a sale and
 * reported the money to recover (over-refund entries from recountSent):
 * each terminal's chain verifies (verifyJournal), and the report's totals
 * (summarizeJournal) add up: refunds recorded outside the guard less the
 * over-refunds is what the sale counts.
 */
import { describe, expect, it } from 'vitest';
import { verifyJournal, type AttemptRecord, type JournalEntry } from '../../src/index.js';
import { summarizeJournal } from '../../src/report/summary.js';
import { approvedOnTwoLanes, flush } from '../helpers/lanes.js';

const card = { token: 'tok_atk10_report' };
const overOf = (record: AttemptRecord) => (record.refunds ?? []).reduce((sum, r) => sum + ((r as { over?: number }).over ?? 0), 0);

describe('atk10: the journal after a merge found money to recover', () => {
  it('700 and 600 outside the guard across a cut-off: chains verify, recorded 1 300, over 300, counted 1 000', async () => {
    const setup = await approvedOnTwoLanes(card);
    const { time, db, g1, g2, store2, saleId } = setup;
    db.disconnect('T2');
    await g2.settle(saleId, { status: 'refunded', amount: 700 });
    await time.advance(1_000);
    await g1.settle(saleId, { status: 'refunded', amount: 600 });
    await time.advance(1_000);
    db.reconnect('T2');
    await store2.sync();
    for (let i = 0; i < 3; i++) {
      await flush();
      await time.advance(5_000);
    }
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect([row!.record.refunded, overOf(row!.record)]).toEqual([1_000, 300]);
    const all = db.journal('M1');
    for (const terminal of ['T1', 'T2']) {
      const entries: JournalEntry[] = all.filter((line) => line.terminalId === terminal).map((line) => line.entry);
      const verified = verifyJournal(entries, { secret: 'shared-lanes-test-secret-0123456789ab' });
      expect(verified.ok).toBe(true);
    }
    const summary = summarizeJournal(
      all.map((line) => line.entry),
      { tz: 'Asia/Shanghai' },
    );
    const over = summary.refunds.overRefunds.reduce((sum, o) => sum + o.amount, 0);
    expect([summary.refunds.amount, over, summary.refunds.amount - over]).toEqual([1_300, 300, 1_000]);
  });
});
