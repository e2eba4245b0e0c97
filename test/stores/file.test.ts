import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as realFs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { GuardStorageError, createGuard, type JournalEntry } from '../../src/index.js';
import { fileStore, type FileStore, type FileStoreFs } from '../../src/node.js';
import { makeRecord } from '../../src/record.js';
import { FORMAT_VERSION, headerLine, parseLine, recordLine } from '../../src/stores/file/jsonl.js';
import { storeContract } from '../../src/testing.js';
import { revokedProxy, throwingGetter } from '../helpers/guard.js';
import { sampleRecord } from '../helpers/records.js';
import { v2Header, v2Line } from '../helpers/file-formats.js';
import type { AttemptRecord } from '../../src/index.js';

const dirs: string[] = [];
const stores: FileStore[] = [];
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close().catch(() => undefined)));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempFile(name = 'guard.jsonl'): string {
  const dir = mkdtempSync(join(tmpdir(), 'pdg-file-'));
  dirs.push(dir);
  return join(dir, name);
}

/** A store closed at the end of the file, whatever the test did with it. */
function open(path: string, options?: Parameters<typeof fileStore>[1]): FileStore {
  const store = fileStore(path, options);
  stores.push(store);
  return store;
}

/** A line as an object: record lines of any format version decoded, so tests read fields by name. */
const decode = (line: string) => {
  const value = JSON.parse(line) as Record<string, unknown>;
  if (!Array.isArray(value) && (value.v !== 1 || value.op !== undefined)) return value;
  const parsed = parseLine(line);
  if (typeof parsed === 'string' || parsed.op !== 'record') throw new Error(`undecodable record line: ${String(parsed)}`);
  return parsed.record as unknown as Record<string, unknown>;
};
const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).map(decode);
/** What a file holds, a word a line: `header <version>`, `<id> <status>`, `delete`, `meta`, `snapshot`, `index`. */
const shape = (path: string) =>
  lines(path).map((l) =>
    l.op === 'header' ? `header ${String(l.version)}` : typeof l.op === 'string' ? l.op : `${String(l.id)} ${String(l.status)}`,
  );
/** A version 1 or 2 file, written by hand from the formats jsonl.ts documents. */
const v1Header = JSON.stringify({ op: 'header', format: 'pos-duplicate-guard/file', version: 1 });
const GUARD = { merchantId: 'M-FILE', secret: 'file-store-test-secret-0123456789' } as const;

storeContract(
  () => {
    const path = tempFile();
    let current = open(path);
    // The history checks read through `store` after `reopen()` (`[store, await reopen()]`), and a file has
    // one owner at a time: the handle the suite holds follows the file to the store that reopened it.
    const store = new Proxy({} as FileStore, {
      get: (_, key) => {
        const value: unknown = Reflect.get(current, key);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(current) : value;
      },
    });
    return {
      store,
      reopen: async () => {
        // One owner at a time: close the first, as a restarted process would have lost it.
        await current.close();
        return (current = open(path));
      },
    };
  },
  { name: 'fileStore', capabilities: ['history', 'journal'] },
);

