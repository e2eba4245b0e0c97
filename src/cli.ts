#!/usr/bin/env node
/**
 * The `pos-duplicate-guard` command: QA scenarios, reconciliation against
 * the processor's records, a file store's data file for a person (`inspect`), and the audit journal (`journal verify`, `journal report`). A command word first keeps room for more without
 * breaking scripts.
 */
import { inspectCommand } from './cli/inspect.js';
import { journalCommand } from './cli/journal.js';
import { EXIT, SCENARIOS_HELP, packageVersion, scenariosCommand } from './scenarios/cli.js';
import { reconcileCommand } from './cli/reconcile.js';

const HELP = `pos-duplicate-guard: stops a POS terminal from charging a customer twice.

Usage:
  pos-duplicate-guard scenarios [files or folders...] [--reporter NAME] [--output-file[.NAME] PATH] [--json]
                                [--filter TEXT] [--tag TAG] [--list] [--bail] [--no-color]
  pos-duplicate-guard reconcile --store FILE --transactions FILE [--format NAME] [--json] [--apply]
  pos-duplicate-guard inspect <file> [--json]
  pos-duplicate-guard journal verify --store <path>
  pos-duplicate-guard journal report --store <path> [--from] [--to] [--tz] [--locale] [--json | --csv | --html <file>]
  pos-duplicate-guard --help | -h
  pos-duplicate-guard --version | -v

Commands:
  scenarios   Run QA scenario files (the bundled library by default).
              "pos-duplicate-guard scenarios --help" for the details below.
  reconcile   Match a store's attempts against the processor's settlement file.
              "pos-duplicate-guard reconcile --help" for its options.
  inspect     Print a file store's data file as readable JSON, one block per
              attempt, times as ISO strings. "pos-duplicate-guard inspect --help".
  journal     The audit journal of a file store: "journal verify" checks its
              hash chain (GUARD_SECRET), "journal report" summarises it.
              "pos-duplicate-guard journal --help".

${SCENARIOS_HELP}`;

async function main(args: readonly string[]): Promise<number> {
  const io = { stdout: (text: string) => process.stdout.write(text), stderr: (text: string) => process.stderr.write(text) };
  const [command, ...rest] = args;
  if (command === 'scenarios') return scenariosCommand(rest, { ...io, env: process.env, isTTY: process.stdout.isTTY === true });
  if (command === 'reconcile') return reconcileCommand(rest, io);
  if (command === 'inspect') return inspectCommand(rest, io);
  if (command === 'journal') return journalCommand(rest, { ...io, env: process.env, progress: process.stderr.isTTY === true });
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(`${HELP}\n`);
    return command === undefined ? EXIT.unusable : EXIT.passed;
  }
  if (command === '--version' || command === '-v') {
    io.stdout(`${packageVersion()}\n`);
    return EXIT.passed;
  }
  io.stderr(`pos-duplicate-guard: unknown command "${command}". Run "pos-duplicate-guard --help" for usage.\n`);
  return EXIT.unusable;
}

main(process.argv.slice(2)).then(
  (code) => {
    // exitCode, not exit(): a piped stdout gets flushed before the process ends.
    process.exitCode = code;
  },
  (error: unknown) => {
    // Only a bug gets here (user errors are answered above), so the stack is useful.
    process.stderr.write(
      `pos-duplicate-guard: internal error, please report it: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = EXIT.unusable;
  },
);
