/**
 * atk25: the clock watch over IndexedDB, two tabs: the charging tab writes
 * the step, an idle tab does not need to.
 */
import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { virtualTime } from '../../src/testing.js';
import { freshDb, OPTIONS, settle } from '../helpers/tabs.js';

const DAY = 86_400_000;
const sale = { amount: 1_250, currency: 'CNY', card: { token: 'tok_atk25_tabs' } };
const codes = (decision: { reasons: { code: string }[] }) => decision.reasons.map((r) => r.code);

describe('atk25: the watch over IndexedDB tabs (held)', () => {
  it('tab A charges, tab B idle; NTP sets the clock 9 days right, the browser dies 30 s later: a tab opened after the restart holds the retry', async () => {
    const db = freshDb();
    const time = virtualTime(Date.parse('2026-02-20T09:00:00Z'));
    const open = () => createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: time.clock, scheduler: time.scheduler });
    const a = await open();
    const b = await open();
    const charge = await a.begin(sale);
    expect(charge.verdict).toBe('allow');
    await time.advance(1_000);
    time.jump(9 * DAY);
    for (let s = 0; s < 6; s++) {
      await time.advance(5_000);
      await settle(5);
    }
    time.restart();
    const c = await open();
    const retry = await c.begin(sale);
    expect(codes(retry)).toContain('UNKNOWN_OUTCOME');
    await c.close();
    void b;
  });
});
