import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadStore } from '../../../src/deferred.js';
import { fileStore } from '../../../src/node.js';
import { makeRecord } from '../../../src/record.js';
import { deleteLine, headerLine, metaLine, recordLine, replay } from '../../../src/stores/file/jsonl.js';
import type { AttemptRecord } from '../../../src/types.js';

/*
 * File store start-up, end to end: compaction at open over a mostly dead
 * file (deferred lines written as they are, after the columns copied them
 * out), an empty file, a load after writes, and a columns contract (a line
 * without approvedAt reads NaN).
 */
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pdg-file-'));
  dirs.push(dir);
  return join(dir, 'guard.jsonl');
}

function rec(id: string, patch: Partial<AttemptRecord> = {}): AttemptRecord {
  return makeRecord({
    v: 1, id, idempotencyKey: id, fingerprint: `fp-${id}`, status: 'approved', kind: 'sale', amount: 100, currency: 'CNY', merchantId: 'M-0001',
    createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000, pendingSince: 1_700_000_000_000, refunded: 0, approvedAt: 1_700_000_000_000,
    ...patch,
  } as AttemptRecord);
}

const byId = (records: readonly AttemptRecord[]) => [...records].sort((a, b) => a.id.localeCompare(b.id));

describe('file store, checked sound', () => {
  it('compaction at open writes deferred lines verbatim after the columns copied them out of a mostly dead file', async () => {
    const path = tempPath();
    const lines = [headerLine(), metaLine('k', 'v')];
    // Mostly dead: 3 superseded versions per id, then parsed and deleted ones, then the live lines.
    for (let v = 0; v < 3; v++) for (let i = 0; i < 40; i++) lines.push(recordLine(rec(`a${i}`, { status: 'pending', updatedAt: 1_700_000_000_000 + v })));
    for (let i = 0; i < 10; i++) lines.push(deleteLine(`a${i}`));
    for (let i = 10; i < 20; i++) lines.push(recordLine(rec(`a${i}`, { message: 'déclinée', status: 'declined' })));
    for (let i = 20; i < 40; i++) lines.push(recordLine(rec(`a${i}`, { orderId: `O${i % 3}`, operator: 'op-1', processorRef: 'ch_1' })));
    const text = `${lines.join('\n')}\n`;
    writeFileSync(path, text);
    // Live: a10–a19 as parsed (non-ASCII message), a20–a39 as deferred (plain ASCII).
    const expected = byId([
      ...Array.from({ length: 10 }, (_, i) => rec(`a${i + 10}`, { message: 'déclinée', status: 'declined' })),
      ...Array.from({ length: 20 }, (_, i) => rec(`a${i + 20}`, { orderId: `O${(i + 20) % 3}`, operator: 'op-1', processorRef: 'ch_1' })),
    ]);
    const store = fileStore(path, { compactAfter: { deadLines: 0, deadRatio: 0 } });
    expect(byId(await store.load())).toEqual(expected);
    await store.close();
    // Compacted: header, meta, the 30 live lines.
    const after = readFileSync(path, 'utf8').trim().split('\n');
    expect(after.length).toBe(32);
    for (let i = 20; i < 40; i++) expect(after).toContain(recordLine(rec(`a${i}`, { orderId: `O${i % 3}`, operator: 'op-1', processorRef: 'ch_1' })));
    const again = fileStore(path);
    expect(byId(await again.load())).toEqual(expected);
    await again.close();
  });

  it('an empty file opens, gets its header, and loads nothing', async () => {
    const path = tempPath();
    writeFileSync(path, '');
    const store = fileStore(path);
    expect(await store.load()).toEqual([]);
    await store.close();
    expect(readFileSync(path, 'utf8')).toBe(`${headerLine()}\n`);
  });

  it('a load after writes reads back exactly the acknowledged lines (limit < size)', async () => {
    const path = tempPath();
    const store = fileStore(path);
    await store.load();
    await store.put(rec('x', { status: 'pending' }));
    await store.put(rec('x'));
    await store.put(rec('y', { message: '"quoted"' }));
    await store.delete('y');
    await store.put(rec('z'));
    const { records, deferred } = await loadStore(store);
    const ids = [...records.map((r) => r.id)];
    for (let slot = 0; deferred && slot < deferred.slots; slot++) if (deferred.live(slot)) ids.push(deferred.id(slot));
    expect(ids.sort()).toEqual(['x', 'z']);
    expect(byId(await store.load())).toEqual([rec('x'), rec('z')]);
    await store.close();
  });
});

describe('FileColumns contract (DeferredRecords.approvedAt: NaN where the record has none)', () => {
  it('a 12-field line after a line with an approvedAt reads NaN, not the previous line\'s approvedAt', () => {
    // recordLine leaves off trailing nulls: a record with no approvedAt and nothing after it is 12 fields.
    const first = rec('a', { approvedAt: 1_700_000_000_500 });
    const second = rec('b', { status: 'approved', approvedAt: undefined });
    expect(JSON.parse(recordLine(second))).toHaveLength(12);
    const { deferred } = replay(Buffer.from(`${recordLine(first)}\n${recordLine(second)}\n`)).live;
    expect(deferred.decode(deferred.find('b')).approvedAt).toBeUndefined();
    expect(deferred.approvedAt(deferred.find('b'))).toBeNaN();
  });
});
