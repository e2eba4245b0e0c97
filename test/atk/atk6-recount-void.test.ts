/**
 * atk6: recountRefund (src/guard/settle.ts, eb4bf19) counts a refund that was
 * voided meanwhile. A refund approved while cut off is sent by the catch-up;
 * the 'sent' change starts recountRefund, whose claim callback adopts the
 * related rows (the refund now voided by lane 1) and then calls
 * applyRefund(sale, requireRecord(refundId)) without checking the refund's
 * status again (only the memory copy read BEFORE the claim was checked to be
 * approved; applyRefund checks nothing about the refund's status). The
 * voided refund is listed on the sale (refunded 600 of 1000) and stays:
 * lane 1's void found nothing to revoke. A legitimate refund of 900 is then
 * REFUND_EXCEEDS_CHARGE. Wrong verdict (refunds blocked; sale's refunded
 * amount wrong in the shared DB). Control (void after the recount) holds.
 *
 * Fixed: the recount reads the refund as the claim found it (after adopting
 * what the database holds) and counts only an approved one.
 */
import { describe, expect, it } from 'vitest';
import type { Remote } from '../../src/shared/remote.js';
import { approvedOnTwoLanes, flush } from '../helpers/lanes.js';

const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);
const card = { token: 'tok_atk6_recount' };

describe('atk6: recountRefund and a refund voided on another lane meanwhile', () => {
  it('a refund voided before the recount claim does not count on its sale', async () => {
    let gate: Promise<void> | undefined;
    let release: () => void = () => undefined;
    const held: string[][] = [];
    const wrap = (remote: Remote): Remote =>
      new Proxy(remote, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (prop !== 'claim' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
          return async (...args: Parameters<Remote['claim']>) => {
            if (gate) {
              held.push([...args[2]]);
              const g = gate;
              gate = undefined;
              await g;
            }
            return (value as Remote['claim']).apply(target, args);
          };
        },
      });
    const { time, db, g1, g2, store2, saleId } = await approvedOnTwoLanes(card, wrap);
    db.disconnect('T2');
    const r2 = await g2.begin({ amount: 600, currency: 'CNY', card, kind: 'refund', refundOf: saleId });
    expect(r2.verdict).toBe('allow');
    await g2.settle(r2.attempt!.id, { status: 'approved' });
    await time.advance(1_000);
    gate = new Promise<void>((resolve) => (release = resolve));
    db.reconnect('T2');
    await store2.sync();
    await flush();
    // T2's recount claim is held; lane 1 voids the refund meanwhile.
    expect(held).toEqual([expect.arrayContaining([r2.attempt!.id, saleId])]);
    await g1.settle(r2.attempt!.id, { status: 'voided' });
    await flush();
    release();
    await flush();
    await time.advance(5_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [saleId]);
    expect(row!.record.refunded).toBe(0);
    const t1 = await g1.peek({ amount: 900, currency: 'CNY', card: { token: 'tok_atk6_o1' }, kind: 'refund', refundOf: saleId });
    expect(codes(t1)).toEqual([]);
  });
});
