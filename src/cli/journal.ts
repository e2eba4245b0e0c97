/**
 * `pos-duplicate-guard journal …`: the audit journal from the command line
 * (SPEC §12). `verify` checks a file store's journal against its chain and
 * the head in the store's data file, without the store's lock: a till can
 * keep running while its journal is checked.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { errorText, isGuardError } from '../errors.js';
import { journalVerifier, type JournalVerification } from '../journal/verify.js';
import { journalAnchors, journalFiles, readJournal } from '../stores/file/journal-read.js';
import { EXIT, type CommandIo } from '../scenarios/cli.js';
import { journalReportCommand } from './journal-report.js';

export interface JournalIo extends CommandIo {
  /** Where `GUARD_SECRET` is read. */
  env: Readonly<Record<string, string | undefined>>;
  /** Whether stderr is a terminal: progress of a long run is shown only there. */
  progress: boolean;
}

export const JOURNAL_HELP = `Usage: pos-duplicate-guard journal <command> [options]

The audit journal of a file store (<path>.journal).

Commands:
  verify   Check the journal against its hash chain and the store's head.
           "pos-duplicate-guard journal verify --help" for the details.
  report   Summarise it for a store manager: decisions, overrides, unknown
           outcomes and how each was resolved, refunds, clock anomalies,
           storage errors, conflicts; as a table, JSON, CSV or an HTML page.
           "pos-duplicate-guard journal report --help" for the details.`;

export const VERIFY_HELP = `Usage: pos-duplicate-guard journal verify --store <path>

Checks the journal of the file store at <path> (<path>.journal.1, then
<path>.journal) against its hash chain, keyed by the guard's secret, and
against the head the store keeps in <path>: an edited, missing, reordered or
inserted entry, or a cut tail, is found and named by its seq. Reads without
the store's lock, so a running till is not stopped.

Options:
  --store <path>   The file store's data file (what fileStore(path) was given).
  -h, --help       This help.

Environment:
  GUARD_SECRET     The guard's secret (required): the chain's key is derived from it.

Exit codes:
  0  intact (how many entries, from which seq, how many unsealed ones before
     the chain), or a journal written before the chain (said so: nothing proven)
  1  tampered: the first bad seq and the problem (edited, missing, reordered, truncated)
  2  bad input (no --store, no GUARD_SECRET, no journal, unreadable files)`;

/** Entries between two progress lines on a terminal. */
const PROGRESS_EVERY = 10_000;

/** `pos-duplicate-guard journal …`. Resolves the exit code; never throws for a user error. */
export async function journalCommand(args: readonly string[], io: JournalIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === 'verify') return verifyCommand(rest, io);
  if (command === 'report') return journalReportCommand(rest, { ...io, stderrIsTTY: io.progress });
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(`${JOURNAL_HELP}\n`);
    return command === undefined ? EXIT.unusable : EXIT.passed;
  }
  return usage(io, 'journal', `unknown command "${command}"`);
}

async function verifyCommand(args: readonly string[], io: JournalIo): Promise<number> {
  let values: { store?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      options: { store: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    return usage(io, 'journal verify', (error as Error).message);
  }
  if (values.help) {
    io.stdout(`${VERIFY_HELP}\n`);
    return EXIT.passed;
  }
  const path = values.store;
  if (path === undefined || path === '') return usage(io, 'journal verify', '--store <path> is required');
  const secret = io.env.GUARD_SECRET;
  if (!secret) {
    io.stderr("pos-duplicate-guard journal verify: GUARD_SECRET is not set: the journal is checked with the guard's secret.\n");
    return EXIT.unusable;
  }
  if (!existsSync(path) && !journalFiles(path).some((file) => existsSync(file))) {
    io.stderr(`pos-duplicate-guard journal verify: no file store at ${path} (neither it nor ${path}.journal exists).\n`);
    return EXIT.unusable;
  }
  try {
    const { head, rotated, from } = await journalAnchors(path);
    const verifier = journalVerifier({ secret, head, rotated, from });
    let read = 0;
    for await (const entry of readJournal(path, { onBadLine: () => verifier.corrupt() })) {
      verifier.add(entry);
      if (io.progress && ++read % PROGRESS_EVERY === 0) io.stderr(`\rverifying: ${read} entries…`);
    }
    if (io.progress && read >= PROGRESS_EVERY) io.stderr('\r\u001b[K');
    const result = verifier.result();
    io.stdout(`${summary(result, head, path)}\n`);
    return result.ok ? EXIT.passed : EXIT.failed;
  } catch (error) {
    // A secret too short, an unreadable file: what is wrong, without a stack.
    const message = isGuardError(error) ? error.message : errorText(error);
    io.stderr(`pos-duplicate-guard journal verify: ${message}\n`);
    return EXIT.unusable;
  }
}

const WHAT = {
  edited: 'its content or hash was changed, or it was not sealed with this secret',
  missing: 'it is not in the journal: removed, or the chain does not start where it should',
  reordered: 'it is in the journal, but out of its place',
  truncated: 'the journal ends before the head the store kept: its tail was cut',
} as const;

function summary(result: JournalVerification, head: { seq: number } | undefined, path: string): string {
  if (!result.ok) return `tampered: seq ${result.seq} ${result.problem} (${WHAT[result.problem]})`;
  const { entries, unsealed, from, last } = result;
  // Nothing sealed: an old journal reads, but "intact" would claim what nothing proves.
  const old = `unsealed: ${entries} entries, none on the chain (written before it existed): nothing proven`;
  if (from === undefined && unsealed > 0) return old;
  const lines = [`intact: ${entries} entries${from === undefined ? '' : `, seq ${from} to ${last?.seq}`}`];
  if (unsealed > 0) lines.push(`  ${unsealed} unsealed entries before the chain (written before it existed): not proven`);
  const rotated = from !== undefined && from > 1;
  if (rotated) lines.push(`  starts at seq ${from}: earlier entries were rotated away; that entry anchors the chain`);
  const past = head && last ? last.seq - head.seq : 0;
  if (!head) lines.push(`  no head in ${path}: a cut tail cannot be seen`);
  else if (past > 0) lines.push(`  ${past} entries past the head the store kept (seq ${head.seq}): the last ones written`);
  return lines.join('\n');
}

function usage(io: CommandIo, command: string, message: string): number {
  io.stderr(`pos-duplicate-guard ${command}: ${message}\nRun "pos-duplicate-guard ${command} --help" for usage.\n`);
  return EXIT.unusable;
}
