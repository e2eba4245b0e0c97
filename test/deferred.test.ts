import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOAD_DEFERRED } from '../src/deferred.js';
import { createGuard, memoryStore, type AttemptRecord, type Guard, type GuardEvent, type JournalEntry } from '../src/index.js';
import { replay } from './helpers/deferred-file.js';
import { withDecode } from './helpers/deferred.js';
import { fileStore } from '../src/node.js';
import { DAY, HOUR, MINUTE, ManualClock, SECRET, flush as flushWrites, recordEvents, sale } from './helpers/guard.js';

/*
 * Start-up over a file store defers every settled record past its window
 * (src/deferred.ts): it stays in the file's columns until something reads
 * it. These tests restart a guard over a real file so that the records
 * they then touch are deferred ones, and check every way in: refunds, order
 * rules, settle, get, attempts, pruning, a secret reset.
 */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pdg-deferred-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Till {
  guard: Guard;
  clock: ManualClock;
  events: GuardEvent[];
}

async function open(clock: ManualClock, options: { retention?: string; resetOnSecretChange?: boolean; secret?: string } = {}): Promise<Till> {
  const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, ...options, store: fileStore(join(dir, 'guard.jsonl')), clock });
  return { guard, clock, events: recordEvents(guard) };
}

/** Close (writes land) and open a new guard over the same file, `after` ms later. */
async function restart(till: Till, after: number, options: Parameters<typeof open>[1] = {}): Promise<Till> {
  await till.guard.close();
  till.clock.advance(after);
  return open(till.clock.afterRestart(), options);
}

async function approvedSale(till: Till, patch: Parameters<typeof sale>[0] = {}): Promise<AttemptRecord> {
  const decision = await till.guard.begin(sale(patch));
  const { attempt } = decision;
  if (!attempt) throw new Error(`expected the sale to be allowed: ${JSON.stringify(decision.reasons)}`);
  return attempt.approve({ authCode: 'A1', processorRef: 'P-1' });
}

/** The ids in the file, read by a store of their own (no guard, so nothing is pruned on the way). */
async function storedIds(): Promise<string[]> {
  const store = fileStore(join(dir, 'guard.jsonl'));
  const ids = (await store.load()).map((r) => r.id);
  await store.close();
  return ids;
}

/**
 * How many records the file store keeps, straight from a fresh store. (It
 * no longer hands records over deferred: it keeps history, read by id and
 * by order; which lines it leaves unparsed is tested in test/stores/file.)
 */
async function deferredCount(): Promise<number> {
  const store = fileStore(join(dir, 'guard.jsonl'));
  const kept = (await store.load()).length;
  await store.close();
  return kept;
}

