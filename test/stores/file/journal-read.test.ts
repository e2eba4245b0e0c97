import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GuardStorageError } from '../../../src/errors.js';
import { readJournal, readJournalFiles, type JournalReadProgress } from '../../../src/stores/file/journal-read.js';
import type { JournalEntry } from '../../../src/types.js';

function storeWith(files: { journal?: string; rotated?: string }): string {
  const path = join(mkdtempSync(join(tmpdir(), 'pdg-read-')), 'till.jsonl');
  if (files.journal !== undefined) writeFileSync(`${path}.journal`, files.journal);
  if (files.rotated !== undefined) writeFileSync(`${path}.journal.1`, files.rotated);
  return path;
}

const line = (entry: JournalEntry) => `${JSON.stringify(entry)}\n`;

async function read(path: string, options: Parameters<typeof readJournal>[1] = {}): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  for await (const entry of readJournal(path, options)) entries.push(entry);
  return entries;
}

async function failure(path: string): Promise<unknown> {
  try {
    await read(path);
  } catch (error) {
    return error;
  }
  throw new Error('expected the read to fail');
}

describe('readJournal', () => {
  it('reads the rotated file first, then the current one, skipping blank lines', async () => {
    const path = storeWith({
      rotated: line({ at: 1, type: 'start' }) + '\n',
      journal: line({ at: 2, type: 'start' }) + line({ at: 3, type: 'storage' }),
    });
    expect((await read(path)).map((e) => e.at)).toEqual([1, 2, 3]);
  });

  it('skips a torn last line with a warning naming file and line', async () => {
    const path = storeWith({ journal: line({ at: 1, type: 'start' }) + '{"at":2,"type":"dec' });
    const torn: string[] = [];
    expect((await read(path, { onTornLine: (file, at) => torn.push(`${file}:${at}`) })).map((e) => e.at)).toEqual([1]);
    expect(torn).toEqual([`${path}.journal:2`]);
  });

  it('leaves out a last line without its newline, even a whole entry: the write may still be under way', async () => {
    const path = storeWith({ journal: line({ at: 1, type: 'start' }) + JSON.stringify({ at: 2, type: 'start' }) });
    const torn: number[] = [];
    expect((await read(path, { onTornLine: (_file, at) => torn.push(at) })).map((e) => e.at)).toEqual([1]);
    expect(torn).toEqual([2]);
  });

  it('reads a torn write with the next append on one line as a bad line (an old journal: the store now cuts torn bytes at open)', async () => {
    const path = storeWith({ journal: `{"at":1,"type":"sett${line({ at: 2, type: 'start' })}${line({ at: 3, type: 'start' })}` });
    const bad: number[] = [];
    expect((await read(path, { onBadLine: (_file, at) => bad.push(at) })).map((e) => e.at)).toEqual([3]);
    expect(bad).toEqual([1]);
  });

  it('refuses a bad line that is not the last, naming the file and line', async () => {
    const path = storeWith({ journal: line({ at: 1, type: 'start' }) + 'not json\n' + line({ at: 3, type: 'start' }) });
    const error = await failure(path);
    expect(error).toBeInstanceOf(GuardStorageError);
    expect(error).toMatchObject({ code: 'READ_FAILED', message: expect.stringMatching(/till\.jsonl\.journal.*line 2/) });
  });

  it('refuses JSON that is not an object', async () => {
    for (const bad of ['[1,2]', 'null', '"start"']) {
      const path = storeWith({ journal: `${bad}\n${line({ at: 2, type: 'start' })}` });
      expect(await failure(path)).toMatchObject({
        name: 'GuardStorageError',
        code: 'READ_FAILED',
        message: expect.stringContaining('line 1'),
      });
    }
  });

  it('reads no entries where there is no journal, and reads an exported journal file on its own', async () => {
    expect(await read(storeWith({}))).toEqual([]);
    const path = storeWith({ journal: line({ at: 7, type: 'start' }) });
    const entries: JournalEntry[] = [];
    for await (const entry of readJournalFiles([`${path}.journal`])) entries.push(entry);
    expect(entries.map((e) => e.at)).toEqual([7]);
  });

  it('reports progress in bytes and lines, over both files', async () => {
    const rotated = line({ at: 1, type: 'start' });
    const journal = line({ at: 2, type: 'start' }) + line({ at: 3, type: 'start' });
    const path = storeWith({ rotated, journal });
    const seen: JournalReadProgress[] = [];
    await read(path, { onProgress: (p) => seen.push(p) });
    expect(seen.at(-1)).toEqual({ bytesRead: rotated.length + journal.length, totalBytes: rotated.length + journal.length, lines: 3 });
  });
});
