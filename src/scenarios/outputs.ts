import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { errorText } from '../errors.js';
import type { ReporterTarget } from './args.js';
import { ANSI, PLAIN, useColour } from './colour.js';
import { githubAnnotations } from './github.js';
import { safePath } from './render.js';
import type { ReportedScenario, RunOutcome } from './report.js';
import { createReporter } from './reporters.js';

/**
 * Where a run's reports go: each reporter's text to stdout or to its file,
 * GitHub annotations beside them. The command says what happened; this
 * decides who hears it, so the command reads as the run, top to bottom.
 */

export interface OutputIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env?: Readonly<Record<string, string | undefined>>;
  isTTY?: boolean;
}

export interface Outputs {
  /** A scenario has finished: streamed to the reporters that stream (default). */
  scenario(entry: ReportedScenario): void;
  /** The run is over (or could not start): annotations, each report's end, the files written. False if a file could not be. */
  finish(outcome: RunOutcome): Promise<boolean>;
}

export function createOutputs(targets: readonly ReporterTarget[], color: boolean | undefined, io: OutputIo): Outputs {
  const env = io.env ?? {};
  const terminal = io.isTTY === true;
  const paint = useColour({ flag: color, env, isTTY: terminal }) ? ANSI : PLAIN;
  const outputs = targets.map((target) => ({
    target,
    // Colour and the time line only for the default reporter on the terminal; a file gets plain text.
    reporter: createReporter(target.name, target.file === undefined ? { paint, withTime: terminal } : { paint: PLAIN, withTime: false }),
    buffered: [] as string[],
  }));
  const emit = (text: string, output: { target: ReporterTarget; buffered: string[] }) => {
    if (text === '') return;
    if (output.target.file === undefined) io.stdout(text);
    else output.buffered.push(text);
  };
  // Annotations share stdout with the default reporter; beside a document on stdout they go to stderr, keeping it one document.
  const documentOnStdout = targets.some((t) => t.name !== 'default' && t.file === undefined);
  const annotate = (lines: readonly string[]) => {
    if (env.GITHUB_ACTIONS !== 'true') return;
    for (const line of lines) {
      if (documentOnStdout) io.stderr(`${line}\n`);
      else io.stdout(`${line}\n`);
    }
  };
  return {
    scenario: (entry) => {
      for (const output of outputs) emit(output.reporter.scenario(entry), output);
    },
    finish: async (outcome) => {
      annotate(githubAnnotations(outcome));
      for (const output of outputs) emit(output.reporter.end(outcome), output);
      return writeReports(outputs, io);
    },
  };
}

/** Writes the reports that go to files. A report CI cannot read is a broken run: said on stderr. */
async function writeReports(outputs: readonly { target: ReporterTarget; buffered: readonly string[] }[], io: OutputIo): Promise<boolean> {
  let ok = true;
  for (const { target, buffered } of outputs) {
    if (target.file === undefined) continue;
    try {
      await mkdir(dirname(resolve(target.file)), { recursive: true });
      await writeFile(target.file, buffered.join(''));
    } catch (error) {
      ok = false;
      io.stderr(`pos-duplicate-guard scenarios: cannot write the ${target.name} report to ${safePath(target.file)}: ${errorText(error)}\n`);
    }
  }
  return ok;
}
