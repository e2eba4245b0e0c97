/**
 * SPEC §12 on a real file store: a guard's journal verifies against the
 * head in the data file; every way of tampering with `<path>.journal` is
 * named with its first bad seq; a torn last line, a lagging head and a
 * rotation are honest and verify.
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as realFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGuard, parseJournalHead, verifyJournal, type JournalEntry, type JournalVerification } from '../../../src/index.js';
import { fileStore, readJournal, type FileStoreFs, type FileStoreOptions } from '../../../src/node.js';
import { journalSeal } from '../../../src/journal/chain.js';
import { journalAnchors, readFileMeta } from '../../../src/stores/file/journal-read.js';
import { ManualClock, SECRET } from '../../helpers/guard.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pdg-journal-'));
  dirs.push(dir);
  return join(dir, 'guard.jsonl');
}

/** A till's run: start, `sales` sales approved, and a duplicate of each prompted (decision entries), then close. */
async function run(path: string, sales: number, options: FileStoreOptions = {}, clock = new ManualClock()): Promise<void> {
  const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store: fileStore(path, options), clock });
  for (let i = 0; i < sales; i++) {
    const sale = { amount: 100 + i, currency: 'CNY', card: { token: `tok_${i}` } };
    const decision = await guard.begin(sale);
    await decision.attempt?.approve();
    expect((await guard.begin(sale)).verdict).not.toBe('allow');
    clock.advance(1_000);
  }
  await guard.close();
}

async function entries(path: string): Promise<JournalEntry[]> {
  const all: JournalEntry[] = [];
  for await (const entry of readJournal(path)) all.push(entry);
  return all;
}

/** What `journal verify` does: the journal files in order, the head from the data file. */
async function verify(path: string): Promise<JournalVerification> {
  return verifyJournal(await entries(path), { secret: SECRET, ...(await journalAnchors(path)) });
}

const journalLines = (path: string): string[] => readFileSync(`${path}.journal`, 'utf8').split('\n').slice(0, -1);
const writeLines = (path: string, lines: readonly string[]) => writeFileSync(`${path}.journal`, lines.map((l) => `${l}\n`).join(''));

