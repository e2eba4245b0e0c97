/**
 * atk31: journal rotation (a438b72: journal-from read from the file being
 * rotated) when the rename fails, and when the process dies between the
 * journal-from write and the rename.
 */
import * as realFs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseJournalHead, verifyJournal, type JournalEntry } from '../../src/index.js';
import { fileStore, readJournal, type FileStoreFs } from '../../src/node.js';
import { journalSeal } from '../../src/journal/chain.js';
import { journalAnchors, readFileMeta } from '../../src/stores/file/journal-read.js';
import { SECRET } from '../helpers/guard.js';
import { scratch } from '../helpers/scratch.js';

const { tempFile } = scratch('atk31-journal-rotate-');
const seal = journalSeal(SECRET);

async function entries(path: string): Promise<JournalEntry[]> {
  const all: JournalEntry[] = [];
  for await (const entry of readJournal(path)) all.push(entry);
  return all;
}
const verify = async (path: string) => verifyJournal(await entries(path), { secret: SECRET, ...(await journalAnchors(path)) });
/** Until the batch of `seq` is written (its head in the data file). */
async function written(path: string, seq: number): Promise<void> {
  for (let i = 0; i < 400 && parseJournalHead((await readFileMeta(path)).get('journal-head'))?.seq !== seq; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** An fs whose renames of `<path>.journal` fail while `failing.on` (EBUSY: an antivirus or backup holding the file). */
function busyRename() {
  const failing = { on: false };
  const rename = (async (from: string, to: string) => {
    if (failing.on && String(from).endsWith('.journal')) throw Object.assign(new Error('EBUSY: resource busy, rename'), { code: 'EBUSY' });
    return realFs.rename(from, to);
  }) as FileStoreFs['rename'];
  return { failing, fs: { ...realFs, rename } as FileStoreFs };
}

describe('atk31: journal rotation that fails or is cut short (held)', () => {
  it('a rotation whose rename fails goes on at the next flush: every entry kept, the chain verifies', async () => {
    const path = tempFile();
    const { failing, fs } = busyRename();
    const store = fileStore(path, { fs, journalMaxBytes: 200 });
    for (let seq = 1; seq <= 4; seq++) {
      await store.appendJournal({ at: seq, type: 'settle', detail: 'x'.repeat(80) }, seal);
      await written(path, seq);
    }
    failing.on = true;
    await store.appendJournal({ at: 5, type: 'settle' }, seal);
    await new Promise((resolve) => setTimeout(resolve, 30));
    failing.on = false;
    // The failed flush is said by the next append, and written with it.
    await expect(store.appendJournal({ at: 6, type: 'settle' }, seal)).rejects.toMatchObject({ code: 'WRITE_FAILED' });
    await written(path, 6);
    await store.close();
    const result = await verify(path);
    expect(result).toMatchObject({ ok: true, last: { seq: 6 } });
    expect((await entries(path)).map((entry) => entry.seq).slice(-2)).toEqual([5, 6]);
  });

  it('the process dies after journal-from is written and before the rename: the next start rotates and the chain verifies', async () => {
    const path = tempFile();
    const { failing, fs } = busyRename();
    const store = fileStore(path, { fs, journalMaxBytes: 200 });
    for (let seq = 1; seq <= 4; seq++) {
      await store.appendJournal({ at: seq, type: 'settle', detail: 'x'.repeat(80) }, seal);
      await written(path, seq);
    }
    // journal-from is durable, the rename never happens, and the process is gone (its unwritten batch with it).
    failing.on = true;
    await store.appendJournal({ at: 5, type: 'settle' }, seal);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const meta = await readFileMeta(path);
    expect(meta.get('journal-from')).toBeDefined();
    await store.close().catch(() => undefined);
    const again = fileStore(path, { journalMaxBytes: 200 });
    await again.appendJournal({ at: 7, type: 'settle' }, seal);
    await again.appendJournal({ at: 8, type: 'settle' }, seal);
    await again.close();
    expect(await verify(path)).toMatchObject({ ok: true, last: { seq: 6 } });
  });
});
