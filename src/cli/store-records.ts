/**
 * A file store's records, read without opening the store: no secret, no
 * lock, nothing written. The till may be running on the file: the command
 * reads what is on disk now (lines are appended whole, a compaction renames
 * a complete file in), and the last line for an id wins, as at start-up.
 */
import { GuardStorageError, errorText } from '../errors.js';
import { redact } from '../redact.js';
import { parseLine } from '../stores/file/jsonl.js';
import type { AttemptRecord } from '../types.js';
import { readRegularFile } from './regular-file.js';

export interface StoreRecords {
  records: AttemptRecord[];
  /** Lines that could not be read (a torn last line while the till writes): skipped. The first few, masked, then how many more. */
  warnings: string[];
}

/** Unreadable lines named one by one; the rest are counted. */
const MAX_WARNINGS = 20;

export async function readStoreRecords(path: string): Promise<StoreRecords> {
  let text: string;
  try {
    text = await readStoreText(path);
  } catch (error) {
    if (error instanceof GuardStorageError) throw error;
    throw new GuardStorageError('READ_FAILED', `${path}: cannot be read: ${errorText(error)}`, { field: 'store', cause: error });
  }
  const records = new Map<string, AttemptRecord>();
  const warnings: string[] = [];
  let unread = 0;
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line === '') continue;
    const parsed = parseLine(line);
    if (typeof parsed === 'string') {
      // Masked: the reason quotes the line (its op, its id), which a damaged or hostile file fills with anything.
      if (unread++ < MAX_WARNINGS) warnings.push(redact(`${path}:${i + 1}: skipped, ${parsed}`));
    } else if (parsed.op === 'record') records.set(parsed.record.id, parsed.record);
    else if (parsed.op === 'delete') records.delete(parsed.id);
  }
  // A file of garbage is said in a few lines, not one per line.
  const more = unread - MAX_WARNINGS;
  if (more > 0) {
    warnings.push(redact(`${path}: ${more.toLocaleString('en-US')} more line${more === 1 ? '' : 's'} could not be read (skipped)`));
  }
  return { records: [...records.values()], warnings };
}

/** The file's text, if it is a regular file: see readRegularFile. */
async function readStoreText(path: string): Promise<string> {
  const file = await readRegularFile(path);
  if (file.kind === 'text') return file.text;
  // No size limit is asked for, so only a folder, a pipe or a device gets here.
  const what = file.kind === 'special' ? file.what : `${file.size} bytes`;
  throw new GuardStorageError(
    'READ_FAILED',
    `${path}: cannot be read: it is ${what}, not a regular file: give the data file fileStore() writes`,
    {
      field: 'store',
    },
  );
}

/** What `guard.attempts()` would say of a record at `now`: a `pending` older than `pendingTimeoutMs` reads `unknown` (SPEC §2). */
export function asSeenAt(record: AttemptRecord, now: number, pendingTimeoutMs: number): AttemptRecord {
  return record.status === 'pending' && now - record.pendingSince > pendingTimeoutMs ? { ...record, status: 'unknown' } : record;
}
