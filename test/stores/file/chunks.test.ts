import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as realFs from 'node:fs/promises';
import { fileStore, type FileStoreFs } from '../../../src/node.js';
import { makeRecord } from '../../../src/record.js';
import { recordLine } from '../../../src/stores/file/jsonl.js';
import type { AttemptRecord } from '../../../src/types.js';

/*
 * Start-up reads the header line (its first 4 KiB), then exactly the front
 * the header's snapshot describes (meta, index and hot lines) and the log.
 * Long meta lines, so the index line starts on either side of 64 KiB, then
 * a corrupt line and a torn tail in the log: every record must load, from
 * hot lines, cold lines and the log, the warnings must give the right line
 * numbers, and opening must not read the cold lines.
 */
const PROBE = 64 << 10;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function record(i: number, status: AttemptRecord['status'] = 'approved'): AttemptRecord {
  return makeRecord({
    v: 1,
    id: `r${i}`,
    idempotencyKey: `r${i}`,
    fingerprint: `fp${i}`,
    status,
    kind: 'sale',
    amount: 100 + i,
    currency: 'CNY',
    merchantId: 'M-0001',
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000 + i,
    pendingSince: 1_700_000_000_000,
    refunded: 0,
    orderId: `O${i}`,
  });
}

/** Where the index line starts. */
const indexAt = (text: string) => text.indexOf('{"op":"index"');

describe('reading the front of a file across its first read', () => {
  for (const shift of [-2, -1, 0, 1, 200]) {
    it(`loads every record and numbers the corrupt line right when the index line starts at ${PROBE} ${shift >= 0 ? '+' : ''}${shift}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pdg-front-'));
      dirs.push(dir);
      const path = join(dir, 'guard.jsonl');
      const records = [...Array.from({ length: 300 }, (_, i) => record(i)), record(300, 'pending'), record(301, 'unknown')];
      // A meta value long enough to put the snapshot line where it is wanted, found by trying.
      let length = PROBE - 200;
      for (let tries = 0; tries < 6; tries++) {
        const store = fileStore(path);
        await store.setMeta('padding', 'p'.repeat(length));
        for (const r of records) await store.put(r);
        await store.compact();
        await store.close();
        const end = indexAt(readFileSync(path, 'utf8'));
        if (end === PROBE + shift) break;
        length += PROBE + shift - end;
      }
      const text = readFileSync(path, 'utf8');
      expect(indexAt(text)).toBe(PROBE + shift);
      // The log after the snapshot: a record, a corrupt line, a record, and a torn tail.
      const more = [record(302), record(7, 'voided')];
      appendFileSync(path, `${recordLine(more[0] as AttemptRecord)}\n{not json\n${recordLine(more[1] as AttemptRecord)}\n[1,"torn`);
      const corruptLine = text.split('\n').length + 1;

      // Opening reads the front and the log, not the cold lines.
      const reads: [number, number][] = [];
      const fs: FileStoreFs = {
        ...realFs,
        open: async (...args: Parameters<typeof realFs.open>) => {
          const handle = await realFs.open(...args);
          const read = handle.read.bind(handle) as (
            buffer: Buffer,
            offset: number,
            length: number,
            position: number,
          ) => Promise<{ bytesRead: number }>;
          return Object.assign(handle, {
            read: (b: Buffer, o: number, l: number, p: number) => (reads.push([p, p + l]), read(b, o, l, p)),
          });
        },
      };
      const store = fileStore(path, { fs });
      await store.getMeta('padding');
      const { snapshot } = JSON.parse(text.slice(0, text.indexOf('\n'))) as { snapshot: { index: number; hot: number; cold: number } };
      const coldAt = indexAt(text) + snapshot.index + snapshot.hot;
      expect(reads.filter(([from, to]) => from < coldAt + snapshot.cold && to > Math.max(coldAt, 4096))).toEqual([]);
      const expected = [...records.filter((r) => r.id !== 'r7'), ...more].sort((a, b) => a.id.localeCompare(b.id));
      expect((await store.load()).sort((a, b) => a.id.localeCompare(b.id))).toEqual(expected);
      for (const r of expected) expect(await store.get(r.id)).toEqual(r);
      expect(await store.byOrder('M-0001', 'O5')).toEqual([record(5)]);
      expect(await store.byOrder('M-0001', 'O7')).toEqual([]);
      expect(await store.getMeta('padding')).toHaveLength(length);
      expect(store.warnings()).toEqual([
        `${path}: line ${corruptLine} skipped: not valid JSON`,
        `${path}: torn last line (8 bytes after line ${corruptLine + 1}, a write cut short by a crash) dropped`,
      ]);
      await store.close();
    });
  }
});
