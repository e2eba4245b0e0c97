/**
 * atk8: GuardTime pins (src/guard-time.ts #fromOutside/#sweepPins, markHeld
 * in src/guard/context.ts) after a real sleep: the tablet's monotonic clock
 * stops while it is off the network, the other lane writes 25 000 rows
 * meanwhile, and the catch-up on waking pins every time stamped during the
 * sleep (sweeps at 10 000 and when the table doubles). Decisions about an
 * attempt pinned among them must keep their times.
 */
import { describe, expect, it } from 'vitest';
import type { AttemptRecord } from '../../src/index.js';
import { codes, flush, lanes, sleepy } from '../helpers/lanes.js';

const SEC = 1_000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const FLOOD = 25_000;

describe('atk8: pins through a sleep and a flood of rows', () => {
  it.each(['24h', '1h'])(
    'retention %s: a pending begun 30 s before waking stays IN_FLIGHT until pendingTimeout, an approval inside window prompts, and settling an old record keeps its times',
    async (retention) => {
      const { time, db, open } = lanes();
      const g1 = await open(time.terminal(), 'T1');
      const tablet = sleepy(time, time.terminal());
      const g2 = await open(tablet.terminal, 'T2', { retention });
      // A template row: a declined attempt of lane 1.
      const t = await g1.begin({ amount: 1, currency: 'CNY', card: { token: 'tok_atk8_tpl' } });
      await g1.settle(t.attempt!.id, { status: 'declined' });
      await time.advance(SEC);
      await flush();
      const [tpl] = await db.remote('observer').get('M1', [t.attempt!.id]);
      db.disconnect('T2');
      tablet.sleep();
      await time.advance(30 * MIN);
      const writer = db.remote('T9');
      const start = time.now();
      for (let i = 0; i < FLOOD; i++) {
        const at = start + i * 7;
        const record: AttemptRecord = {
          ...tpl!.record,
          id: `pdg_flood${String(i).padStart(12, '0')}`,
          createdAt: at,
          updatedAt: at + 3,
          pendingSince: at,
        };
        await writer.put('M1', { record, skew: 0, keys: [], notice: 'none' });
      }
      await time.advance(3 * HOUR);
      // An approval 50 min before waking (retained, out of window), on lane 1.
      const old = await g1.begin({ amount: 5_000, currency: 'CNY', card: { token: 'tok_atk8_old' } });
      await g1.settle(old.attempt!.id, { status: 'approved' });
      await time.advance(45 * MIN);
      // Approved 5 min before waking (inside window); begun 30 s before waking (in flight).
      const approved = await g1.begin({ amount: 2_000, currency: 'CNY', card: { token: 'tok_atk8_appr' } });
      await g1.settle(approved.attempt!.id, { status: 'approved' });
      await time.advance(270 * SEC);
      const pending = await g1.begin({ amount: 3_000, currency: 'CNY', card: { token: 'tok_atk8_pend' } });
      expect(pending.verdict).toBe('allow');
      await time.advance(30 * SEC);
      tablet.wake();
      db.reconnect('T2');
      // The old record settled (an external refund) while the catch-up pins the flood.
      const refund = g2.settle(old.attempt!.id, { status: 'refunded', amount: 1_000 });
      await g2.begin({ amount: 3_000, currency: 'CNY', card: { token: 'tok_atk8_pend' } }).catch(() => undefined);
      await flush();
      const [before] = await db.remote('observer').get('M1', [old.attempt!.id]);
      const settled = await refund;
      expect(settled.refunded).toBe(1_000);
      await time.advance(SEC);
      await flush();
      const [row] = await db.remote('observer').get('M1', [old.attempt!.id]);
      // createdAt, pendingSince and approvedAt are written back as they were: moved by nothing.
      expect([row!.record.createdAt, row!.record.pendingSince, row!.record.approvedAt]).toEqual([
        before!.record.createdAt,
        before!.record.pendingSince,
        before!.record.approvedAt,
      ]);
      const asMade = (await g1.get(old.attempt!.id))!;
      expect([row!.record.createdAt, row!.record.approvedAt]).toEqual([asMade.createdAt, asMade.approvedAt]);
      // The flood was read and pinned (swept at least twice).
      // In flight 31 s: IN_FLIGHT; 2 min 1 s after its begin: UNKNOWN_OUTCOME (by the database's clock).
      expect(codes(await g2.peek({ amount: 3_000, currency: 'CNY', card: { token: 'tok_atk8_pend' } }))).toContain('IN_FLIGHT');
      expect(codes(await g2.peek({ amount: 2_000, currency: 'CNY', card: { token: 'tok_atk8_appr' } }))).toEqual(['DUPLICATE_CHARGE']);
      await time.advance(88 * SEC);
      await flush();
      expect(codes(await g2.peek({ amount: 3_000, currency: 'CNY', card: { token: 'tok_atk8_pend' } }))).toContain('IN_FLIGHT');
      await time.advance(2 * SEC);
      await flush();
      const late = codes(await g2.peek({ amount: 3_000, currency: 'CNY', card: { token: 'tok_atk8_pend' } }));
      expect(late).toContain('UNKNOWN_OUTCOME');
      expect(late).not.toContain('IN_FLIGHT');
      // The approval leaves the window 10 min after it was made, not later nor earlier.
      await time.advance(200 * SEC); // 591 s after the approval
      await flush();
      expect(codes(await g2.peek({ amount: 2_000, currency: 'CNY', card: { token: 'tok_atk8_appr' } }))).toEqual(['DUPLICATE_CHARGE']);
      await time.advance(11 * SEC); // 602 s
      await flush();
      expect(codes(await g2.peek({ amount: 2_000, currency: 'CNY', card: { token: 'tok_atk8_appr' } }))).toEqual([]);
    },
    120_000,
  );
});
