import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGuard, type Guard } from '../../../src/index.js';
import { fileStore } from '../../../src/node.js';
import { HOUR, MASTERCARD, ManualClock, SECRET, VISA, sale } from '../../helpers/guard.js';

/*
 * Order rules after a restart over a file mostly of dead lines. The columns
 * then copy the live deferred lines into a buffer of their own; an order's
 * chain is matched by its head's bytes, and a dead head once kept offsets
 * into the old buffer, so the order matched nothing and a paid order could
 * be paid again. A dead head comes from the latest line on the order being
 * replaced by one the column reader refuses (a decline message with a quote
 * or a non-ASCII character, a refund list) or deleted.
 */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pdg-order-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open = (clock: ManualClock): Promise<Guard> =>
  createGuard({ merchantId: 'M-0001', secret: SECRET, store: fileStore(join(dir, 'guard.jsonl')), clock });

/**
 * A split payment on `orderId`: the first card pays 5000, the second is
 * declined with `message`; then a restart an hour later. Returns the guard
 * after the restart.
 */
async function paidThenDeclined(orderId: string, message: string): Promise<Guard> {
  const clock = new ManualClock();
  const guard = await open(clock);
  const paid = await guard.begin(sale({ amount: 5000, orderId, card: { pan: VISA } }));
  await paid.attempt?.approve({ authCode: 'A1' });
  const second = await guard.begin(sale({ amount: 3000, orderId, card: { pan: MASTERCARD } }));
  await second.attempt?.decline({ code: '51', message });
  await guard.close();
  clock.advance(HOUR);
  return open(clock.afterRestart());
}

describe('order rules over a deferred, copied-out file', () => {
  it('a repeat of a paid order is still ORDER_ALREADY_PAID after a restart when a later decline on the order was not ASCII', async () => {
    const guard = await paidThenDeclined('ORD-1', '余额不足 (insufficient funds)');
    // Before the restart this is ORDER_ALREADY_PAID (block); it must stay so.
    const repeat = await guard.peek(sale({ amount: 5000, orderId: 'ORD-1', card: { pan: VISA } }));
    expect(repeat.reasons.map((r) => r.code)).toContain('ORDER_ALREADY_PAID');
    expect(repeat.verdict).toBe('block');
    await guard.close();
  });

  it('same, when the decline message has a quote in it (an escape in the JSON line)', async () => {
    const guard = await paidThenDeclined('ORD-2', 'Do not honor "05"');
    const overpay = await guard.begin(sale({ amount: 5000, orderId: 'ORD-2', orderTotal: 8000, card: { pan: MASTERCARD } }));
    // 5000 already paid + 5000 > 8000: the overpay test must block.
    expect(overpay.reasons.map((r) => r.code)).toEqual(['ORDER_ALREADY_PAID']);
    await guard.close();
  });

  it('same, when the latest line on the order is a refunds-list update (refund of the second split payment)', async () => {
    const clock = new ManualClock();
    let guard = await open(clock);
    const first = await guard.begin(sale({ amount: 5000, orderId: 'ORD-3', card: { pan: VISA } }));
    await first.attempt?.approve();
    const second = await guard.begin(sale({ amount: 3000, orderId: 'ORD-3', card: { pan: MASTERCARD } }));
    const secondRecord = await second.attempt?.approve();
    // A partial refund of the second payment, through a refund attempt: its original gets a refunds list (parsed line).
    const refund = await guard.begin(sale({ kind: 'refund', amount: 1000, refundOf: secondRecord?.id, card: { pan: MASTERCARD } }));
    await refund.attempt?.approve();
    await guard.close();
    const text = await readFile(join(dir, 'guard.jsonl'), 'utf8');
    expect(text).toContain('"refunds"');
    clock.advance(HOUR);
    guard = await open(clock.afterRestart());
    const repeat = await guard.peek(sale({ amount: 5000, orderId: 'ORD-3', card: { pan: VISA } }));
    expect(repeat.reasons.map((r) => r.code)).toContain('ORDER_ALREADY_PAID');
    await guard.close();
  });
});
