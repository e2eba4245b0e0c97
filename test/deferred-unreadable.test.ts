import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOAD_DEFERRED } from '../src/deferred.js';
import { createGuard, memoryStore, type AttemptRecord, type Guard } from '../src/index.js';
import { fileStore } from '../src/node.js';
import { replay } from './helpers/deferred-file.js';
import { withDecode } from './helpers/deferred.js';
import { HOUR, MASTERCARD, ManualClock, SECRET, sale } from './helpers/guard.js';

/*
 * An unreadable deferred record is reported to storage-error listeners, and
 * a listener may read the guard at once (guard.get and guard.attempts run
 * synchronously up to their first await). It once heard of the record
 * before the index had marked it dropped: the same record was taken twice,
 * the index let go of the store's other deferred records, and a paid order
 * could be paid again. The report now comes after the index operation.
 */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pdg-unreadable-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function paid(guard: Guard, patch: Parameters<typeof sale>[0]): Promise<AttemptRecord> {
  const { attempt } = await guard.begin(sale(patch));
  if (!attempt) throw new Error('expected an allow');
  return attempt.approve({ authCode: 'A1' });
}

/** Two approved sales on two orders, written by a real file store; then a store handing the file over deferred, with `unreadable`'s line failing to decode. */
async function setup() {
  const clock = new ManualClock();
  const file = join(dir, 'guard.jsonl');
  const probe = await createGuard({ merchantId: 'M-0001', secret: SECRET, store: fileStore(file), clock });
  const a = await paid(probe, { orderId: 'O-1', amount: 100 });
  const b = await paid(probe, { orderId: 'O-2', amount: 200, card: { pan: MASTERCARD } });
  await probe.close();
  const { live, meta } = replay(await readFile(file));
  const columns = live.deferred;
  const broken = withDecode(columns, (slot) => {
    const record = columns.decode(slot);
    if (record.id === a.id) throw new SyntaxError('Unexpected token in JSON');
    return record;
  });
  const store = Object.assign(memoryStore(), { [LOAD_DEFERRED]: async () => ({ records: live.records, deferred: broken }) });
  await store.setMeta('keyCheck', meta.get('keyCheck') as string);
  clock.advance(2 * HOUR);
  // Both sales are past their window: both stay deferred at start-up.
  const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store, clock: clock.afterRestart() });
  return { guard, a, b };
}

describe('an unreadable deferred record reported to a listener that reads the guard', () => {
  it('a paid order stays paid when a storage-error listener looks the dropped record up', async () => {
    const { guard, a, b } = await setup();
    let reads = 0;
    // E.g. an app that, on a storage error, shows what it can of the attempt concerned.
    guard.on('storage-error', () => {
      if (reads++ === 0) void guard.get(a.id).catch(() => undefined);
    });
    expect(await guard.get(a.id)).toBeUndefined();
    // b was readable and untouched: it must still be found, and its order still paid.
    expect((await guard.get(b.id))?.status).toBe('approved');
    const repeat = await guard.peek(sale({ orderId: 'O-2', amount: 200 }));
    expect(repeat.reasons.map((r) => r.code)).toEqual(['ORDER_SAME_AMOUNT']);
    await guard.close();
  });

  it('one unreadable record is reported once, and later lookups do not throw, when a listener refreshes the attempt list', async () => {
    const { guard, a } = await setup();
    const reported: unknown[] = [];
    guard.on('storage-error', (event) => {
      reported.push(event);
      // E.g. a till UI refreshing its "needs reconciling" list on any storage error.
      if (reported.length === 1) void guard.attempts({ status: 'unknown' }).catch(() => undefined);
    });
    expect(await guard.get(a.id)).toBeUndefined();
    expect(reported).toHaveLength(1);
    // A refund of an id the store never had: REFUND_ORIGINAL_NOT_FOUND, not a TypeError from a released source.
    const refund = await guard.peek(sale({ kind: 'refund', amount: 100, refundOf: 'pdg_not-there' }));
    expect(refund.reasons.map((r) => r.code)).toEqual(['REFUND_ORIGINAL_NOT_FOUND']);
    await guard.close();
  });
});
