import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GuardStorageError } from '../../src/errors.js';
import { readJournalEntries, type JournalReadProgress } from '../../src/report/read.js';
import type { JournalEntry } from '../../src/types.js';

function storeWith(files: { journal?: string; rotated?: string }): string {
  const path = join(mkdtempSync(join(tmpdir(), 'pdg-read-')), 'till.jsonl');
  if (files.journal !== undefined) writeFileSync(`${path}.journal`, files.journal);
  if (files.rotated !== undefined) writeFileSync(`${path}.journal.1`, files.rotated);
  return path;
}

const line = (entry: JournalEntry) => `${JSON.stringify(entry)}\n`;

async function read(path: string, options: Parameters<typeof readJournalEntries>[1] = {}): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  for await (const entry of readJournalEntries(path, options)) entries.push(entry);
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

describe('readJournalEntries', () => {
  it('reads the rotated file first, then the current one, skipping blank lines', async () => {
    const path = storeWith({
      rotated: line({ at: 1, type: 'start' }) + '\n',
      journal: line({ at: 2, type: 'start' }) + line({ at: 3, type: 'storage' }),
    });
    expect((await read(path)).map((e) => e.at)).toEqual([1, 2, 3]);
  });

  it('skips a torn last line with a warning naming file and line', async () => {
    const path = storeWith({ journal: line({ at: 1, type: 'start' }) + '{"at":2,"type":"dec' });
    const warnings: string[] = [];
    expect((await read(path, { onWarning: (m) => warnings.push(m) })).map((e) => e.at)).toEqual([1]);
    expect(warnings).toEqual([`${path}.journal:2: torn last line skipped (the till stopped mid-write)`]);
  });

  it('keeps a whole last entry without its newline', async () => {
    const path = storeWith({ journal: line({ at: 1, type: 'start' }) + JSON.stringify({ at: 2, type: 'start' }) });
    expect((await read(path)).map((e) => e.at)).toEqual([1, 2]);
  });

  it('keeps the entry appended after a torn write on the same line, and warns', async () => {
    const path = storeWith({ journal: `{"at":1,"type":"sett${line({ at: 2, type: 'start' })}${line({ at: 3, type: 'start' })}` });
    const warnings: string[] = [];
    expect((await read(path, { onWarning: (m) => warnings.push(m) })).map((e) => e.at)).toEqual([2, 3]);
    expect(warnings).toEqual([expect.stringMatching(/till\.jsonl\.journal:1: torn entry/)]);
  });

  it('refuses a bad line that is not the last, naming the file and line', async () => {
    const path = storeWith({ journal: line({ at: 1, type: 'start' }) + 'not json\n' + line({ at: 3, type: 'start' }) });
    const error = await failure(path);
    expect(error).toBeInstanceOf(GuardStorageError);
    expect((error as Error).message).toBe(
      `${path}.journal:2: not a journal entry (expected one JSON object with a numeric "at" and a "type" per line)`,
    );
  });

  it('refuses JSON that is not an entry (no numeric at, no type)', async () => {
    for (const bad of ['[1,2]', '{"at":"yesterday","type":"start"}', '{"at":1}', 'null']) {
      const path = storeWith({ journal: `${bad}\n${line({ at: 2, type: 'start' })}` });
      expect(await failure(path)).toMatchObject({
        name: 'GuardStorageError',
        code: 'READ_FAILED',
        message: expect.stringContaining('.journal:1:'),
      });
    }
  });

  it('says so when there is no journal at the path', async () => {
    const error = await failure(storeWith({}));
    expect(error).toMatchObject({
      code: 'READ_FAILED',
      field: 'store',
      message: expect.stringMatching(/no journal at .*till\.jsonl\.journal/),
    });
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
