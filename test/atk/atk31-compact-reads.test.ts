/**
 * atk31: reads in flight when the handle changes under them (b325d96: the
 * compaction's 'w+' handle goes on, the old one is closed after the switch;
 * a fenced store no longer reopens its file).
 */
import * as realFs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { fileStore, type FileStoreFs } from '../../src/node.js';
import { sampleRecord } from '../helpers/records.js';
import { scratch } from '../helpers/scratch.js';

const { tempFile } = scratch('atk31-compact-reads-');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An fs whose data-file handles' next `slow.reads` reads wait 150 ms first, and whose `datasync` waits `slow.sync` ms; `slow.inRead` counts reads under way. */
function slowDisk() {
  const slow = { reads: 0, sync: 0, inRead: 0 };
  const open = (async (...args: Parameters<typeof realFs.open>) => {
    const handle = await realFs.open(...args);
    if (!String(args[0]).endsWith('.jsonl') && !String(args[0]).endsWith('.tmp')) return handle;
    return new Proxy(handle, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return async (...a: unknown[]) => {
          const call = () => (value as (...x: unknown[]) => unknown).apply(target, a);
          if (property === 'datasync' && slow.sync > 0) await sleep(slow.sync);
          if (property !== 'read' || slow.reads <= 0) return call();
          slow.reads--;
          slow.inRead++;
          // Issued now (the position and handle are fixed), answered late.
          const result = call();
          await sleep(150);
          slow.inRead--;
          return result;
        };
      },
    });
  }) as FileStoreFs['open'];
  return { slow, fs: { ...realFs, open } as FileStoreFs };
}

describe('atk31: reads in flight across a handle switch (held)', () => {
  it('get()s issued before a compaction switches files, and still reading the old one when it is closed, resolve their records', async () => {
    const path = tempFile();
    const { slow, fs } = slowDisk();
    const store = fileStore(path, { fs, compactAfter: { deadLines: 1_000_000 } });
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    for (const id of ids) await store.put(sampleRecord(id, { status: 'approved' }));
    for (const id of ids) await store.put(sampleRecord(id, { status: 'approved', refunded: 1 }));
    slow.reads = ids.length;
    const reads = ids.map((id) => store.get(id));
    while (slow.inRead < ids.length) await sleep(1);
    // Compacted, switched and the old handle closed while those reads are still out.
    await store.compact();
    expect(slow.inRead).toBe(ids.length);
    const got = await Promise.all(reads);
    expect(got.map((record) => [record?.id, record?.refunded])).toEqual(ids.map((id) => [id, 1]));
    expect(await Promise.all(ids.map(async (id) => (await store.get(id))?.refunded))).toEqual(ids.map(() => 1));
    await store.close();
  });

  it('a load() waiting on a slow fsync when a reload fences the store resolves its records or says TAKEN_OVER, never READ_FAILED', async () => {
    const path = tempFile();
    const { slow, fs } = slowDisk();
    const running = fileStore(path, { fs });
    for (let i = 0; i < 5; i++) await running.put(sampleRecord(`r${i}`));
    slow.sync = 60;
    const writing = running.put(sampleRecord('slow'));
    const loading = running.load().then(
      (records) => records.length,
      (error: unknown) => (error as { code?: string }).code,
    );
    const reload = fileStore(path);
    const opened = reload.load();
    await writing;
    expect([6, 'TAKEN_OVER']).toContain(await loading);
    expect((await opened).map((record) => record.id).sort()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'slow']);
    await reload.close();
    await running.close();
  });

  it("a compaction whose new file's fsync fails leaves the store writing to the old file: every put acknowledged is there after a restart", async () => {
    const path = tempFile();
    const open = (async (...args: Parameters<typeof realFs.open>) => {
      const handle = await realFs.open(...args);
      if (!String(args[0]).endsWith('.tmp')) return handle;
      return new Proxy(handle, {
        get(target, property, receiver) {
          if (property === 'datasync') return () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
          const value: unknown = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? (value as (...x: unknown[]) => unknown).bind(target) : value;
        },
      });
    }) as FileStoreFs['open'];
    const store = fileStore(path, { fs: { ...realFs, open }, compactAfter: { deadLines: 1_000_000 } });
    for (let i = 0; i < 5; i++) await store.put(sampleRecord(`r${i}`));
    await store.compact();
    expect(store.warnings().join()).toMatch(/compaction failed/);
    await store.put(sampleRecord('after'));
    await store.close();
    const again = fileStore(path);
    expect((await again.load()).map((record) => record.id).sort()).toEqual(['after', 'r0', 'r1', 'r2', 'r3', 'r4']);
    await again.close();
  });
});