describe('start-up over a file store, with settled records deferred', () => {
  it('defers settled sales past their window, and builds open ones and those inside it', async () => {
    let till = await open(new ManualClock());
    await approvedSale(till, { amount: 100 });
    const { attempt: declined } = await till.guard.begin(sale({ amount: 200 }));
    await declined?.decline({ code: '05' });
    till.clock.advance(HOUR);
    await approvedSale(till, { amount: 300 });
    await till.guard.begin(sale({ amount: 400 }));
    till = await restart(till, MINUTE);
    await till.guard.close();
    // The first two are settled and past the window; the third is approved a minute ago, the fourth still open.
    expect(await deferredCount()).toBe(4);
    till = await open(till.clock);
    expect((await till.guard.begin(sale({ amount: 300 }))).reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
    expect((await till.guard.begin(sale({ amount: 400 }))).reasons.map((r) => r.code)).toEqual(['UNKNOWN_OUTCOME']);
    // Past its window, the first sale is an ordinary repeat purchase.
    expect((await till.guard.begin(sale({ amount: 100 }))).verdict).toBe('allow');
  });

  it('finds a deferred original for a refund, caps it, and counts the refund on it', async () => {
    let till = await open(new ManualClock());
    const original = await approvedSale(till, { amount: 5000 });
    till = await restart(till, 2 * HOUR);

    const tooMuch = await till.guard.begin(sale({ kind: 'refund', amount: 6000, refundOf: original.id }));
    expect(tooMuch.reasons.map((r) => r.code)).toEqual(['REFUND_EXCEEDS_CHARGE']);
    const refund = await till.guard.begin(sale({ kind: 'refund', amount: 2000, refundOf: original.id }));
    expect(refund.verdict).toBe('allow');
    await refund.attempt?.approve();
    expect((await till.guard.get(original.id))?.refunded).toBe(2000);

    // And once more across a restart: the original is deferred again, with its refund counted.
    till = await restart(till, HOUR);
    expect((await till.guard.begin(sale({ kind: 'refund', amount: 3001, refundOf: original.id }))).reasons.map((r) => r.code)).toEqual(['REFUND_EXCEEDS_CHARGE']);
    expect((await till.guard.begin(sale({ kind: 'refund', amount: 3000, refundOf: original.id }))).verdict).toBe('allow');
  });

  it('a refund of an id the file never had is REFUND_ORIGINAL_NOT_FOUND', async () => {
    let till = await open(new ManualClock());
    await approvedSale(till);
    till = await restart(till, 2 * HOUR);
    expect((await till.guard.begin(sale({ kind: 'refund', amount: 100, refundOf: 'pdg_not-there' }))).reasons.map((r) => r.code)).toEqual(['REFUND_ORIGINAL_NOT_FOUND']);
  });

  it('finds a deferred order payment: ORDER_ALREADY_PAID and ORDER_SAME_AMOUNT across a restart', async () => {
    let till = await open(new ManualClock());
    await approvedSale(till, { orderId: 'ORD-7', orderTotal: 5000, amount: 5000 });
    await approvedSale(till, { orderId: 'ORD-8', amount: 1200, card: { pan: '5555 5555 5555 4444' } });
    till = await restart(till, 3 * HOUR);

    expect((await till.guard.begin(sale({ orderId: 'ORD-7', orderTotal: 5000, amount: 100 }))).reasons.map((r) => r.code)).toEqual(['ORDER_ALREADY_PAID']);
    expect((await till.guard.begin(sale({ orderId: 'ORD-8', amount: 1200 }))).reasons.map((r) => r.code)).toEqual(['ORDER_SAME_AMOUNT']);
    expect((await till.guard.begin(sale({ orderId: 'ORD-9', amount: 1200 }))).verdict).toBe('allow');
  });

  it('settles a deferred sale (a void hours later), and the void holds after another restart', async () => {
    let till = await open(new ManualClock());
    const paid = await approvedSale(till, { orderId: 'ORD-1' });
    till = await restart(till, 2 * HOUR);
    const voided = await till.guard.settle(paid.id, { status: 'voided' });
    expect(voided).toMatchObject({ id: paid.id, status: 'voided', authCode: 'A1', processorRef: 'P-1' });
    // A voided sale's order can be paid again.
    expect((await till.guard.begin(sale({ orderId: 'ORD-1' }))).verdict).toBe('allow');
    till = await restart(till, MINUTE);
    expect((await till.guard.get(paid.id))?.status).toBe('voided');
  });

  it('get() and attempts() return deferred records whole, as they were written', async () => {
    let till = await open(new ManualClock());
    const written = [await approvedSale(till, { amount: 111, orderId: 'O-1' }), await approvedSale(till, { amount: 222, terminalId: 'T-9' })];
    const { attempt } = await till.guard.begin(sale({ amount: 333 }));
    written.push(await (attempt as NonNullable<typeof attempt>).decline({ code: '51', message: 'insufficient funds' }));
    till = await restart(till, 2 * HOUR);
    // Filtered: deferred records whose status or kind cannot match are passed over, the others found.
    expect(await till.guard.attempts({ status: 'declined' })).toEqual([written[2]]);
    expect(await till.guard.attempts({ status: ['approved', 'unknown'], orderId: 'O-1' })).toEqual([written[0]]);
    expect(await till.guard.attempts({ kind: 'refund' })).toEqual([]);
    for (const record of written) expect(await till.guard.get(record.id)).toEqual(record);
    expect((await till.guard.attempts()).sort((a, b) => a.amount - b.amount)).toEqual(written);
  });

  it('prunes deferred records past retention at start-up, journals it and deletes them from the file', async () => {
    let till = await open(new ManualClock(), { retention: '2h' });
    const old = await approvedSale(till, { amount: 100 });
    till.clock.advance(HOUR);
    const recent = await approvedSale(till, { amount: 200 });
    // Past the old sale's retention, inside the recent one's: only the old one goes, at start-up.
    till = await restart(till, 90 * MINUTE, { retention: '2h' });
    expect(await till.guard.get(old.id)).toBeUndefined();
    expect(await till.guard.get(recent.id)).toEqual(recent);
    await till.guard.close();
    // The delete was written: the file itself no longer has the old sale.
    expect(await storedIds()).toEqual([recent.id]);
    const journal = (await readFile(join(dir, 'guard.jsonl.journal'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as JournalEntry);
    expect(journal.filter((e) => e.type === 'start').map((e) => /pruned (\d+)/.exec(e.detail ?? '')?.[1])).toEqual(['0', '1']);
  });

  it('prunes deferred records as they expire while the guard runs', async () => {
    let till = await open(new ManualClock(), { retention: '2h' });
    const first = await approvedSale(till, { amount: 100 });
    await till.guard.close();
    // (A second store on the path fences the guard's: count with the guard closed.)
    expect(await deferredCount()).toBe(1);
    till.clock.advance(HOUR);
    till = await open(till.clock.afterRestart(), { retention: '2h' });
    till.clock.advance(HOUR + 1);
    const next = await approvedSale(till, { amount: 999 });
    expect(await till.guard.get(first.id)).toBeUndefined();
    expect((await till.guard.attempts()).map((r) => r.id)).toEqual([next.id]);
    await till.guard.close();
    expect(await storedIds()).toEqual([next.id]);
  });

  it('with resetOnSecretChange, deletes deferred records too', async () => {
    let till = await open(new ManualClock());
    await approvedSale(till);
    await approvedSale(till, { amount: 2 });
    till = await restart(till, 2 * HOUR, { secret: 'another-secret-0123456789abcdef', resetOnSecretChange: true });
    expect(await till.guard.attempts()).toEqual([]);
    till = await restart(till, 0, { secret: 'another-secret-0123456789abcdef' });
    expect(await till.guard.attempts()).toEqual([]);
  });

  it("a store's load() still returns every record built, the same as the deferred ones decode to", async () => {
    let till = await open(new ManualClock());
    const written = [await approvedSale(till, { amount: 1 }), await approvedSale(till, { amount: 2 })];
    till = await restart(till, 2 * HOUR);
    await till.guard.close();
    const store = fileStore(join(dir, 'guard.jsonl'));
    expect(await Promise.all(written.map((record) => store.get(record.id)))).toEqual(written);
    expect((await store.load()).sort((a, b) => a.amount - b.amount)).toEqual(written);
    await store.close();
  });
});

describe('deferred start-up, at scale', () => {
  it('a day of sales comes back deferred and every one is found by id and by order', async () => {
    let till = await open(new ManualClock());
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      ids.push((await approvedSale(till, { amount: 100 + i, orderId: `ORD-${i}` })).id);
      till.clock.advance(4 * MINUTE);
    }
    // 200 sales 4 minutes apart, then a night: all inside retention, all past their window.
    await till.guard.close();
    expect(await deferredCount()).toBe(200);
    till.clock.advance(DAY / 4);
    till = await open(till.clock.afterRestart());
    for (const [i, id] of ids.entries()) expect((await till.guard.get(id))?.amount).toBe(100 + i);
    for (let i = 0; i < 200; i += 37) {
      expect((await till.guard.begin(sale({ amount: 100 + i, orderId: `ORD-${i}`, card: { pan: '5555 5555 5555 4444' } }))).reasons.map((r) => r.code)).toEqual(['ORDER_SAME_AMOUNT']);
    }
  });
});

describe('a deferred record that cannot be built', () => {
  /** A store handing over this test's file as the file store does, except that `unreadable`'s line fails to decode. */
  async function storeWithUnreadable(unreadable: string) {
    const { live, meta } = replay(await readFile(join(dir, 'guard.jsonl')));
    const columns = live.deferred;
    const broken = withDecode(columns, (slot) => {
      const record = columns.decode(slot);
      if (record.id === unreadable) throw new SyntaxError('Unexpected token in JSON');
      return record;
    });
    const store = Object.assign(memoryStore(), { [LOAD_DEFERRED]: async () => ({ records: live.records, deferred: broken }) });
    await store.setMeta('keyCheck', meta.get('keyCheck') as string);
    return store;
  }

  it('is dropped, reported as a storage-error event and in the journal, and decisions go on', async () => {
    const clock = new ManualClock();
    // Two settled sales on one order, written as a file store writes them; the first one's line then proves unreadable.
    const probe = await open(clock);
    const paid = [await approvedSale(probe, { orderId: 'O-1', amount: 100 }), await approvedSale(probe, { orderId: 'O-1', amount: 200, card: { pan: '5555 5555 5555 4444' } })];
    await probe.guard.close();
    const store = await storeWithUnreadable(paid[0]?.id as string);
    clock.advance(2 * HOUR);
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock: clock.afterRestart() });
    const events = recordEvents(guard);

    // The order rule still finds the readable payment; the other is gone.
    const repeat = await guard.peek(sale({ orderId: 'O-1', amount: 200 }));
    expect(repeat.reasons.map((r) => r.code)).toEqual(['ORDER_SAME_AMOUNT']);
    expect(await guard.get(paid[0]?.id as string)).toBeUndefined();
    expect(events.filter((e) => e.type === 'storage-error')).toEqual([expect.objectContaining({ operation: 'load', error: expect.objectContaining({ name: 'GuardStorageError', code: 'READ_FAILED' }) })]);
    await flushWrites();
    expect(store.journal().filter((e) => e.type === 'prune')).toEqual([expect.objectContaining({ detail: expect.stringContaining('Unexpected token') })]);
    expect((await guard.attempts()).map((r) => r.id)).toEqual([paid[1]?.id]);
    await guard.close();
  });

  it('an open one is dropped at start-up: the guard starts, and counts no crash recovery for it', async () => {
    const clock = new ManualClock();
    const probe = await open(clock);
    const { attempt } = await probe.guard.begin(sale());
    await probe.guard.close();
    const store = await storeWithUnreadable(attempt?.id as string);
    clock.advance(MINUTE);
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock: clock.afterRestart() });
    expect(await guard.attempts()).toEqual([]);
    await flushWrites();
    expect(store.journal().find((e) => e.type === 'start')?.detail).toMatch(/in-flight at crash 0/);
    await guard.close();
  });
});