describe('fileStore format', () => {
  it('appends one JSON line per put, delete and meta change; last line for an id wins', async () => {
    const path = tempFile();
    const store = open(path);
    await store.put(sampleRecord('a'));
    await store.put(sampleRecord('a', { status: 'approved' }));
    await store.put(sampleRecord('b'));
    await store.delete('b');
    await store.setMeta('keyCheck', 'kcv');
    await store.close();
    const written = lines(path);
    expect(written.map((l) => l.op ?? `record ${String(l.id)} ${String(l.status)}`)).toEqual([
      'header',
      'record a pending',
      'record a approved',
      'record b pending',
      'delete',
      'meta',
    ]);
    const again = open(path);
    expect((await again.load()).map((r) => [r.id, r.status])).toEqual([['a', 'approved']]);
    expect(again.warnings()).toEqual([]);
  });

  it('reads a line longer than its 1 MiB read buffer', async () => {
    const path = tempFile();
    const store = open(path);
    const long = 'x'.repeat(3 * 1024 * 1024);
    await store.put(sampleRecord('a', { message: long }));
    await store.put(sampleRecord('b'));
    await store.close();
    const loaded = (await open(path).load()).sort((x, y) => x.id.localeCompare(y.id));
    expect(loaded.map((r) => [r.id, r.message?.length])).toEqual([
      ['a', long.length],
      ['b', undefined],
    ]);
  });

  it('reads its own writes back on a later load', async () => {
    const store = open(tempFile());
    expect(await store.load()).toEqual([]);
    await store.put(sampleRecord('a'));
    await store.delete('a');
    await store.put(sampleRecord('b'));
    expect((await store.load()).map((r) => r.id)).toEqual(['b']);
  });

  it('creates the file owner-only and its directory if missing', async () => {
    const path = join(tempFile('nested'), 'deeper', 'guard.jsonl');
    const store = open(path);
    await store.put(sampleRecord('a'));
    expect((await realFs.stat(path)).mode & 0o777).toBe(0o600);
  });

  it('writes a record line as the record object, and reads every field back, after a reopen and from a cold line', async () => {
    const path = tempFile();
    const full = makeRecord({
      ...sampleRecord('full', { status: 'approved', idempotencyKey: 'pdg_minted_by_an_older_release' }),
      terminalId: 'T-01',
      orderId: 'O-1',
      orderTotal: 5000,
      operator: 'alice',
      bin: '622202',
      approvedAt: 1_767_225_601_000,
      authCode: 'A1',
      processorRef: 'ch_1',
      code: '00',
      message: 'ok "quoted" 余额不足',
      refunded: 250,
      refunds: [{ id: 'r1', amount: 250, over: 10 }],
      override: { operator: 'alice', reason: 'regular', supervisor: 'bob', lifted: ['DUPLICATE_CHARGE'] },
    });
    const refund = makeRecord(sampleRecord('refund', { kind: 'refund', refundOf: 'full', status: 'approved' }));
    const store = open(path);
    await store.put(full);
    await store.put(refund);
    await store.close();
    expect(JSON.parse(readFileSync(path, 'utf8').split('\n')[1] as string)).toEqual(JSON.parse(JSON.stringify(full)));
    const again = open(path);
    expect(await again.get('full')).toStrictEqual(full);
    await again.compact();
    await again.close();
    // After the compaction `full` is a cold line, `refund` (an approved refund) a hot one.
    const third = open(path);
    expect(await third.get('full')).toStrictEqual(full);
    expect(Object.keys((await third.get('full')) as object)).toEqual(Object.keys(full));
    expect(Object.isFrozen(await third.get('full'))).toBe(true);
    expect(await third.get('refund')).toStrictEqual(refund);
  });

  it('reads a version 1 file (record objects), then rewrites it in this version', async () => {
    const path = tempFile();
    const old = sampleRecord('old', { status: 'approved' });
    const gone = sampleRecord('gone');
    const v1 = [
      v1Header,
      JSON.stringify({ op: 'meta', key: 'keyCheck', value: 'kcv' }),
      JSON.stringify(old),
      JSON.stringify(gone),
      JSON.stringify({ op: 'delete', id: 'gone' }),
    ];
    writeFileSync(path, `${v1.join('\n')}\n`);
    const store = open(path);
    expect(await store.load()).toStrictEqual([makeRecord(old)]);
    expect(await store.getMeta('keyCheck')).toBe('kcv');
    expect(shape(path)).toEqual([`header ${FORMAT_VERSION}`, 'meta', 'index', 'old approved']);
    await store.close();
    const again = open(path);
    expect(await again.get('old')).toStrictEqual(makeRecord(old));
    expect(again.warnings()).toEqual([]);
  });

  it('reads a version 2 file (array lines, rare fields in a trailing object), then rewrites it in this version', async () => {
    const path = tempFile();
    const sale = sampleRecord('sale', {
      status: 'approved',
      approvedAt: 1_767_225_601_000,
      authCode: 'A1',
      orderId: 'O-1',
      terminalId: 'T-01',
      operator: 'op-1',
      processorRef: 'ch_1',
    });
    const minted = sampleRecord('minted', { status: 'declined', code: '05', message: 'Do not honor' });
    const plain = sampleRecord('plain', { idempotencyKey: 'plain', last4: undefined });
    const v2 = [
      v2Header,
      JSON.stringify({ op: 'meta', key: 'keyCheck', value: 'kcv' }),
      v2Line(sampleRecord('sale')),
      v2Line(sale),
      v2Line(minted),
      v2Line(plain),
      v2Line(sampleRecord('gone')),
      JSON.stringify({ op: 'delete', id: 'gone' }),
    ];
    expect(v2Line(plain)).toBe('[1,"plain","fp_plain","pending","sale",1250,"CNY","M-TEST",1767225600000,1767225600000,1767225600000,0]');
    writeFileSync(path, `${v2.join('\n')}\n`);
    const store = open(path);
    const byId = (records: AttemptRecord[]) => [...records].sort((a, b) => a.id.localeCompare(b.id));
    const expected = byId([makeRecord(sale), makeRecord(minted), makeRecord(plain)]);
    expect(byId(await store.load())).toStrictEqual(expected);
    expect(await store.byOrder('M-TEST', 'O-1')).toStrictEqual([makeRecord(sale)]);
    await store.close();
    // Rewritten: no array line is left, and an older release would find a header it refuses.
    const text = readFileSync(path, 'utf8');
    expect(text).not.toMatch(/^\[/m);
    expect(shape(path).slice(0, 3)).toEqual([`header ${FORMAT_VERSION}`, 'meta', 'index']);
    const again = open(path);
    expect(byId(await again.load())).toStrictEqual(expected);
    expect(await again.get('minted')).toStrictEqual(makeRecord(minted));
  });

  it('marks a version 1 file with its new version even when the rewrite fails, so an older release refuses it', async () => {
    const path = tempFile();
    writeFileSync(path, `${[v1Header, JSON.stringify(sampleRecord('old'))].join('\n')}\n`);
    const store = open(path, {
      fs: {
        ...realFs,
        rename: async () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })),
      },
    });
    expect((await store.load()).map((r) => r.id)).toEqual(['old']);
    expect(store.warnings().join()).toMatch(/compaction failed/);
    expect(shape(path)).toEqual(['header 1', 'old pending', `header ${FORMAT_VERSION}`]);
    // Still a working store over the old lines.
    await store.put(sampleRecord('new'));
    expect(await store.get('old')).toStrictEqual(makeRecord(sampleRecord('old')));
  });

  it('opens a version 2 file on a disk that refuses the version mark, and writes the mark before its next line', async () => {
    const path = tempFile();
    writeFileSync(path, `${[v2Header, v2Line(sampleRecord('old'))].join('\n')}\n`);
    let failures = 1;
    const fs: FileStoreFs = {
      ...wrapFs({ beforeWrite: () => (failures-- > 0 ? 'ENOSPC' : undefined) }),
      rename: async () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })),
    };
    const store = open(path, { fs });
    expect((await store.load()).map((r) => r.id)).toEqual(['old']);
    expect(store.warnings().join()).toMatch(new RegExp(`could not mark the file as format version ${FORMAT_VERSION}`));
    await store.put(sampleRecord('new'));
    await store.close();
    expect(shape(path)).toEqual(['header 2', 'old pending', `header ${FORMAT_VERSION}`, 'new pending']);
  });

  it('does not write a refused version mark again once the rewrite on open has put the new header first', async () => {
    const path = tempFile();
    writeFileSync(path, `${[v1Header, JSON.stringify(sampleRecord('old'))].join('\n')}\n`);
    let failures = 1;
    const store = open(path, { fs: wrapFs({ beforeWrite: () => (failures-- > 0 ? 'ENOSPC' : undefined) }) });
    expect((await store.load()).map((r) => r.id)).toEqual(['old']);
    await store.put(sampleRecord('new'));
    await store.close();
    expect(shape(path)).toEqual([`header ${FORMAT_VERSION}`, 'index', 'old pending', 'new pending']);
  });

  it('neither marks nor rewrites a file already in this version, nor a new one', async () => {
    let renames = 0;
    const fs: FileStoreFs = {
      ...realFs,
      rename: async (...args: Parameters<typeof realFs.rename>) => {
        renames++;
        return realFs.rename(...args);
      },
    };
    const fresh = tempFile();
    const store = open(fresh, { fs });
    await store.load();
    await store.close();
    expect(readFileSync(fresh, 'utf8')).toBe(`${headerLine()}\n`);

    // Marked by an earlier open whose rewrite failed: the last header counts.
    const marked = tempFile();
    const text = `${[v1Header, JSON.stringify(sampleRecord('old')), headerLine()].join('\n')}\n`;
    writeFileSync(marked, text);
    const again = open(marked, { fs });
    expect((await again.load()).map((r) => r.id)).toEqual(['old']);
    await again.close();
    expect(readFileSync(marked, 'utf8')).toBe(text);
    expect(renames).toBe(0);
  });

  it('counts live lines from what it read: a file under the dead-line threshold is not rewritten on open', async () => {
    const path = tempFile();
    const records = Array.from({ length: 150 }, (_, i) => recordLine(sampleRecord(`r${i}`)));
    const dead = Array.from({ length: 10 }, (_, i) => recordLine(sampleRecord(`r${i}`, { status: 'approved' })));
    const text = `${[headerLine(), ...records, ...dead].join('\n')}\n`;
    writeFileSync(path, text);
    const store = open(path, { compactAfter: { deadLines: 100 } });
    expect(await store.load()).toHaveLength(150);
    await store.close();
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it('reports an array line that is not a record with its line number, and loads the rest', async () => {
    const path = tempFile();
    const good = sampleRecord('good');
    writeFileSync(path, `${[headerLine(), '[9,"x"]', recordLine(good)].join('\n')}\n`);
    const store = open(path);
    expect((await store.load()).map((r) => r.id)).toEqual(['good']);
    expect(store.warnings().join()).toMatch(/line 2 skipped: an array line that is not a record/);
  });

  it('skips a record line whose fields are malformed, naming the field, instead of loading it', async () => {
    const path = tempFile();
    const bad = { ...sampleRecord('bad', { status: 'approved' }), refunds: 'all of it' };
    const badV2 = JSON.parse(v2Line(sampleRecord('bad2', { status: 'approved', message: 'x' }))) as unknown[];
    (badV2[badV2.length - 1] as Record<string, unknown>).refunds = 'all of it';
    writeFileSync(path, `${[headerLine(), JSON.stringify(bad), JSON.stringify(badV2), recordLine(sampleRecord('good'))].join('\n')}\n`);
    const store = open(path);
    expect((await store.load()).map((r) => r.id)).toEqual(['good']);
    expect(store.warnings().join()).toMatch(/line 2 skipped: record bad: refunds is not a list/);
    expect(store.warnings().join()).toMatch(/line 3 skipped: record bad2: refunds is not a list/);
  });
});

