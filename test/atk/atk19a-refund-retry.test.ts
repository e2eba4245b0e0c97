/**
 * atk19a: double taps and a refund retried after a "system error" on a fileStore guard.
 */
import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { fileStore, type FileStore } from '../../src/node.js';
import { virtualTime } from '../../src/testing.js';
import { VISA, MASTERCARD } from '../helpers/guard.js';
import { brokenDisk } from '../helpers/broken-disk.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk19a-refund-secret-0123456789abcdef';
const START = Date.parse('2026-03-01T09:00:00Z');
const { tempFile, keep } = scratch('atk19a-refund-retry-');

async function setup(extra: Record<string, unknown> = {}) {
  const path = tempFile();
  const time = virtualTime(START);
  const { disk, fs } = brokenDisk();
  const stores: FileStore[] = [];
  const make = async (more: Record<string, unknown> = {}) => {
    const store = fileStore(path, { fs });
    stores.push(store);
    const g = await createGuard({
      merchantId: 'M1',
      secret: SECRET,
      store,
      clock: time.clock,
      scheduler: time.scheduler,
      authorize: async () => true,
      ...extra,
      ...more,
    });
    keep(g);
    return g;
  };
  return { path, time, disk, make, stores };
}
const sale = (amount = 1_000, pan = VISA) => ({ amount, currency: 'CNY', card: { pan } });
async function all<T>(ps: Promise<T>[]): Promise<(T | Error)[]> {
  return Promise.all(ps.map((p) => p.catch((e: unknown) => e as Error)));
}

describe('atk19a: refunds tapped twice or retried on a fileStore guard (holds)', () => {
  it('two refunds of one sale at once (600 + 600 of 1 000, two cards): one allow, one block', async () => {
    const { make } = await setup();
    const g = await make();
    const s = await g.begin(sale());
    await s.attempt!.approve();
    const rs = await all([
      g.begin({ ...sale(600), kind: 'refund', refundOf: s.attempt!.id }),
      g.begin({ ...sale(600, MASTERCARD), kind: 'refund', refundOf: s.attempt!.id }),
    ]);
    expect(rs.map((r) => (r instanceof Error ? r.name : r.verdict)).sort()).toEqual(['allow', 'block']);
  });

  it('an outside refund settled twice at once with one processorRef, then again after a compaction and a restart: counted once', async () => {
    const { make, stores, time } = await setup();
    const g = await make();
    const s = await g.begin(sale());
    await s.attempt!.approve();
    const outside = { status: 'refunded', amount: 300, processorRef: 'RF-1' } as const;
    const rs = await all([g.settle(s.attempt!.id, outside), g.settle(s.attempt!.id, outside)]);
    expect(rs.every((r) => !(r instanceof Error) && r.refunded === 300)).toBe(true);
    await time.advance(60 * 60_000);
    for (let i = 0; i < 3; i++) await (await g.begin(sale(50 + i))).attempt!.approve();
    await stores[0]!.compact();
    const g2 = await make();
    expect((await g2.settle(s.attempt!.id, outside)).refunded).toBe(300);
  });

  it('a refund whose settle to approved hit a disk error: its retry is blocked while the till runs and after a crash', async () => {
    const { make, disk, time } = await setup();
    const g = await make();
    const s = await g.begin(sale());
    await s.attempt!.approve();
    const r1 = await g.begin({ ...sale(), kind: 'refund', refundOf: s.attempt!.id });
    disk.broken = true;
    await g.settle(r1.attempt!.id, { status: 'approved' });
    disk.broken = false;
    await time.advance(1_000);
    expect((await g.begin({ ...sale(1_000, MASTERCARD), kind: 'refund', refundOf: s.attempt!.id })).verdict).toBe('block');
    const g2 = await make();
    expect((await g2.begin({ ...sale(1_000, MASTERCARD), kind: 'refund', refundOf: s.attempt!.id })).verdict).toBe('block');
  });
});
