import * as nodeFs from 'node:fs/promises';
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GuardStorageError } from '../../../src/errors.js';
import { fileStore, type FileStore, type FileStoreFs } from '../../../src/node.js';
import { createGuard } from '../../../src/index.js';
import { HOUR, ManualClock, SECRET, VISA, sale } from '../../helpers/guard.js';
import { sampleRecord } from '../../helpers/records.js';
import { v2Header, v2Line } from '../../helpers/file-formats.js';

/*
 * Adversarial pins for the format-3 file store (snapshot + log): what an
 * unlucky till does to it. FINDING blocks fail on the code they were
 * written against; `holds:` blocks pin edges that already hold.
 */
let dir: string;
let path: string;
const stores: FileStore[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pdg-attack-'));
  path = join(dir, 'guard.jsonl');
});
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});
const open = (options: Parameters<typeof fileStore>[1] = {}): FileStore => {
  const store = fileStore(path, { journal: false, ...options });
  stores.push(store);
  return store;
};
const T0 = 1_767_225_600_000;
/** A settled (cold) sale. */
const cold = (id: string, minute = 0, patch = {}) =>
  sampleRecord(id, { status: 'approved', approvedAt: T0, authCode: 'A1', updatedAt: T0 + minute * 60_000, ...patch });

const enospc = () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));

const guardOver = (store: FileStore, clock: ManualClock, merchantId = 'M-0001') =>
  createGuard({ merchantId, secret: SECRET, store, clock, window: '10m' });
/** A file of ten settled records in a snapshot (cold), with its last `cut` bytes cut off: the last cold lines are torn away. */
async function truncatedSnapshot(cut = 10): Promise<void> {
  const a = open();
  await a.load();
  for (let i = 0; i < 10; i++) await a.put(cold(`c${i}`, i));
  await a.compact();
  await a.close();
  await truncate(path, (await stat(path)).size - cut);
}

describe('FINDING 1: a snapshot whose cold part was cut short is trusted again once the log grows past its extents', () => {
  // file.ts #replayFile trusts the header's snapshot whenever
  // `coldAt + snapshot.cold <= size`. A truncated file fails that once, is
  // read whole, its torn cold line cut off, and writes go on after the stale
  // header. Once they pass the size the header claims, the next open takes
  // the appended log lines for cold lines: they are never replayed, and the
  // torn record's offset now points at one of them.
  it('an acknowledged put written after the truncated snapshot survives a restart', async () => {
    await truncatedSnapshot();
    const b = open();
    await b.load();
    expect(b.warnings().join('\n')).toMatch(/torn last line/);
    for (let i = 0; i < 10; i++) await b.put(cold(`n${i}`, 100 + i));
    await b.close();
    const c = open();
    await c.load();
    for (let i = 0; i < 10; i++) expect((await c.get(`n${i}`))?.id).toBe(`n${i}`);
  });

  it('get of the torn cold record does not hand back another record', async () => {
    await truncatedSnapshot();
    const b = open();
    await b.load();
    for (let i = 0; i < 10; i++) await b.put(cold(`n${i}`, 100 + i));
    await b.close();
    const c = open();
    await c.load();
    const got = await c.get('c9').catch((error: unknown) => error);
    // Gone (it was torn) or a READ_FAILED: never the record of another id.
    if (got instanceof GuardStorageError) expect(got.code).toBe('READ_FAILED');
    else expect(got).toBeUndefined();
  });

  it('through a guard: a sale paid after the cut-short file was reopened is not paid again after a restart', async () => {
    await truncatedSnapshot(2000); // about five cold lines
    const clock = new ManualClock();
    let store = open();
    let guard = await guardOver(store, clock);
    const paid = await guard.begin(sale({ orderId: 'ORD-9', amount: 5000, card: { pan: VISA } }));
    await paid.attempt?.approve({ authCode: 'A9' });
    // The till goes on selling: the log grows past the size the stale header claims.
    for (let i = 1; i <= 4; i++) {
      clock.advance(60_000);
      const next = await guard.begin(sale({ orderId: `ORD-${10 + i}`, amount: 100 * i, card: { pan: VISA } }));
      await next.attempt?.approve({ authCode: `B${i}` });
    }
    clock.advance(60_000);
    await guard.close();
    store = open();
    guard = await guardOver(store, clock.afterRestart());
    const again = await guard.peek(sale({ orderId: 'ORD-9', amount: 5000, card: { pan: VISA } }));
    expect(again.reasons.map((r) => r.code)).toContain('ORDER_ALREADY_PAID');
    await guard.close();
  });
});