describe('fileStore history: get, byOrder, prune, load(scope)', () => {
  const HOUR = 3_600_000;
  const T = 1_767_225_600_000;
  /** A till's day: sales settled an hour apart, one on an order paid twice, one refunded, one still unknown. */
  const day = () => [
    sampleRecord('s0', { status: 'approved', updatedAt: T, approvedAt: T, orderId: 'O-1' }),
    sampleRecord('s1', { status: 'declined', updatedAt: T + HOUR, orderId: 'O-1' }),
    sampleRecord('s2', { status: 'approved', updatedAt: T + 2 * HOUR, approvedAt: T + 2 * HOUR, orderId: 'O-1' }),
    sampleRecord('s3', { status: 'voided', updatedAt: T + 3 * HOUR, orderId: 'O-2' }),
    sampleRecord('r1', { kind: 'refund', refundOf: 's0', status: 'approved', updatedAt: T + 3 * HOUR }),
    sampleRecord('u1', { status: 'unknown', updatedAt: T }),
    sampleRecord('s4', { status: 'approved', updatedAt: T + 5 * HOUR, approvedAt: T + 5 * HOUR }),
  ];
  const ids = (records: readonly AttemptRecord[]) => records.map((r) => r.id).sort();

  for (const when of ['as written (a log)', 'after a compaction (cold lines)', 'after a compaction and a reopen']) {
    it(`answers by id, by order and by scope ${when}`, async () => {
      const path = tempFile();
      let store = open(path);
      for (const record of day()) await store.put(record);
      await store.put(sampleRecord('gone', { status: 'declined', updatedAt: T }));
      await store.delete('gone');
      if (when !== 'as written (a log)') await store.compact();
      if (when.endsWith('reopen')) {
        await store.close();
        store = open(path);
      }
      for (const record of day()) expect(await store.get(record.id)).toStrictEqual(makeRecord(record));
      expect(await store.get('gone')).toBeUndefined();
      expect(await store.get('never')).toBeUndefined();
      // Live records only: the declined payment on O-1 and the voided O-2 are not filed.
      expect(ids(await store.byOrder('M-TEST', 'O-1'))).toEqual(['s0', 's2']);
      expect(await store.byOrder('M-TEST', 'O-2')).toEqual([]);
      expect(await store.byOrder('M-OTHER', 'O-1')).toEqual([]);
      // Hot: open, approved refunds, and what changed at or after `since`.
      expect(ids(await store.load({ since: T + 4 * HOUR }))).toEqual(['r1', 's4', 'u1']);
      expect(ids(await store.load({ since: T + 2 * HOUR }))).toEqual(['r1', 's2', 's3', 's4', 'u1']);
      expect(ids(await store.load())).toEqual(ids(day()));
    });
  }

  it('prunes what is settled and older than `before`, never an open record, after a reopen too', async () => {
    const path = tempFile();
    const store = open(path);
    for (const record of day()) await store.put(record);
    await store.compact();
    expect(await store.prune(T + HOUR)).toBe(1);
    expect(await store.get('s0')).toBeUndefined();
    expect(await store.byOrder('M-TEST', 'O-1')).toStrictEqual([makeRecord(day()[2] as AttemptRecord)]);
    await store.close();
    const again = open(path);
    expect(await again.get('s0')).toBeUndefined();
    expect(await again.prune(T + 4 * HOUR)).toBe(4);
    expect(ids(await again.load())).toEqual(['s4', 'u1']);
    // A record settled again after `before` is not pruned by its older version's time.
    await again.put(sampleRecord('s4', { status: 'voided', updatedAt: T + 9 * HOUR }));
    expect(await again.prune(T + 6 * HOUR)).toBe(0);
    expect(await again.prune(T + 10 * HOUR)).toBe(1);
    expect(ids(await again.load())).toEqual(['u1']);
  });

  it('sees a write at once, before it is on disk, and forgets it if the write fails', async () => {
    // The data file's next write waits for `release`, then fails with ENOSPC.
    let release: () => void = () => undefined;
    const failure = { next: undefined as Promise<void> | undefined };
    const fs: FileStoreFs = {
      ...realFs,
      open: async (...args: Parameters<typeof realFs.open>) => {
        const handle = await realFs.open(...args);
        const write = handle.write.bind(handle) as (...a: unknown[]) => Promise<unknown>;
        const gated = async (...a: unknown[]) => {
          const gate = failure.next;
          if (!gate) return write(...a);
          await gate;
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        };
        return String(args[0]).endsWith('.jsonl') ? Object.assign(handle, { write: gated }) : handle;
      },
    };
    const store = open(tempFile(), { fs });
    const first = sampleRecord('a', { status: 'approved', orderId: 'O-1', updatedAt: T, approvedAt: T });
    await store.put(first);
    failure.next = new Promise<void>((resolve) => (release = resolve));
    const writing = store.put(sampleRecord('a', { status: 'voided', orderId: 'O-1', updatedAt: T + 1 }));
    expect((await store.get('a'))?.status).toBe('voided');
    expect(await store.byOrder('M-TEST', 'O-1')).toEqual([]);
    failure.next = undefined;
    release();
    await expect(writing).rejects.toMatchObject({ code: 'WRITE_FAILED' });
    expect(await store.get('a')).toStrictEqual(makeRecord(first));
    expect(await store.byOrder('M-TEST', 'O-1')).toStrictEqual([makeRecord(first)]);
  });

  it('does not parse the cold lines at start-up: a corrupt one is found when read, get rejects, load skips it', async () => {
    const path = tempFile();
    const store = open(path);
    for (const record of day()) await store.put(record);
    await store.compact();
    await store.close();
    // Corrupt s2's cold line in place, same length: the index still adds up.
    const text = readFileSync(path, 'utf8');
    const at = text.indexOf('{"v":1,"id":"s2"');
    writeFileSync(path, `${text.slice(0, at)}#${text.slice(at + 1)}`);
    const again = open(path);
    expect(await again.get('s0')).toStrictEqual(makeRecord(day()[0] as AttemptRecord));
    expect(again.warnings()).toEqual([]);
    await expect(again.get('s2')).rejects.toMatchObject({ name: 'GuardStorageError', code: 'READ_FAILED' });
    await expect(again.byOrder('M-TEST', 'O-1')).rejects.toMatchObject({ code: 'READ_FAILED' });
    expect(ids(await again.load())).toEqual(ids(day()).filter((id) => id !== 's2'));
    expect(again.warnings().join()).toMatch(/record s2 at byte \d+ skipped: not valid JSON/);
  });

  it('reads every line when the index does not match its snapshot, and reports it', async () => {
    const path = tempFile();
    const store = open(path);
    for (const record of day()) await store.put(record);
    await store.compact();
    await store.close();
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace('"lens":[', '"lens":[1,'));
    const again = open(path);
    expect(ids(await again.load())).toEqual(ids(day()));
    expect(await again.byOrder('M-TEST', 'O-1')).toHaveLength(2);
    expect(again.warnings().join()).toMatch(/the snapshot index is unreadable or cut short: every line was read instead/);
  });
});

