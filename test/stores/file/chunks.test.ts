import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileStore } from '../../../src/node.js';
import { makeRecord } from '../../../src/record.js';
import { headerLine, recordLine } from '../../../src/stores/file/jsonl.js';
import type { AttemptRecord } from '../../../src/types.js';

/*
 * The file store reads in 2 MiB chunks and replays each while the next is
 * read. A line across the boundary, a newline exactly on either side of it,
 * a corrupt line and a torn tail after it: load() must give what the whole
 * file says, and the warnings the right line numbers.
 */
const CHUNK = 2 << 20;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function record(i: number, pad = 0): AttemptRecord {
  return makeRecord({
    v: 1, id: `r${i}`, idempotencyKey: `r${i}`, fingerprint: `fp${i}`, status: 'approved', kind: 'sale', amount: 100 + i, currency: 'CNY', merchantId: 'M-0001',
    createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000, pendingSince: 1_700_000_000_000, refunded: 0, approvedAt: 1_700_000_000_000,
    orderId: `O${i}`, terminalId: `T${'x'.repeat(pad)}`,
  } as AttemptRecord);
}

/** Lines so that the file's byte `boundary + shift` is where line `k`'s newline sits (shift -1: last byte of chunk 1). */
function fileAround(shift: number): { text: string; records: AttemptRecord[] } {
  const lines = [headerLine()];
  const records: AttemptRecord[] = [];
  let size = lines[0]!.length + 1;
  let i = 0;
  while (size < CHUNK - 600) {
    const r = record(i++);
    records.push(r);
    const line = recordLine(r);
    lines.push(line);
    size += line.length + 1;
  }
  // One more line, padded so that its newline lands at CHUNK + shift.
  const base = recordLine(record(i, 0));
  const pad = CHUNK + shift - size - base.length;
  const r = record(i++, pad);
  records.push(r);
  lines.push(recordLine(r));
  // And a corrupt line and a few records after the boundary.
  lines.push('{not json');
  for (let j = 0; j < 50; j++) {
    const more = record(i++);
    records.push(more);
    lines.push(recordLine(more));
  }
  const text = `${lines.join('\n')}\n`;
  expect(text.indexOf('\n', CHUNK + shift - 1)).toBe(CHUNK + shift);
  return { text, records };
}

describe('reading a file in chunks', () => {
  for (const shift of [-2, -1, 0, 1, 200]) {
    it(`finds every record and numbers the corrupt line right when a newline sits at chunk boundary ${shift >= 0 ? '+' : ''}${shift}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pdg-chunks-'));
      dirs.push(dir);
      const path = join(dir, 'guard.jsonl');
      const { text, records } = fileAround(shift);
      // A torn tail after the last line.
      writeFileSync(path, `${text}[1,"torn`);
      const corruptLine = text.split('\n').indexOf('{not json') + 1;
      const store = fileStore(path);
      const loaded = await store.load();
      expect(loaded.length).toBe(records.length);
      const byId = new Map(loaded.map((r) => [r.id, r]));
      for (const r of records) expect(byId.get(r.id)).toEqual(r);
      expect(store.warnings().join('\n')).toContain(`line ${corruptLine} skipped: not valid JSON`);
      expect(store.warnings().join('\n')).toContain('torn last line (8 bytes');
      await store.close();
      expect(readFileSync(path, 'utf8')).toBe(text);
    });
  }
});