describe('fileStore journal chain', () => {
  it('seals every entry, gap-free from 1, across restarts; the data file keeps the head', async () => {
    const path = tempFile();
    await run(path, 5);
    await run(path, 3);
    const all = await entries(path);
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    expect(all.every((e) => /^[\w-]{43}$/.test(e.hash ?? ''))).toBe(true);
    const head = parseJournalHead((await readFileMeta(path)).get('journal-head'));
    expect(head).toStrictEqual({ seq: all.length, hash: all.at(-1)?.hash });
    expect(await verify(path)).toStrictEqual({ ok: true, entries: all.length, unsealed: 0, from: 1, last: head });
  });

  describe('names each tampering with its first bad seq', () => {
    const tampered = async (change: (lines: string[]) => string[]): Promise<JournalVerification> => {
      const path = tempFile();
      await run(path, 4);
      writeLines(path, change(journalLines(path)));
      return verify(path);
    };
    const edit = (line: string, fields: object) => JSON.stringify({ ...JSON.parse(line), ...fields });

    it('an edited entry', async () => {
      expect(await tampered((lines) => lines.map((l, i) => (i === 3 ? edit(l, { amount: 1 }) : l)))).toStrictEqual({
        ok: false,
        seq: 4,
        problem: 'edited',
      });
    });
    it('a missing entry', async () => {
      expect(await tampered((lines) => lines.filter((_, i) => i !== 2))).toStrictEqual({ ok: false, seq: 3, problem: 'missing' });
    });
    it('two entries swapped', async () => {
      expect(await tampered((lines) => [lines[0], lines[4], lines[2], lines[3], lines[1], ...lines.slice(5)] as string[])).toStrictEqual({
        ok: false,
        seq: 2,
        problem: 'reordered',
      });
    });
    it('an inserted entry', async () => {
      const forged = (l: string) => edit(l, { type: 'override', reason: 'forged', operator: 'op-9' });
      expect(await tampered((lines) => [lines[0], forged(lines[1] as string), ...lines.slice(1)] as string[])).toStrictEqual({
        ok: false,
        seq: 2,
        problem: 'edited',
      });
    });
    it('a cut tail', async () => {
      const path = tempFile();
      await run(path, 4);
      const lines = journalLines(path);
      writeLines(path, lines.slice(0, -3));
      expect(await verify(path)).toStrictEqual({ ok: false, seq: lines.length - 2, problem: 'truncated' });
      // The till goes on after the head, never over the cut: it stays visible as a gap.
      await run(path, 1);
      expect(await verify(path)).toStrictEqual({ ok: false, seq: lines.length - 2, problem: 'missing' });
    });
    it('a line that is not JSON', async () => {
      const path = tempFile();
      await run(path, 2);
      writeLines(
        path,
        journalLines(path).map((l, i) => (i === 1 ? 'garbage' : l)),
      );
      const head = parseJournalHead((await readFileMeta(path)).get('journal-head'));
      const all: JournalEntry[] = [];
      const bad: number[] = [];
      for await (const entry of readJournal(path, { onBadLine: (_file, line) => bad.push(line) })) all.push(entry);
      expect(bad).toEqual([2]);
      await expect(entries(path)).rejects.toMatchObject({ name: 'GuardStorageError', code: 'READ_FAILED' });
      expect(verifyJournal(all, { secret: SECRET, head })).toMatchObject({ ok: false, seq: 2, problem: 'missing' });
    });
  });

  it('drops a torn last line at open (an honest crash) and goes on: the journal verifies', async () => {
    const path = tempFile();
    await run(path, 2);
    appendFileSync(`${path}.journal`, '{"at":1,"type":"settle","seq":');
    const store = fileStore(path);
    await store.getMeta('x');
    expect(store.warnings().join('\n')).toMatch(/journal: torn last line/);
    await store.close();
    await run(path, 2);
    expect(await verify(path)).toMatchObject({ ok: true });
  });

  it('catches a head that lags the journal up from its last line, so the chain never forks', async () => {
    const path = tempFile();
    await run(path, 2);
    const head = parseJournalHead((await readFileMeta(path)).get('journal-head'));
    const first = (await entries(path))[0] as JournalEntry;
    // A crash between the journal's fsync and the head's write: the data file holds an older head.
    appendFileSync(path, `${JSON.stringify({ op: 'meta', key: 'journal-head', value: JSON.stringify({ seq: 1, hash: first.hash }) })}\n`);
    await run(path, 1);
    const all = await entries(path);
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    expect(all.length).toBeGreaterThan(head?.seq as number);
    expect(await verify(path)).toMatchObject({ ok: true, entries: all.length });
  });

  it('continues the chain across rotated files; verification starts from the rotated file', async () => {
    const path = tempFile();
    await run(path, 6, { journalMaxBytes: 1500 });
    await run(path, 6, { journalMaxBytes: 1500 });
    expect(existsSync(`${path}.journal.1`)).toBe(true);
    const all = await entries(path);
    const result = await verify(path);
    expect(result).toMatchObject({ ok: true, entries: all.length, from: all[0]?.seq });
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: all.length }, (_, i) => (all[0]?.seq as number) + i));
  });

  it('reads an old journal without hashes, then seals from seq 1 after it', async () => {
    const path = tempFile();
    writeFileSync(`${path}.journal`, `${JSON.stringify({ at: 1, type: 'start', detail: 'loaded 0' })}\n`);
    await run(path, 1);
    expect(await verify(path)).toMatchObject({ ok: true, unsealed: 1, from: 1 });
  });

  it('keeps a journal batch whose write failed, cuts off what it left, and writes it with the next: no gap in the chain', async () => {
    const path = tempFile();
    let failures = 1;
    // The journal's first append writes 10 bytes, then the disk is full.
    const fs: FileStoreFs = {
      ...realFs,
      open: (async (file: string, flags?: string, mode?: number) => {
        const handle = await realFs.open(file, flags, mode);
        if (!file.endsWith('.journal')) return handle;
        return new Proxy(handle, {
          get(target, key) {
            if (key === 'appendFile' && failures > 0) {
              return async (data: Buffer) => {
                failures--;
                await target.appendFile(data.subarray(0, 10));
                throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
              };
            }
            const value: unknown = Reflect.get(target, key);
            return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
          },
        });
      }) as FileStoreFs['open'],
    };
    const store = fileStore(path, { fs });
    const seal = journalSeal(SECRET);
    await store.appendJournal({ at: 1, type: 'start' }, seal);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(store.appendJournal({ at: 2, type: 'settle' }, seal)).rejects.toMatchObject({ code: 'WRITE_FAILED' });
    await store.close();
    const all = await entries(path);
    expect(all.map((e) => [e.seq, e.type])).toEqual([
      [1, 'start'],
      [2, 'settle'],
    ]);
    expect(await verify(path)).toMatchObject({ ok: true, entries: 2, last: { seq: 2 } });
  });

  it("makes the journal file's name durable (directory fsynced) before any head in the data file points into it", async () => {
    // A new file's fdatasync does not make its directory entry durable: after
    // a power cut the journal could be gone while the data file's head says
    // seq N, and an honest till would read as truncated.
    const path = tempFile();
    const events: string[] = [];
    const fs: FileStoreFs = {
      ...realFs,
      open: (async (file: string, flags?: string, mode?: number) => {
        if (file === `${path}.journal` && !existsSync(file)) events.push('journal created');
        const handle = await realFs.open(file, flags, mode);
        if (file === dirname(path)) {
          const sync = handle.sync.bind(handle);
          (handle as { sync: () => Promise<void> }).sync = () => (events.push('directory synced'), sync());
        }
        if (file === path) {
          const write = handle.write.bind(handle) as (...args: unknown[]) => Promise<unknown>;
          (handle as { write: unknown }).write = (...args: unknown[]) => {
            if (Buffer.isBuffer(args[0]) && args[0].includes('journal-head')) events.push('head written');
            return write(...args);
          };
        }
        return handle;
      }) as FileStoreFs['open'],
    };
    const store = fileStore(path, { fs });
    await store.appendJournal({ at: 1, type: 'start' }, journalSeal(SECRET));
    await store.close();
    expect(events).toContain('head written');
    const created = events.indexOf('journal created');
    expect(created).toBeGreaterThanOrEqual(0);
    expect(events.slice(created, events.indexOf('head written'))).toContain('directory synced');
  });

  it('keeps journal-from at the first sealed line of the file it rotates, when that file starts with an unsealed entry', async () => {
    // journalMaxBytes 1: every batch rotates the one before. The third batch is [unsealed, seq 3].
    const path = tempFile();
    const store = fileStore(path, { journalMaxBytes: 1 });
    const seal = journalSeal(SECRET);
    // A batch is done once its head is in the data file.
    const written = async (seq: number) => {
      for (let i = 0; i < 400 && parseJournalHead((await readFileMeta(path)).get('journal-head'))?.seq !== seq; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    await store.appendJournal({ at: 1, type: 'start' }, seal);
    await written(1);
    // Queued while the batch of seq 2 is being written: one batch, so one file.
    await store.appendJournal({ at: 2, type: 'settle' }, seal);
    await store.appendJournal({ at: 3, type: 'storage', detail: 'written unsealed' });
    await store.appendJournal({ at: 4, type: 'settle' }, seal);
    await written(3);
    await store.appendJournal({ at: 5, type: 'settle' }, seal);
    await store.close();
    expect((await entries(path)).map((e) => e.seq)).toEqual([undefined, 3, 4]);
    expect(await verify(path)).toMatchObject({ ok: true, unsealed: 1, from: 3, last: { seq: 4 } });
  });
});