describe('fileStore options', () => {
  it('rejects bad options up front with GuardConfigError naming the field and the value', () => {
    expect(() => fileStore('')).toThrow(expect.objectContaining({ name: 'GuardConfigError', field: 'path' }));
    expect(() => fileStore('/tmp/x.jsonl', { compactAfter: { deadRatio: 1.5 } })).toThrow(
      /`compactAfter.deadRatio` must be a number from 0 up to \(not including\) 1, got 1.5 \(number\)/,
    );
    expect(() => fileStore('/tmp/x.jsonl', { compactAfter: { deadLines: -1 } })).toThrow(
      expect.objectContaining({ name: 'GuardConfigError', field: 'compactAfter.deadLines' }),
    );
    expect(() => fileStore('/tmp/x.jsonl', { journalMaxBytes: 0 })).toThrow(expect.objectContaining({ field: 'journalMaxBytes' }));
  });

  it('rejects options it cannot read with GuardConfigError naming the field (review2)', () => {
    expect(() => fileStore('/tmp/review2-never-created.jsonl', revokedProxy())).toThrow(
      expect.objectContaining({ name: 'GuardConfigError', field: 'options' }),
    );
    expect(() => fileStore('/tmp/review2-never-created.jsonl', throwingGetter('compactAfter'))).toThrow(
      expect.objectContaining({ name: 'GuardConfigError', field: 'compactAfter' }),
    );
    expect(() => fileStore('/tmp/review2-never-created.jsonl', { compactAfter: throwingGetter('deadLines') })).toThrow(
      expect.objectContaining({ name: 'GuardConfigError', field: 'compactAfter.deadLines' }),
    );
    expect(() => fileStore('/tmp/review2-never-created.jsonl', null as never)).toThrow(
      expect.objectContaining({ name: 'GuardConfigError', field: 'options' }),
    );
    expect(existsSync('/tmp/review2-never-created.jsonl')).toBe(false);
  });

  it('reads a getter in the options once, when the store is made (review2)', async () => {
    let reads = 0;
    const options = Object.defineProperty({}, 'journal', { enumerable: true, get: () => (reads++, false) });
    const path = tempFile();
    const store = fileStore(path, options);
    await store.put(sampleRecord('a'));
    await store.close();
    expect(reads).toBe(1);
  });
});

