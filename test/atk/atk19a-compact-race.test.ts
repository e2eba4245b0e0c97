/**
 * atk19a: fileStore compaction racing concurrent begins; two guards on one file.
 */
import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { virtualTime } from '../../src/testing.js';
import { VISA } from '../helpers/guard.js';
import { scratch } from '../helpers/scratch.js';
import { verifyJournal } from '../../src/index.js';
import { journalAnchors, readJournal } from '../../src/stores/file/journal-read.js';

async function verifyFile(path: string) {
  const { head, rotated, from } = await journalAnchors(path);
  const entries = [];
  for await (const e of readJournal(path)) entries.push(e);
  return verifyJournal(entries, { secret: SECRET, head, rotated, from });
}

const SECRET = 'atk19a-compact-secret-0123456789abcdef';
const START = Date.parse('2026-03-01T09:00:00Z');
const { tempFile, keep, fileGuard } = scratch('atk19a-compact-race-');
const sale = (amount = 1_000, pan = VISA) => ({ amount, currency: 'CNY', card: { pan } });
async function all<T>(ps: Promise<T>[]): Promise<(T | Error)[]> {
  return Promise.all(ps.map((p) => p.catch((e: unknown) => e as Error)));
}

describe('atk19a: compaction racing begins; two guards on one file (holds)', () => {
  it('50 concurrent begins (25 sales tapped twice) racing compactions: 25 allow, 25 block; after a crash all 25 are unknown and block; the journal verifies', async () => {
    const path = tempFile();
    const time = virtualTime(START);
    const store = fileStore(path, { compactAfter: { deadLines: 0, deadRatio: 0 } });
    const g = await createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler });
    keep(g);
    for (let i = 0; i < 30; i++) await (await g.begin(sale(100 + i))).attempt!.approve();
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      ops.push(g.begin(sale(5000 + (i % 25))));
      if (i % 10 === 0) ops.push(store.compact());
    }
    const rs = await all(ops);
    expect(rs.filter((r) => r instanceof Error)).toEqual([]);
    expect(rs.filter((r) => (r as { verdict?: string } | undefined)?.verdict === 'allow')).toHaveLength(25);
    expect(rs.filter((r) => (r as { verdict?: string } | undefined)?.verdict === 'block')).toHaveLength(25);
    const store2 = fileStore(path);
    const g2 = await createGuard({ merchantId: 'M1', secret: SECRET, store: store2, clock: time.clock, scheduler: time.scheduler });
    keep(g2);
    expect(await g2.attempts({ status: 'unknown' })).toHaveLength(25);
    const again = await all(Array.from({ length: 25 }, (_, i) => g2.begin(sale(5000 + i))));
    expect(again.every((r) => !(r instanceof Error) && r.verdict === 'block')).toBe(true);
    await g2.close();
    expect((await verifyFile(path)).ok).toBe(true);
  });

  it('a second guard takes the file over while the first has journal batches and settles in flight: the journal verifies (10 rounds)', async () => {
    for (let round = 0; round < 10; round++) {
      const path = tempFile();
      const time = virtualTime(START);
      const g = await fileGuard(path, time, { secret: SECRET });
      const ds = await Promise.all(Array.from({ length: 20 }, (_, i) => g.begin(sale(100 + i))));
      void Promise.all(ds.slice(0, 10).map((d) => d.attempt!.approve().catch(() => undefined)));
      const g2 = await fileGuard(path, time, { secret: SECRET });
      await Promise.all(ds.slice(10).map((d) => g.settle(d.attempt!.id, { status: 'declined' }).catch(() => undefined)));
      await g2.begin(sale(9999));
      await g.begin(sale(8888)).catch(() => undefined);
      await g2.close();
      await g.close().catch(() => undefined);
      expect(await verifyFile(path)).toMatchObject({ ok: true });
    }
  });
});
