/**
 * atk11: prune after 1a2addf (src/guard/prune.ts): the guard deletes a
 * settled record that retention let go only on a store without history;
 * a store with history (get, byOrder, prune) deletes it itself when asked.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type AttemptRecord, type Guard, type GuardStore } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { DAY, HOUR, MINUTE, ManualClock, SECRET, VISA, sale } from '../helpers/guard.js';

const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 5));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pdg-atk11-prune-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A custom store: attach, no history (no get / byOrder / prune), over a memoryStore it exposes. */
function attachOnly() {
  const inner = memoryStore();
  const attached: string[] = [];
  const store: GuardStore = {
    load: (scope) => inner.load(scope),
    put: (record) => inner.put(record),
    delete: (id) => inner.delete(id),
    getMeta: (key) => inner.getMeta(key),
    setMeta: (key, value) => inner.setMeta(key, value),
    appendJournal: (entry, seal) => inner.appendJournal(entry, seal),
    attach: (owner) => void attached.push(String(owner.merchantId)),
  };
  return { inner, store, attached };
}

describe('atk11: a custom store with attach but no history', () => {
  it('a settled sale past retention is deleted from the store, an approval inside retention stays', async () => {
    const { inner, store, attached } = attachOnly();
    const clock = new ManualClock();
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock, retention: '2h', window: '10m' });
    expect(attached).toEqual(['M-0001']);
    const old = await guard.begin(sale({ orderId: 'o-old' }));
    await old.attempt!.approve({ authCode: 'A1' });
    clock.advance(90 * MINUTE);
    const young = await guard.begin(sale({ amount: 999, orderId: 'o-young' }));
    await young.attempt!.approve({ authCode: 'A2' });
    clock.advance(31 * MINUTE);
    await guard.peek(sale({ amount: 5 }));
    await settle();
    expect(await inner.get!(old.attempt!.id)).toBeUndefined();
    expect((await inner.get!(young.attempt!.id))?.status).toBe('approved');
    // The young sale's order still counts: paid.
    expect(codes(await guard.peek(sale({ amount: 999, orderId: 'o-young', card: { pan: '5555 5555 5555 4444' } })))).toContain(
      'ORDER_SAME_AMOUNT',
    );
    await guard.close();
  });
});

describe('atk11: fileStore (history) and retention across a restart', () => {
  const open = (clock: ManualClock): Promise<Guard> =>
    createGuard({ merchantId: 'M-0001', secret: SECRET, store: fileStore(join(dir, 'g.jsonl')), clock, retention: '24h', window: '10m' });

  it('a refund of a sale past window (in history only) counts; the sale past retention is gone after a restart, not resurrected', async () => {
    const clock = new ManualClock();
    let guard = await open(clock);
    const s = await guard.begin(sale({ orderId: 'o-1' }));
    await s.attempt!.approve({ authCode: 'A1' });
    const saleId = s.attempt!.id;
    clock.advance(30 * MINUTE);
    await guard.peek(sale({ amount: 5 })); // the sale leaves memory (past window)
    const r = await guard.begin({ ...sale({ amount: 500 }), kind: 'refund', refundOf: saleId });
    expect(r.verdict).not.toBe('block');
    await r.attempt!.approve({ authCode: 'R1' });
    expect((await guard.get(saleId))?.refunded).toBe(500);
    const over = await guard.peek({ ...sale({ amount: 800 }), kind: 'refund', refundOf: saleId });
    expect(codes(over)).toContain('REFUND_EXCEEDS_CHARGE');
    // Past retention: a decision prunes (the history prune runs once a minute).
    clock.advance(DAY + HOUR);
    await guard.peek(sale({ amount: 5 }));
    clock.advance(2 * MINUTE);
    await guard.peek(sale({ amount: 6 }));
    await settle();
    await guard.close();
    const again = clock.afterRestart();
    guard = await open(again);
    expect(await guard.get(saleId)).toBeUndefined();
    const paidAgain = await guard.peek(sale({ orderId: 'o-1' }));
    expect(codes(paidAgain).filter((c) => c.startsWith('ORDER_'))).toEqual([]);
    await guard.close();
    // Closed and opened once more: still gone.
    guard = await open(again.afterRestart());
    expect(await guard.get(saleId)).toBeUndefined();
    await guard.close();
  });

  it('a sale approved just before a restart is a DUPLICATE_CHARGE after it; its refund is counted on it after it', async () => {
    const clock = new ManualClock();
    let guard = await open(clock);
    const s = await guard.begin(sale({ card: { pan: VISA } }));
    await s.attempt!.approve({ authCode: 'A1' });
    clock.advance(MINUTE);
    await guard.close();
    guard = await open(clock.afterRestart());
    expect(codes(await guard.peek(sale({ card: { pan: VISA } })))).toContain('DUPLICATE_CHARGE');
    clock.advance(20 * MINUTE);
    const r = await guard.begin({ ...sale({ amount: 1_250 }), kind: 'refund', refundOf: s.attempt!.id });
    await r.attempt!.approve({ authCode: 'R1' });
    await guard.close();
    guard = await open(clock.afterRestart());
    const record = (await guard.get(s.attempt!.id)) as AttemptRecord;
    expect([record.status, record.refunded]).toEqual(['refunded', 1_250]);
    await guard.close();
  });

  it('the wall clock jumps a day ahead and back: an approval inside window survives the history prune', async () => {
    const clock = new ManualClock();
    let guard = await open(clock);
    const s = await guard.begin(sale({ card: { pan: VISA }, orderId: 'o-jump' }));
    await s.attempt!.approve({ authCode: 'A1' });
    clock.advance(MINUTE);
    clock.jump(2 * DAY);
    await guard.peek(sale({ amount: 5 }));
    clock.advance(2 * MINUTE);
    await guard.peek(sale({ amount: 6 }));
    clock.jump(-2 * DAY);
    clock.advance(2 * MINUTE);
    await guard.peek(sale({ amount: 7 }));
    await settle();
    expect(codes(await guard.peek(sale({ card: { pan: VISA }, orderId: 'o-jump' })))).toContain('DUPLICATE_CHARGE');
    await guard.close();
    guard = await open(clock.afterRestart());
    expect((await guard.get(s.attempt!.id))?.status).toBe('approved');
    expect(codes(await guard.peek(sale({ card: { pan: '5555 5555 5555 4444' }, orderId: 'o-jump' })))).toContain('ORDER_SAME_AMOUNT');
    await guard.close();
  });
});