describe('fileStore after a crash', () => {
  it('skips a torn last line, reports it, and appends cleanly after it', async () => {
    const path = tempFile();
    const first = open(path);
    await first.put(sampleRecord('a'));
    await first.put(sampleRecord('b'));
    await first.close();
    // The write of an update to b was cut short by a power cut: no newline, part of a JSON
    // document, and longer than the line written next (so overwriting it in place is not enough).
    const full = JSON.stringify(sampleRecord('b', { status: 'approved', message: 'x'.repeat(2000) }));
    appendFileSync(path, full.slice(0, 1500));

    const store = open(path);
    const loaded = await store.load();
    expect(loaded.map((r) => [r.id, r.status]).sort()).toEqual([
      ['a', 'pending'],
      ['b', 'pending'],
    ]);
    expect(store.warnings()).toHaveLength(1);
    expect(store.warnings()[0]).toMatch(/torn last line \(1500 bytes after line 3/);

    // The next line must not be glued onto the torn bytes.
    await store.put(sampleRecord('c'));
    await store.close();
    const again = open(path);
    expect((await again.load()).map((r) => r.id).sort()).toEqual(['a', 'b', 'c']);
    expect(again.warnings()).toEqual([]);
  });

  it('treats a complete JSON document without its newline as torn: it was never acknowledged', async () => {
    const path = tempFile();
    const first = open(path);
    await first.put(sampleRecord('a'));
    await first.close();
    appendFileSync(path, JSON.stringify(sampleRecord('a', { status: 'approved' })));
    const store = open(path);
    expect((await store.load()).map((r) => r.status)).toEqual(['pending']);
    expect(store.warnings().join()).toMatch(/torn last line/);
  });

  it('reports a corrupt line in the middle by its number and loads the rest', async () => {
    const path = tempFile();
    const first = open(path);
    await first.put(sampleRecord('a'));
    await first.close();
    appendFileSync(path, '{"v":1,"id":"x", garbage\n');
    appendFileSync(path, `${JSON.stringify({ hello: 'world' })}\n`);
    appendFileSync(path, `${JSON.stringify(sampleRecord('y', { status: 'exploded' as never }))}\n`);
    appendFileSync(path, `${JSON.stringify(sampleRecord('b', { status: 'declined' }))}\n`);
    const store = open(path);
    expect((await store.load()).map((r) => r.id).sort()).toEqual(['a', 'b']);
    const warnings = store.warnings();
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/line 3 skipped: not valid JSON/);
    expect(warnings[1]).toMatch(/line 4 skipped: a record without "v": 1/);
    expect(warnings[2]).toMatch(/line 5 skipped: record y: unknown status/);
    for (const warning of warnings) expect(warning).toContain(path);
  });

  it('hands the warnings to the guard, which journals them at start', async () => {
    const path = tempFile();
    const first = open(path);
    await first.put(sampleRecord('a'));
    await first.close();
    appendFileSync(path, '{"v":1,"id":"torn');
    const guard = await createGuard({ ...GUARD, store: open(path) });
    await guard.close();
    const journal = lines(`${path}.journal`) as unknown as JournalEntry[];
    const start = journal.find((e) => e.type === 'start');
    expect(start?.detail).toMatch(/torn last line/);
  });

  it('removes the leftover of a compaction interrupted before its rename, keeping the file', async () => {
    const path = tempFile();
    const first = open(path);
    await first.put(sampleRecord('a'));
    await first.close();
    writeFileSync(`${path}.tmp`, '{"op":"header"');
    const store = open(path);
    expect((await store.load()).map((r) => r.id)).toEqual(['a']);
    expect(existsSync(`${path}.tmp`)).toBe(false);
    expect(store.warnings().join()).toMatch(/interrupted compaction/);
  });

  it('refuses a file written by a newer format version instead of mangling it', async () => {
    const path = tempFile();
    writeFileSync(
      path,
      `${JSON.stringify({ op: 'header', format: 'pos-duplicate-guard/file', version: FORMAT_VERSION + 1 })}\n{"op":"snapshot","something":"new"}\n`,
    );
    await expect(open(path).load()).rejects.toMatchObject({ name: 'GuardStorageError', code: 'UNSUPPORTED_FORMAT' });
    // The refusal released the lock: an upgraded reader can open it.
    expect(existsSync(`${path}.lock`)).toBe(false);
  });
});