describe("FINDING 2: a lazy reopen after a failed post-compaction open puts the old file's handle back", () => {
  // Once: after a compaction whose reopen of the new file failed, a read
  // reopened it lazily, and one whose open resolved after a second
  // compaction's rename put a handle on the renamed-away inode back: later
  // puts were fsynced there. A compaction now keeps the handle that wrote
  // the new file and opens nothing after the rename; opens of the path that
  // fail or are slow (below) must still leave every acknowledged put in the
  // file the path names.
  it('a put acknowledged after the compactions is in the file the path names', async () => {
    const knobs = { failNext: false, gate: undefined as Promise<void> | undefined };
    const fs = {
      ...nodeFs,
      open: async (p: string, flags: string, mode?: number) => {
        if (p === path && flags === 'r+') {
          if (knobs.failNext) {
            knobs.failNext = false;
            throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
          }
          const gate = knobs.gate;
          knobs.gate = undefined;
          const handle = await nodeFs.open(p, flags, mode);
          if (gate) await gate; // a slow open: it resolves after the next compaction
          return handle;
        }
        return nodeFs.open(p, flags, mode);
      },
    } as unknown as FileStoreFs;
    const a = open({ fs });
    await a.load();
    for (let i = 0; i < 5; i++) await a.put(cold(`c${i}`, i));
    knobs.failNext = true;
    await a.compact();
    expect(a.warnings().join('\n')).not.toMatch(/compaction failed/);
    let release!: () => void;
    knobs.gate = new Promise<void>((r) => (release = r));
    const got = a.get('c0');
    await new Promise((r) => setImmediate(r));
    await a.compact();
    release();
    expect((await got)?.id).toBe('c0');
    await a.put(cold('z', 9)); // acknowledged: fsynced
    await a.close();
    const b = open();
    await b.load();
    expect((await b.get('z'))?.id).toBe('z');
  });
});

describe("FINDING 3: a failed directory fsync after compaction's rename is only a warning", () => {
  // #compact: `syncDirectory(...).catch(warn)`. Until the directory is
  // synced the rename may not survive a power cut, and the path would name
  // the old file again; yet the next put is appended to the new inode and
  // acknowledged. Nothing retries the directory fsync.
  it('the next put does not resolve before the directory has been fsynced', async () => {
    let failDir = false;
    const dirSyncs: string[] = [];
    const fs = {
      ...nodeFs,
      open: async (p: string, flags: string, mode?: number) => {
        const handle = await nodeFs.open(p, flags, mode);
        if (p === dir) {
          const sync = handle.sync.bind(handle);
          (handle as { sync: () => Promise<void> }).sync = async () => {
            dirSyncs.push(failDir ? 'fail' : 'ok');
            if (failDir) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
            return sync();
          };
        }
        return handle;
      },
    } as unknown as FileStoreFs;
    const a = open({ fs });
    await a.load();
    await a.put(cold('x', 1));
    dirSyncs.length = 0;
    failDir = true;
    await a.compact();
    failDir = false;
    expect(dirSyncs).toEqual(['fail']);
    await a.put(cold('y', 2));
    expect(dirSyncs).toContain('ok');
  });
});

describe('FINDING 4: byOrder hands back records of another order whose key collides', () => {
  // orderKey is `order NUL merchantId NUL orderId` (claims.ts) and neither
  // field bans NUL (sale.ts idText), so merchant "M" order "a\0b" and
  // merchant "M\0a" order "b" share a key; FileStoreImpl.byOrder filters the
  // records it read only by staysFiled, never by merchantId/orderId.
  it('byOrder(M, a\\0b) does not return the record of merchant M\\0a order b', async () => {
    const a = open();
    await a.load();
    await a.put(cold('x', 0, { merchantId: 'M', orderId: 'a\u0000b' }));
    await a.put(cold('y', 0, { merchantId: 'M\u0000a', orderId: 'b' }));
    await a.compact();
    expect((await a.byOrder('M', 'a\u0000b')).map((r) => r.id)).toEqual(['x']);
  });
});

