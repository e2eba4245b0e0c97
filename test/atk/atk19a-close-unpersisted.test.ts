/**
 * atk19a: what a guard holds in memory only because the disk failed
 * (ctx.unpersisted: "keep it in memory, retry on the next write") is dropped
 * by a clean `close()` once the disk is back, if no other write happened to
 * come first; and a `begin` (the next customer's write-ahead record) is not
 * such a write: only settles retry (src/guard/writes.ts persist, called from
 * settle.ts only). A till whose disk hiccups (USB/SD card reset, full disk
 * cleared by the operator), then is shut down for the night, restarts without
 * a refund it paid out, or a sale it charged: the retry is let through.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, type GuardOptions } from '../../src/index.js';
import { fileStore, type FileStore } from '../../src/node.js';
import { virtualTime } from '../../src/testing.js';
import { MASTERCARD, VISA } from '../helpers/guard.js';
import { brokenDisk } from '../helpers/broken-disk.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk19a-close-secret-0123456789abcdef';
const START = Date.parse('2026-03-01T09:00:00Z');
const { tempFile, keep } = scratch('atk19a-close-unpersisted-');

function till(options: Partial<GuardOptions> = {}) {
  const path = tempFile();
  const time = virtualTime(START);
  const { disk, fs } = brokenDisk();
  const open = async () => {
    const store: FileStore = fileStore(path, { fs });
    const g = await createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler, ...options });
    keep(g);
    return g;
  };
  return { time, disk, open };
}
const sale = (amount = 1_000, pan = VISA) => ({ amount, currency: 'CNY', card: { pan } });

describe('atk19a: what a failed write left in memory only is dropped by close(), and not retried by a begin', () => {
  it('a refund paid out while the disk failed (STORAGE_UNAVAILABLE confirmed), disk back, clean close, restart: a second full refund is blocked (REFUND_EXCEEDS_CHARGE)', async () => {
    const { time, disk, open } = till();
    const g = await open();
    const paid = await g.begin(sale());
    await paid.attempt!.approve();
    await time.advance(60 * 60_000);
    // "System error" at the till: the disk refuses the refund's write-ahead record; the cashier confirms.
    disk.broken = true;
    const prompt = await g.begin({ ...sale(1_000, MASTERCARD), kind: 'refund', refundOf: paid.attempt!.id });
    expect(prompt.reasons.map((r) => r.code)).toContain('STORAGE_UNAVAILABLE');
    const refund = await g.override(prompt, { operator: 'ann', reason: 'disk error, refund anyway' });
    expect(refund.verdict).toBe('allow');
    await refund.attempt!.approve(); // the processor paid the 1 000 back
    disk.broken = false;
    // While the guard runs it still knows (a retry now is blocked)…
    const retry = await g.begin({ ...sale(1_000, VISA), kind: 'refund', refundOf: paid.attempt!.id });
    expect(retry.verdict).toBe('block');
    // …and it is shut down cleanly for the night.
    await g.close();
    const next = await open();
    const again = await next.begin({ ...sale(1_000, VISA), kind: 'refund', refundOf: paid.attempt!.id });
    expect(again.verdict).toBe('block');
    expect(again.reasons.map((r) => r.code)).toContain('REFUND_EXCEEDS_CHARGE');
  });

  it('onStorageError allow: a sale charged while the disk failed, disk back, clean close, restart: the same sale again is not allowed silently (DUPLICATE_CHARGE)', async () => {
    const { disk, open } = till({ onStorageError: 'allow' });
    const g = await open();
    disk.broken = true;
    const first = await g.begin(sale());
    expect(first.verdict).toBe('allow');
    await first.attempt!.approve();
    disk.broken = false;
    await g.close();
    const next = await open();
    const again = await next.begin(sale());
    expect(again.verdict).not.toBe('allow');
    expect(again.reasons.map((r) => r.code)).toContain('DUPLICATE_CHARGE');
  });

  it('a settle to approved whose write failed, disk back, clean close, restart: the attempt reads approved, not unknown', async () => {
    const { disk, open } = till();
    const g = await open();
    const d = await g.begin(sale());
    disk.broken = true;
    await d.attempt!.approve();
    disk.broken = false;
    await g.close();
    const next = await open();
    expect((await next.get(d.attempt!.id))?.status).toBe('approved');
  });

  it('the next write after the disk is back is a begin (the next customer): what was held in memory goes out with it, so a crash after that begin does not lose the refund', async () => {
    const { time, disk, open } = till();
    const g = await open();
    const paid = await g.begin(sale());
    await paid.attempt!.approve();
    await time.advance(60 * 60_000);
    disk.broken = true;
    const prompt = await g.begin({ ...sale(1_000, MASTERCARD), kind: 'refund', refundOf: paid.attempt!.id });
    const refund = await g.override(prompt, { operator: 'ann', reason: 'disk error, refund anyway' });
    await refund.attempt!.approve();
    disk.broken = false;
    // The next customer: a begin whose write-ahead record is synced before it resolves.
    const next = await g.begin(sale(4_200));
    expect(next.verdict).toBe('allow');
    expect(next.reasons.map((r) => r.code)).not.toContain('STORAGE_UNAVAILABLE');
    // The till dies (no close); a new guard opens the file.
    const after = await open();
    const again = await after.begin({ ...sale(1_000, VISA), kind: 'refund', refundOf: paid.attempt!.id });
    expect(again.verdict).toBe('block');
  });
});