describe('fileStore durability', () => {
  it('never resolves a put before its line is fsynced, and shares one fsync among queued puts', async () => {
    const path = tempFile();
    // What was on disk when the last datasync finished.
    let durable = '';
    let syncs = 0;
    const fs = wrapFs({
      afterDatasync: () => {
        syncs++;
        durable = readFileSync(path, 'utf8');
      },
    });
    const store = open(path, { fs });
    await store.load();
    const before = syncs;
    const records = Array.from({ length: 50 }, (_, i) => sampleRecord(`r${i}`));
    await Promise.all(
      records.map(async (record) => {
        await store.put(record);
        // Resolved: its complete line must have been on disk at an fsync.
        expect(durable).toContain(`${recordLine(record)}\n`);
      }),
    );
    // 50 concurrent puts: one write for the first, one for everything that queued behind it.
    expect(syncs - before).toBeLessThanOrEqual(3);
    expect(syncs - before).toBeGreaterThanOrEqual(1);
  });

  it('through a guard, 50 concurrent begins share fsyncs too (the guard does not chain its writes)', async () => {
    const path = tempFile();
    let syncs = 0;
    const guard = await createGuard({
      merchantId: 'M-FILE',
      secret: 'file-secret-0123456789abcdef',
      store: open(path, { fs: wrapFs({ afterDatasync: () => syncs++ }) }),
    });
    const before = syncs;
    const decisions = await Promise.all(
      Array.from({ length: 50 }, (_, i) => guard.begin({ amount: 100 + i, currency: 'CNY', card: { token: `wallet-${i}` } })),
    );
    expect(decisions.every((d) => d.verdict === 'allow')).toBe(true);
    expect(syncs - before).toBeLessThanOrEqual(3);
    await guard.close();
  });

  it('does not fsync for deletes (pruning): they ride along with the next write', async () => {
    const path = tempFile();
    let syncs = 0;
    const store = open(path, { fs: wrapFs({ afterDatasync: () => syncs++ }) });
    await store.put(sampleRecord('a'));
    const before = syncs;
    await store.delete('a');
    await store.close();
    expect(syncs).toBe(before);
    expect(await open(path).load()).toEqual([]);
  });

  it('rejects a put when the disk is full, and leaves no half line behind', async () => {
    const path = tempFile();
    const failure = { next: undefined as 'ENOSPC' | 'partial' | undefined };
    const store = open(path, { fs: wrapFs({ beforeWrite: () => failure.next }) });
    await store.put(sampleRecord('a'));
    failure.next = 'partial';
    // Half of this line reaches the disk: more bytes than the next, shorter line will cover.
    const rejected = await store.put(sampleRecord('b', { message: 'x'.repeat(3000) })).catch((error: unknown) => error);
    expect(rejected).toBeInstanceOf(GuardStorageError);
    expect(rejected).toMatchObject({ code: 'WRITE_FAILED' });
    expect((rejected as Error).message).toContain(path);
    expect((rejected as Error).message).toMatch(/put failed: ENOSPC/);
    failure.next = undefined;
    await store.put(sampleRecord('c'));
    await store.close();
    const again = open(path);
    expect((await again.load()).map((r) => r.id).sort()).toEqual(['a', 'c']);
    expect(again.warnings()).toEqual([]);
  });

  it('through a real guard: a failed write-ahead gives prompt with STORAGE_UNAVAILABLE (onStorageError default)', async () => {
    const path = tempFile();
    const failure = { next: undefined as 'ENOSPC' | 'partial' | undefined };
    const guard = await createGuard({ ...GUARD, store: open(path, { fs: wrapFs({ beforeWrite: () => failure.next }) }) });
    const errors: string[] = [];
    guard.on('storage-error', (event) => errors.push(event.operation));
    failure.next = 'ENOSPC';
    const decision = await guard.begin({ amount: 1250, currency: 'CNY', card: { pan: '6222 0202 0011 2233 446' } });
    expect(decision.verdict).toBe('prompt');
    expect(decision.reasons.map((r) => r.code)).toEqual(['STORAGE_UNAVAILABLE']);
    expect(decision.attempt).toBeUndefined();
    expect(errors).toContain('put');
    // The disk has room again: the next begin is persisted as usual.
    failure.next = undefined;
    const ok = await guard.begin({ amount: 1250, currency: 'CNY', card: { pan: '6222 0202 0011 2233 446' } });
    expect(ok.verdict).toBe('allow');
    await guard.close();
    expect(
      lines(path)
        .filter((l) => l.status === 'pending')
        .map((l) => l.id),
    ).toEqual([ok.attempt?.id]);
  });

  it('names the path and the operation when the file cannot be opened', async () => {
    const blocker = tempFile('not-a-directory');
    writeFileSync(blocker, 'x');
    const path = join(blocker, 'guard.jsonl');
    const error = await open(path)
      .load()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardStorageError);
    expect(error).toMatchObject({ code: 'OPEN_FAILED' });
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toMatch(/creating its directory/);
  });

  it('reports EACCES on open as a GuardStorageError naming the path', async () => {
    const path = tempFile();
    const fs: FileStoreFs = {
      ...realFs,
      open: (async (file: string, ...rest: unknown[]) => {
        if (file === path) throw Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: 'EACCES' });
        return (realFs.open as (...args: unknown[]) => Promise<FileHandle>)(file, ...rest);
      }) as FileStoreFs['open'],
    };
    const error = await open(path, { fs })
      .load()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'GuardStorageError', code: 'OPEN_FAILED' });
    expect((error as Error).message).toMatch(/file store .*guard\.jsonl: opening failed: EACCES/);
  });

  it('rejects use after close', async () => {
    const store = open(tempFile());
    await store.put(sampleRecord('a'));
    await store.close();
    await expect(store.put(sampleRecord('b'))).rejects.toMatchObject({ name: 'GuardStorageError', code: 'CLOSED' });
  });
});