describe('FINDING 5: with more than 2000 hot records making up a tenth of the file, every write rewrites the whole file', () => {
  // #shouldCompact: `#n.log > max(LOG_LINES, size * LOG_SHARE)`, and #compact
  // sets `#n.log = hot.length`: the hot records are copied to the start of
  // the new log, so a compaction cannot bring the log under the trigger.
  // Approved refunds are hot until retention prunes them: a returns-heavy
  // till with 2000+ of them (over a tenth of its records) rewrites, fsyncs
  // and renames the whole file after every put.
  it('twenty puts over 2100 approved refunds do not compact twenty times', async () => {
    let renames = 0;
    const fs = { ...nodeFs, rename: async (from: string, to: string) => (renames++, nodeFs.rename(from, to)) } as FileStoreFs;
    const a = open({ fs });
    await a.load();
    await Promise.all(
      Array.from({ length: 2100 }, (_, i) =>
        a.put(sampleRecord(`r${i}`, { kind: 'refund', refundOf: `s${i}`, status: 'approved', approvedAt: T0, authCode: 'R1' })),
      ),
    );
    const before = renames;
    for (let i = 0; i < 20; i++) await a.put(sampleRecord(`p${i}`));
    expect(renames - before).toBeLessThanOrEqual(1);
  });
});

