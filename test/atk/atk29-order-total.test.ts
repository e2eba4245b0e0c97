/**
 * atk29: order rules and times on a Node till (fileStore) after refunds and
 * clock steps.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { virtualTime } from '../../src/testing.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk29-order-secret-0123456789abc';
const START = Date.parse('2026-03-01T09:00:00Z');
const HOUR = 3_600_000;
const { tempFile, keep } = scratch('atk29-order-');
const codes = (d: { reasons: { code: string }[] }) => d.reasons.map((r) => r.code);

async function open() {
  const time = virtualTime(START);
  const path = tempFile();
  const guard = keep(
    await createGuard({ merchantId: 'M1', secret: SECRET, store: fileStore(path), clock: time.clock, scheduler: time.scheduler }),
  );
  return { time, path, guard };
}

describe('atk29: order totals after a refund', () => {
  // What happens: table 7's bill is 100.00 (orderTotal 10000), paid in full on
  // card A. The guests split it: half is refunded to A (settle refunded
  // 5000), and the other half is to be paid on card B. The begin for B is a
  // block, ORDER_ALREADY_PAID ("approved sum + amount > orderTotal": 10000 +
  // 5000 > 10000), though only 50.00 of the order is paid: the 50.00 the
  // refund gave back is counted as still paid. A legitimate payment needs a
  // supervisor; a fully refunded sale, by contrast, counts 0 (it is
  // released), so the rule jumps from counting all of it to none.
  // Why: src/rules.ts:157 (`paid += r.amount`, not `r.amount - r.refunded`).
  it('a payment of what a partial refund gave back is not ORDER_ALREADY_PAID', async () => {
    const { time, guard } = await open();
    const order = { currency: 'CNY', orderId: 'T7', orderTotal: 10_000 };
    const first = await guard.begin({ ...order, amount: 10_000, card: { token: 'tok_card_A' } });
    await first.attempt!.approve({ authCode: 'A1' });
    await time.advance(60_000);
    await guard.settle(first.attempt!.id, { status: 'refunded', amount: 5_000 });
    const second = await guard.begin({ ...order, amount: 5_000, card: { token: 'tok_card_B' } });
    expect(codes(second)).not.toContain('ORDER_ALREADY_PAID');
    expect(second.verdict).toBe('allow');
  });

  // Held: the same order after a full refund, and an overpay of a partly refunded one, are judged as they should be.
  it('a full refund releases the order; paying more than the rest of the total is still ORDER_ALREADY_PAID', async () => {
    const { guard } = await open();
    const order = { currency: 'CNY', orderId: 'T8', orderTotal: 2_000 };
    const paid = await guard.begin({ ...order, amount: 2_000, card: { token: 'tok_card_C' } });
    await paid.attempt!.approve();
    const refund = await guard.begin({
      amount: 2_000,
      currency: 'CNY',
      card: { token: 'tok_card_C' },
      kind: 'refund',
      refundOf: paid.attempt!.id,
    });
    await refund.attempt!.approve();
    expect((await guard.get(paid.attempt!.id))?.status).toBe('refunded');
    const again = await guard.begin({ ...order, amount: 2_000, card: { token: 'tok_card_C' } });
    expect(again.verdict).toBe('allow');
    await again.attempt!.approve();
    const over = await guard.begin({ ...order, amount: 100, card: { token: 'tok_card_D' } });
    expect(codes(over)).toContain('ORDER_ALREADY_PAID');
  });
});

describe('atk29: persisted times are wall-clock times', () => {
  // Held: the wall clock set back an hour between begin and approve: the
  // approved line carries the wall clock's times (updatedAt, approvedAt an
  // hour before createdAt), not guard time.
  it('a clock set back between begin and settle: the file holds wall-clock updatedAt and approvedAt', async () => {
    const { time, path, guard } = await open();
    const charge = await guard.begin({ amount: 333, currency: 'CNY', card: { token: 'tok_card_E' } });
    time.jump(-HOUR);
    await time.advance(1_000);
    await charge.attempt!.approve();
    await guard.close();
    const versions = (await readFile(path, 'utf8'))
      .split('\n')
      .filter((line) => line.includes(charge.attempt!.id))
      .map((line) => JSON.parse(line) as { status: string; createdAt: number; updatedAt: number; approvedAt?: number });
    const approved = versions.find((v) => v.status === 'approved')!;
    expect(approved.createdAt).toBe(START);
    expect(approved.updatedAt).toBe(START - HOUR + 1_000);
    expect(approved.approvedAt).toBe(START - HOUR + 1_000);
  });
});