describe('fileStore journal', () => {
  it('appends journal entries to <path>.journal, flushed on close, rotating once past journalMaxBytes', async () => {
    const path = tempFile();
    const store = open(path, { journalMaxBytes: 2000 });
    for (let i = 0; i < 60; i++) await store.appendJournal({ at: i, type: 'settle', attemptId: `a${i}`, from: 'pending', to: 'approved' });
    await store.close();
    expect(lines(`${path}.journal`).map((e) => e.at)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    // Past 2000 bytes: the next write starts a new journal and keeps the old one as .1.
    const next = open(path, { journalMaxBytes: 2000 });
    await next.appendJournal({ at: 60, type: 'start' });
    await next.close();
    expect(lines(`${path}.journal.1`)).toHaveLength(60);
    expect(lines(`${path}.journal`).map((e) => e.at)).toEqual([60]);
  });

  it('writes no journal with journal: false', async () => {
    const path = tempFile();
    const store = open(path, { journal: false });
    await store.appendJournal({ at: 1, type: 'start' });
    await store.close();
    expect(existsSync(`${path}.journal`)).toBe(false);
  });
});

describe('fileStore compaction', () => {
  it('rewrites only the live lines once dead ones pass the thresholds, and loses nothing', async () => {
    const path = tempFile();
    const store = open(path, { compactAfter: { deadLines: 20, deadRatio: 0.5 } });
    await store.setMeta('keyCheck', 'kcv');
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 5; i++) await store.put(sampleRecord(`r${i}`, { updatedAt: round }));
    }
    await store.delete('r4');
    // 5 records x 10 versions would be 52+ lines; compaction keeps it near the live state.
    const count = lines(path).length;
    expect(count).toBeLessThan(30);
    await store.close();
    const again = open(path);
    const loaded = (await again.load()).sort((a, b) => a.id.localeCompare(b.id));
    expect(loaded.map((r) => [r.id, r.updatedAt])).toEqual([
      ['r0', 9],
      ['r1', 9],
      ['r2', 9],
      ['r3', 9],
    ]);
    expect(await again.getMeta('keyCheck')).toBe('kcv');
  });

  it('compacts on demand, and the path never goes missing while it does', async () => {
    const path = tempFile();
    const store = open(path);
    for (let i = 0; i < 300; i++) await store.put(sampleRecord(`r${i % 3}`, { updatedAt: i }));
    let polls = 0;
    let missing = 0;
    let stop = false;
    const poll = (async () => {
      while (!stop) {
        polls++;
        if (!existsSync(path)) missing++;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await store.compact();
    stop = true;
    await poll;
    expect(polls).toBeGreaterThan(0);
    expect(missing).toBe(0);
    expect(shape(path)).toEqual(['header 3', 'index', 'r0 pending', 'r1 pending', 'r2 pending']);
    // Appends after a compaction go to the new file.
    await store.put(sampleRecord('r9'));
    await store.close();
    expect((await open(path).load()).map((r) => r.id).sort()).toEqual(['r0', 'r1', 'r2', 'r9']);
  });

  it('compacts at open when the file is mostly dead', async () => {
    const path = tempFile();
    const first = open(path, { compactAfter: { deadLines: 1_000_000 } });
    for (let i = 0; i < 200; i++) await first.put(sampleRecord('a', { updatedAt: i }));
    await first.close();
    expect(lines(path)).toHaveLength(201);
    const store = open(path, { compactAfter: { deadLines: 100 } });
    expect((await store.load()).map((r) => r.updatedAt)).toEqual([199]);
    expect(shape(path)).toEqual(['header 3', 'index', 'a pending']);
  });

  it('keeps appending to the intact file when the rewrite fails (disk full)', async () => {
    const path = tempFile();
    const fs: FileStoreFs = {
      ...realFs,
      rename: async () => {
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      },
    };
    const store = open(path, { fs, compactAfter: { deadLines: 5 } });
    for (let i = 0; i < 20; i++) await store.put(sampleRecord('a', { updatedAt: i }));
    expect(existsSync(`${path}.tmp`)).toBe(false);
    expect(store.warnings().join()).toMatch(/compaction failed/);
    await store.close();
    expect((await open(path).load()).map((r) => r.updatedAt)).toEqual([19]);
  });
});

describe('fileStore ownership', () => {
  it('lets a second store in the same process take over, and fences the first', async () => {
    const path = tempFile();
    const first = open(path);
    await first.put(sampleRecord('a'));
    const second = open(path);
    expect((await second.load()).map((r) => r.id)).toEqual(['a']);
    await expect(first.put(sampleRecord('b'))).rejects.toMatchObject({ name: 'GuardStorageError', code: 'TAKEN_OVER' });
    await second.put(sampleRecord('c'));
    // Closing the fenced store must not release the lock its successor holds.
    await first.close();
    expect(existsSync(`${path}.lock`)).toBe(true);
    await second.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect((await open(path).load()).map((r) => r.id).sort()).toEqual(['a', 'c']);
  });

  it('a second guard in the same process takes over the file, as after a crash', async () => {
    const path = tempFile();
    const first = await createGuard({ ...GUARD, store: open(path) });
    const decision = await first.begin({ amount: 990, currency: 'USD', card: { pan: '4111 1111 1111 1111' } });
    const second = await createGuard({ ...GUARD, store: open(path) });
    expect((await second.get(decision.attempt?.id as string))?.status).toBe('unknown');
    const retry = await second.begin({ amount: 990, currency: 'USD', card: { pan: '4111111111111111' } });
    expect(retry.verdict).toBe('block');
    expect(retry.reasons.map((r) => r.code)).toContain('UNKNOWN_OUTCOME');
    // The first guard's store no longer writes: its settle fails instead of interleaving lines, as a
    // take-over (never kept in memory as if the disk had failed, nor let through by onStorageError).
    const error = await first.settle(decision.attempt?.id as string, { status: 'approved' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'GuardStateError', code: 'TAKEN_OVER' });
    await expect(first.begin({ amount: 991, currency: 'USD', card: { pan: '4111111111111111' } })).rejects.toMatchObject({
      code: 'TAKEN_OVER',
    });
    await second.close();
    await first.close();
  });

  it('refuses a file held by another live process, naming its pid; takes the lock once it is dead', async () => {
    const path = tempFile();
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./crash-child.ts', import.meta.url)), 'hold', path], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`holder exited early (${code})`)));
      });
      const error = await open(path)
        .load()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GuardStorageError);
      expect(error).toMatchObject({ code: 'LOCKED' });
      expect((error as Error).message).toContain(`held by process ${child.pid}`);
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // The holder died without closing: its lock is stale and taken over.
    const store = open(path);
    await expect(store.load()).resolves.toEqual([]);
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
  }, 30_000);

  it('takes over a lock left by a process from before a reboot, even if its pid is alive now', async () => {
    const path = tempFile();
    // pid 1 is always alive; the boot id says the lock predates this boot.
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: 1, startedAt: 0, bootId: 'some-earlier-boot', token: 'old' }));
    const store = open(path);
    if (process.platform === 'linux') await expect(store.load()).resolves.toEqual([]);
    else await expect(store.load()).rejects.toMatchObject({ code: 'LOCKED' });
  });
});

