#!/usr/bin/env node
/**
 * The `pos-duplicate-guard` command. Today it has one job, running QA
 * scenarios; the command word keeps room for more without breaking scripts.
 */
import { EXIT, SCENARIOS_HELP, packageVersion, scenariosCommand } from './scenarios/cli.js';
import { reconcileCommand } from './cli/reconcile.js';

const HELP = `pos-duplicate-guard: stops a POS terminal from charging a customer twice.

Usage:
  pos-duplicate-guard scenarios [files or folders...] [--json] [--filter TEXT] [--tag TAG]
  pos-duplicate-guard reconcile --store FILE --transactions FILE [--format NAME] [--json] [--apply]
  pos-duplicate-guard --help | -h
  pos-duplicate-guard --version | -v

Commands:
  scenarios   Run QA scenario files (the bundled library by default).
              "pos-duplicate-guard scenarios --help" for the details below.
  reconcile   Match a store's attempts against the processor's settlement file.
              "pos-duplicate-guard reconcile --help" for its options.

${SCENARIOS_HELP}`;

async function main(args: readonly string[]): Promise<number> {
  const io = { stdout: (text: string) => process.stdout.write(text), stderr: (text: string) => process.stderr.write(text) };
  const [command, ...rest] = args;
  if (command === 'scenarios') return scenariosCommand(rest, io);
  if (command === 'reconcile') return reconcileCommand(rest, io);
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