describe('FINDING 6: a takeover whose open fails still fences the store that owned the file', () => {
  // #openOnce: `owners.set(path, this); await previous.#surrender()` runs
  // before anything that can fail (mkdir, lock, open). If the newer store's
  // open then fails (EMFILE, EACCES on a hot reload), its catch only removes
  // itself from `owners`: the older store stays fenced, and every write of
  // the guard that was working rejects TAKEN_OVER, with no store owning the file.
  it('the older store keeps writing after a newer one failed to open the file', async () => {
    const a = open();
    await a.load();
    await a.put(cold('x', 1));
    const failing = {
      ...nodeFs,
      open: async (p: string, flags: string, mode?: number) =>
        p === path
          ? Promise.reject(Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' }))
          : nodeFs.open(p, flags, mode),
    } as unknown as FileStoreFs;
    const b = open({ fs: failing });
    expect(await b.load().catch((error: unknown) => (error as GuardStorageError).code)).toBe('OPEN_FAILED');
    await expect(a.put(cold('y', 2))).resolves.toBeUndefined();
  });
});

describe('holds: prune racing a put of the same id', () => {
  it('a put in flight wins over a prune of its older version; a prune before a put is overtaken by it', async () => {
    const a = open();
    await a.load();
    await a.put(cold('x', 1));
    await a.put(cold('y', 1));
    const put = a.put(cold('x', 500, { authCode: 'B2' }));
    expect(await a.prune(T0 + 100 * 60_000)).toBe(1); // y only: x has a newer version on its way
    await put;
    expect((await a.get('x'))?.authCode).toBe('B2');
    expect(await a.get('y')).toBeUndefined();
    expect(await a.prune(T0 + 100 * 60_000)).toBe(0);
    const pruned = a.prune(T0 + 1000 * 60_000);
    const again = a.put(cold('x', 2000, { authCode: 'C3' }));
    expect(await pruned).toBe(1);
    await again;
    expect((await a.get('x'))?.authCode).toBe('C3');
    await a.compact();
    await a.close();
    const b = open();
    expect((await b.load()).map((r) => [r.id, r.authCode])).toEqual([['x', 'C3']]);
  });
});

describe('holds: file store edges', () => {
  it('hostile ids and orderIds (newline, quotes, U+2028, a lone surrogate, 200k chars, __proto__) through compaction and reopen', async () => {
    const ids = ['a\nb', 'q"\\', 'u\u2028\u2029', 'l'.repeat(200_000), '\ud800x', '__proto__'];
    const a = open();
    await a.load();
    for (const id of ids) await a.put(cold(id, 1, { orderId: id }));
    await a.put(sampleRecord('hot'));
    await a.compact();
    for (const id of ids) expect((await a.get(id))?.id).toBe(id);
    await a.close();
    const b = open();
    expect((await b.load({ since: T0 + HOUR })).map((r) => r.id)).toEqual(['hot']);
    for (const id of ids) expect((await b.get(id))?.id).toBe(id);
    for (const id of ids) expect((await b.byOrder('M-TEST', id)).map((r) => r.id)).toEqual([id]);
    expect(b.warnings()).toEqual([]);
  });

  it('cold gets racing a compaction and an in-process takeover read the right bytes or fail TAKEN_OVER', async () => {
    const a = open();
    await a.load();
    for (let i = 0; i < 50; i++) await a.put(cold(`c${i}`, i));
    await a.compact();
    for (let i = 0; i < 50; i++) await a.put(cold(`c${i}`, 100 + i, { authCode: 'B2' }));
    const before = Array.from({ length: 50 }, (_, i) => a.get(`c${i}`));
    const compaction = a.compact();
    const during = Array.from({ length: 50 }, (_, i) => a.get(`c${i}`));
    const b = open();
    const loaded = b.load();
    const takeover = Array.from({ length: 50 }, (_, i) => a.get(`c${i}`).catch((error: unknown) => error));
    expect((await Promise.all([...before, ...during])).map((r) => r?.authCode)).toEqual(Array(100).fill('B2'));
    await compaction.catch(() => undefined);
    await loaded;
    for (const r of await Promise.all(takeover)) {
      if (r instanceof GuardStorageError) expect(r.code).toBe('TAKEN_OVER');
      else expect((r as { authCode?: string } | undefined)?.authCode).toBe('B2');
    }
    for (let i = 0; i < 50; i++) expect((await b.get(`c${i}`))?.authCode).toBe('B2');
  });

  it('a clock set back: prune takes exactly the records last updated before, through a compaction', async () => {
    const a = open();
    await a.load();
    await a.put(cold('a', 100));
    await a.put(cold('b', 50));
    await a.put(cold('c', 200));
    await a.put(cold('b', 10));
    expect(await a.prune(T0 + 60 * 60_000)).toBe(1);
    expect(await a.get('b')).toBeUndefined();
    await a.compact();
    await a.put(cold('d', 5));
    expect(await a.prune(T0 + 150 * 60_000)).toBe(2);
    expect((await a.load()).map((r) => r.id)).toEqual(['c']);
  });

  it('a format 2 file with superseded lines and a delete, its migration rename failing, then written and reopened', async () => {
    await writeFile(
      path,
      [
        v2Header,
        v2Line(sampleRecord('a')),
        v2Line(cold('a', 1)),
        v2Line(cold('b', 2, { orderId: 'O1' })),
        JSON.stringify({ op: 'delete', id: 'a' }),
        v2Line(cold('c', 3, { orderId: 'O1' })),
        '',
      ].join('\n'),
    );
    const a = open({ fs: { ...nodeFs, rename: enospc } });
    expect((await a.load()).map((r) => r.id).sort()).toEqual(['b', 'c']);
    await a.put(cold('d', 4, { orderId: 'O1' }));
    await a.delete('b');
    await a.put(sampleRecord('e'));
    await a.close();
    const b = open();
    expect((await b.load()).map((r) => r.id).sort()).toEqual(['c', 'd', 'e']);
    expect((await b.byOrder('M-TEST', 'O1')).map((r) => r.id).sort()).toEqual(['c', 'd']);
    await b.compact();
    await b.close();
    const c = open();
    expect((await c.load()).map((r) => r.id).sort()).toEqual(['c', 'd', 'e']);
    expect(c.warnings()).toEqual([]);
  });

  it('puts racing a compaction whose tmp write fails (ENOSPC) are all on disk', async () => {
    let fail = false;
    const fs = {
      ...nodeFs,
      open: async (p: string, flags: string, mode?: number) => {
        const handle = await nodeFs.open(p, flags, mode);
        if (p.endsWith('.tmp') && fail) (handle as unknown as { writev: unknown }).writev = () => enospc();
        return handle;
      },
    } as unknown as FileStoreFs;
    const a = open({ fs });
    await a.load();
    for (let i = 0; i < 20; i++) await a.put(cold(`c${i}`, i));
    fail = true;
    const puts = Array.from({ length: 20 }, (_, i) => a.put(cold(`c${i}`, 50 + i, { authCode: 'B2' })));
    const compaction = a.compact();
    const more = Array.from({ length: 5 }, (_, i) => a.put(cold(`d${i}`, 80 + i)));
    await Promise.all([...puts, compaction, ...more]);
    expect(a.warnings().join('\n')).toMatch(/compaction failed/);
    fail = false;
    await a.compact();
    await a.close();
    const b = open();
    const all = await b.load();
    expect(all.length).toBe(25);
    expect(all.filter((r) => r.authCode === 'B2').length).toBe(20);
  });
});

describe('holds: through a guard', () => {
  it('sales gone cold and compacted still block a repeat of their order, bound refunds, and can be voided, across a restart', async () => {
    const clock = new ManualClock();
    let store = open();
    let guard = await guardOver(store, clock);
    const d = await guard.begin(sale({ orderId: 'ORD-7', amount: 5000, card: { pan: VISA } }));
    await d.attempt?.approve({ authCode: 'A1' });
    const paid = (d.attempt as { id: string }).id;
    const d2 = await guard.begin(sale({ amount: 700, card: { pan: VISA } }));
    await d2.attempt?.approve({ authCode: 'A2' });
    const other = (d2.attempt as { id: string }).id;
    clock.advance(2 * HOUR);
    await guard.peek(sale({ amount: 1 }));
    await store.compact();
    const codes = async (s: Parameters<typeof sale>[0], begin = false) =>
      (await (begin ? guard.begin(sale(s)) : guard.peek(sale(s)))).reasons.map((r) => r.code);
    expect(await codes({ orderId: 'ORD-7', amount: 5000, card: { pan: VISA } })).toContain('ORDER_ALREADY_PAID');
    expect(await codes({ kind: 'refund', refundOf: paid, amount: 6000 }, true)).toEqual(['REFUND_EXCEEDS_CHARGE']);
    const fits = await guard.begin(sale({ kind: 'refund', refundOf: paid, amount: 2000 }));
    await fits.attempt?.approve();
    await store.compact();
    clock.advance(2 * HOUR);
    await guard.close();
    store = open();
    guard = await guardOver(store, clock.afterRestart());
    await store.compact();
    expect(await guard.get(paid)).toMatchObject({ refunded: 2000 });
    expect(await codes({ orderId: 'ORD-7', amount: 5000, card: { pan: VISA } })).toContain('ORDER_ALREADY_PAID');
    expect(await codes({ kind: 'refund', refundOf: paid, amount: 3500 }, true)).toEqual(['REFUND_EXCEEDS_CHARGE']);
    expect(await guard.settle(other, { status: 'voided' })).toMatchObject({ status: 'voided' });
    await store.compact();
    expect((await store.get(other))?.status).toBe('voided');
    await guard.close();
  });

  it('a corrupt cold line makes a repeat of its order prompt STORAGE_UNAVAILABLE, and get reject READ_FAILED', async () => {
    const clock = new ManualClock();
    let store = open();
    let guard = await guardOver(store, clock);
    const d = await guard.begin(sale({ orderId: 'ORD-7', amount: 5000, card: { pan: VISA } }));
    await d.attempt?.approve({ authCode: 'A1' });
    clock.advance(2 * HOUR);
    await guard.peek(sale({ amount: 1 }));
    await store.compact();
    await guard.close();
    await writeFile(path, (await readFile(path, 'utf8')).replace('"status":"approved"', '"status":"approvex"'));
    store = open();
    guard = await guardOver(store, clock.afterRestart());
    const again = await guard.begin(sale({ orderId: 'ORD-7', amount: 5000, card: { pan: VISA } }));
    expect([again.verdict, again.reasons.map((r) => r.code)]).toEqual(['prompt', ['STORAGE_UNAVAILABLE']]);
    const got = await guard.get((d.attempt as { id: string }).id).catch((error: unknown) => error);
    expect(got).toBeInstanceOf(GuardStorageError);
    expect((got as GuardStorageError).code).toBe('READ_FAILED');
    await guard.close();
  });

  it('an id with NUL (which could join two keys into one) never reaches the store: the guard refuses it, recording nothing', async () => {
    const clock = new ManualClock();
    const store = open();
    const guard = await guardOver(store, clock, 'M');
    for (const ids of [{ orderId: 'a\u0000b' }, { merchantId: 'M\u0000a', orderId: 'b' }]) {
      await expect(guard.begin(sale({ merchantId: 'M', ...ids, amount: 5000, card: { pan: VISA } }))).rejects.toMatchObject({
        name: 'GuardInputError',
      });
    }
    expect(await store.load()).toEqual([]);
    await guard.close();
  });
});