describe('fileStore and card data', () => {
  it('never writes a PAN, a 12+ digit run or an expiry to the file or the journal', async () => {
    const path = tempFile();
    const guard = await createGuard({ ...GUARD, store: open(path) });
    const pans = ['4111 1111 1111 1111', '6222 0202 0011 2233 446', '5555-5555-5555-4444'];
    for (const [i, pan] of pans.entries()) {
      const result = await guard.charge({ amount: 1000 + i, currency: 'CNY', card: { pan }, orderId: `O-${i}` }, async () => ({
        approved: true,
        authCode: 'A1',
      }));
      expect(result.status).toBe('approved');
    }
    const lost = await guard.begin({ amount: 500, currency: 'CNY', card: { last4: '1111', bin: '411111', expiry: '12/29' } });
    await lost.attempt?.markUnknown();
    await guard.close();
    // Scanned as a snapshot too: its index names ids, lengths, times and order keys.
    const compacting = open(path);
    await compacting.compact();
    await compacting.close();
    expect(shape(path)).toContain('index');

    for (const file of [path, `${path}.journal`]) {
      const text = readFileSync(file, 'utf8');
      expect(text.length).toBeGreaterThan(0);
      for (const pan of pans) {
        expect(text).not.toContain(pan);
        expect(text).not.toContain(pan.replace(/\D/g, ''));
      }
      expect(text).not.toContain('12/29');
      expect(text).not.toContain('12\\/29');
      // Every string and every non-timestamp number: no run of 12 or more digits.
      for (const line of text.split('\n').filter(Boolean)) {
        for (const value of leaves(decode(line))) expect(String(value)).not.toMatch(/\d{12,}/);
      }
    }
  });
});

// `upd`: the index line's update times (the first one whole, the others deltas).
const TIME_FIELDS = new Set(['at', 'createdAt', 'updatedAt', 'pendingSince', 'approvedAt', 'upd']);

/** Every string and number in a parsed line, except epoch-ms timestamps (13 digits by nature). */
function leaves(value: unknown, key = ''): unknown[] {
  if (Array.isArray(value)) return value.flatMap((v) => leaves(v, key));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => [k, ...leaves(v, k)]);
  if (typeof value === 'number' && TIME_FIELDS.has(key)) return [];
  return [value];
}

interface FsHooks {
  /** Fail the next data write: `ENOSPC` writes nothing, `partial` writes half and then fails. */
  beforeWrite?: () => 'ENOSPC' | 'partial' | undefined;
  afterDatasync?: () => void;
}

/** node:fs/promises with hooks on the data file handle's write and datasync. */
function wrapFs(hooks: FsHooks): FileStoreFs {
  const open = (async (...args: Parameters<typeof realFs.open>) => {
    const handle = await realFs.open(...args);
    if (String(args[0]).endsWith('.jsonl') === false) return handle;
    return new Proxy(handle, {
      get(target, property, receiver) {
        if (property === 'write') {
          return async (buffer: Uint8Array, offset: number, length: number, position: number) => {
            const failure = hooks.beforeWrite?.();
            if (failure === 'partial') await target.write(buffer, offset, Math.floor(length / 2), position);
            if (failure) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
            return target.write(buffer, offset, length, position);
          };
        }
        if (property === 'datasync') {
          return async () => {
            await target.datasync();
            hooks.afterDatasync?.();
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }) as FileStoreFs['open'];
  return { ...realFs, open };
}
