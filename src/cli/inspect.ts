/**
 * `pos-duplicate-guard inspect <file>`: a file store's data file, for a
 * person. A line of the file is the store's compact JSON, epoch
 * milliseconds and all (and an older file's lines are arrays); this prints
 * each attempt as labelled JSON with its times as ISO strings, or one JSON
 * object per line (`--json`) for jq and friends.
 *
 * It reads the file the way reconcile does (store-records.ts, the store's
 * own line decoding): no secret, no lock, nothing written, so it may run
 * beside a till that has the file open. The last line for an attempt wins;
 * a line that cannot be read (the last one, torn by a write cut short or
 * still under way) is reported on stderr and the rest is printed.
 *
 * Records hold no card data (fingerprints, BIN and last 4 only); every text
 * is still masked on the way out, so a future field cannot leak a card
 * number through this command, and control characters are written out.
 */
import { errorText } from '../errors.js';
import { redactCardNumbers } from '../redact.js';
import { closest } from '../scenarios/args.js';
import type { AttemptRecord } from '../types.js';
import { printable, printableJson } from './printable.js';
import { readStoreRecords } from './store-records.js';

export interface InspectIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const EXIT = { ok: 0, unusable: 2 } as const;

export const INSPECT_HELP = `Usage: pos-duplicate-guard inspect <file> [--json]

Prints the attempts in a file store's data file (the path given to
fileStore(), e.g. /var/lib/pos/guard.jsonl), oldest first: each as labelled
JSON with times as ISO 8601 strings (UTC). Reads only: no secret, no lock,
safe beside a running till. The last line for an attempt wins, as when the
store opens; a line that cannot be read (a torn last line) is reported on
stderr and skipped. Statuses are as stored: a "pending" left by a till that
stopped mid-charge is what a guard opening the file reports as "unknown".

Options:
  --json       One JSON object per line (NDJSON), one per attempt, nothing
               else on stdout.
  -h, --help   Show this help.

Exit codes:
  0  printed (lines that could not be read are noted on stderr)
  2  the file cannot be read, holds no readable line, or the arguments are wrong`;

/** Record fields holding epoch milliseconds, shown as ISO strings. */
const TIME_FIELDS = ['createdAt', 'updatedAt', 'pendingSince', 'approvedAt'] as const;
/** Identifiers the guard made itself: kept as they are (a random id may hold a digit run that looks like a card number). */
const OWN_IDS = new Set(['id', 'idempotencyKey', 'fingerprint']);

export async function inspectCommand(args: readonly string[], io: InspectIo): Promise<number> {
  const usage = (message: string) => {
    io.stderr(`pos-duplicate-guard inspect: ${message}\nRun "pos-duplicate-guard inspect --help" for usage.\n`);
    return EXIT.unusable;
  };
  const flags = args.filter((arg) => arg.startsWith('-') && arg !== '-');
  const files = args.filter((arg) => !flags.includes(arg));
  if (flags.includes('--help') || flags.includes('-h')) {
    io.stdout(`${INSPECT_HELP}\n`);
    return EXIT.ok;
  }
  const unknown = flags.find((flag) => flag !== '--json');
  if (unknown !== undefined) {
    const near = closest(unknown, ['--json', '--help']);
    return usage(`unknown option ${unknown}${near === undefined ? '' : ` (did you mean ${near}?)`}`);
  }
  if (files.length !== 1) return usage(files.length === 0 ? 'give the data file to read' : `give one data file, not ${files.length}`);
  const path = files[0] as string;
  const json = flags.includes('--json');

  let read: Awaited<ReturnType<typeof readStoreRecords>>;
  try {
    read = await readStoreRecords(path);
  } catch (error) {
    io.stderr(`pos-duplicate-guard inspect: ${printable(errorText(error))}\n`);
    return EXIT.unusable;
  }
  for (const warning of read.warnings) io.stderr(`${printable(warning)}\n`);
  if (read.records.length === 0 && read.warnings.length > 0) {
    io.stderr(
      `pos-duplicate-guard inspect: ${printable(path)}: no line could be read as a file store record: is it a data file of fileStore()?\n`,
    );
    return EXIT.unusable;
  }

  const records = [...read.records].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (json) {
    for (const record of records) io.stdout(`${printableJson(readable(record), 0)}\n`);
    return EXIT.ok;
  }
  for (const [i, record] of records.entries()) {
    const label = `attempt ${i + 1} of ${records.length}: ${record.id} (${record.kind} ${record.status})`;
    io.stdout(`${printable(label)}\n${printableJson(readable(record))}\n\n`);
  }
  io.stdout(`${records.length} attempt${records.length === 1 ? '' : 's'} in ${printable(path)}\n`);
  return EXIT.ok;
}

/** The record as a person reads it: times as ISO strings, text masked. Field order as stored. */
export function readable(record: AttemptRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if ((TIME_FIELDS as readonly string[]).includes(key) && typeof value === 'number') out[key] = iso(value);
    else if (key === 'recovery' && typeof value === 'object' && value !== null) {
      out[key] = readableRecovery(value as AttemptRecord['recovery']);
    } else out[key] = OWN_IDS.has(key) ? value : masked(value);
  }
  return out;
}

function readableRecovery(recovery: AttemptRecord['recovery']): unknown {
  if (recovery === undefined) return undefined;
  const { leaseUntil, ...rest } = recovery;
  return { ...rest, ...(leaseUntil === undefined ? {} : { leaseUntil: iso(leaseUntil) }) };
}

function iso(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

/** Every string inside a value, card numbers masked (records have none; this keeps it so). */
function masked(value: unknown): unknown {
  if (typeof value === 'string') return redactCardNumbers(value);
  if (Array.isArray(value)) return value.map(masked);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, masked(inner)]));
  }
  return value;
}
