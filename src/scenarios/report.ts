import type { ScenarioFileError } from './load.js';
import type { ScenarioFailure, ScenarioResult } from './runner.js';
import type { ScenarioStep } from './schema.js';
import { PLAIN, type Paint } from './colour.js';
import { oneLine, pathAtLineStart, renderValue, safePath, safeText } from './render.js';

/**
 * What the `scenarios` command prints by default (the `default` reporter),
 * and the `--json` document. Colour only on a terminal (see colour.ts): the
 * output is read in CI logs and pasted into tickets as often as it is read
 * in a terminal.
 */

export interface ReportedScenario {
  file: string;
  result: ScenarioResult;
  steps: readonly ScenarioStep[];
  /** `stepLines[i]`: the 1-based line of the file where step i + 1 starts; empty or absent when not known. */
  stepLines?: readonly number[];
  tags?: readonly string[];
}

/** A scenario selected but not run: `--bail` stopped the run before it. */
export interface SkippedScenario {
  file: string;
  name: string;
  tags: readonly string[];
}

/** Everything a reporter needs once the run is over. */
export interface RunOutcome {
  reported: readonly ReportedScenario[];
  notRun: readonly SkippedScenario[];
  /** Files that could not be loaded: when there are any, nothing was run. */
  errors: readonly ScenarioFileError[];
  /** Real time of the whole command so far, loading included. */
  ms: number;
}

/** The line in the file of a failing step, when known (step 0, the config, has none). */
export function lineOf(entry: Pick<ReportedScenario, 'stepLines'>, step: number): number | undefined {
  return step >= 1 ? entry.stepLines?.[step - 1] : undefined;
}

/** `✓ name (12 steps, 3.1 ms)`, and for a failure its first failing step. */
export function formatScenario(entry: ReportedScenario, paint: Paint = PLAIN): string {
  const { result } = entry;
  const mark = result.passed ? paint.green('✓') : paint.red('✗');
  const line = `${mark} ${oneLine(safeText(result.name))} ${paint.dim(`(${plural(result.steps, 'step')}, ${formatMs(result.ms)})`)}`;
  const first = result.failures[0];
  if (!first) return line;
  const more =
    result.failures.length > 1
      ? `    (${plural(result.failures.length - 1, 'more failing step')}: ${result.failures
          .slice(1)
          .map((f) => f.step)
          .join(', ')})`
      : undefined;
  return [line, ...formatFailure(first, entry, paint), ...(more ? [more] : [])].join('\n');
}

function formatFailure(failure: ScenarioFailure, entry: ReportedScenario, paint: Paint): string[] {
  const step = entry.steps[failure.step - 1];
  const line = lineOf(entry, failure.step);
  return [
    // `file:line`, which terminals and editors open at the step.
    `    ${pathAtLineStart(entry.file)}${line === undefined ? '' : `:${line}`}`,
    // Rendered, not JSON.stringify'd: a step is the file's content, as deep,
    // long and full of card numbers as the file makes it.
    `    step ${failure.step}: ${step ? renderValue(step) : ''}`,
    `      expected: ${paint.green(oneLine(safeText(failure.expected)))}`,
    `      actual:   ${paint.red(oneLine(safeText(failure.actual)))}`,
  ];
}

/**
 * The line before the closing one: how long the run took, and what `--bail`
 * left out. Only what is there to say; `undefined` when nothing is.
 */
export function formatRunNote(outcome: RunOutcome, withTime: boolean): string | undefined {
  const parts = [
    ...(withTime ? [`time ${formatSeconds(outcome.ms)}`] : []),
    ...(outcome.notRun.length > 0 ? [`${plural(outcome.notRun.length, 'scenario')} not run: --bail stopped at the first failure`] : []),
  ];
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/** The closing line, exactly `N passed, N failed`. */
export function formatSummary(results: readonly ScenarioResult[]): string {
  const passed = results.filter((r) => r.passed).length;
  return `${passed} passed, ${results.length - passed} failed`;
}

/** Every problem of every invalid file, one per line. */
export function formatFileErrors(errors: readonly ScenarioFileError[]): string {
  return errors.map((error) => error.message).join('\n');
}

/** A failing step in `--json`: SPEC §7's `{ step, expected, actual }`, with the step's line in its file when known. */
export interface JsonFailure {
  step: number;
  line?: number;
  expected: string;
  actual: string;
}

/** The `--json` document of SPEC §7, with what was added since: `tags`, `steps`, `ms`, a failure's `line`, `notRun`. */
export interface JsonReport {
  passed: number;
  failed: number;
  scenarios: {
    file: string;
    name: string;
    passed: boolean;
    tags: string[];
    /** Steps run. */
    steps: number;
    /** Real time the scenario took, in milliseconds. */
    ms: number;
    failures: JsonFailure[];
  }[];
  /** Only with `--bail`, when it stopped the run: the scenarios selected but not run. */
  notRun?: { file: string; name: string }[];
  /** Only when files could not be loaded or the arguments were wrong (exit code 2). */
  errors?: { file?: string; step?: number; line?: number; field?: string; message: string }[];
}

export function jsonReport(reported: readonly ReportedScenario[], notRun: readonly SkippedScenario[] = []): JsonReport {
  const passed = reported.filter((r) => r.result.passed).length;
  return {
    passed,
    failed: reported.length - passed,
    // Masked as the text output is: a file or scenario named after a test card.
    scenarios: reported.map((entry) => ({
      file: safePath(entry.file),
      name: safeText(entry.result.name),
      passed: entry.result.passed,
      tags: (entry.tags ?? []).map((tag) => safeText(tag, 200)),
      steps: entry.result.steps,
      ms: entry.result.ms,
      failures: entry.result.failures.map((f) => {
        const line = lineOf(entry, f.step);
        return {
          step: f.step,
          ...(line === undefined ? {} : { line }),
          expected: safeText(f.expected, 2_000),
          actual: safeText(f.actual, 2_000),
        };
      }),
    })),
    ...(notRun.length > 0 ? { notRun: notRun.map((s) => ({ file: safePath(s.file), name: safeText(s.name) })) } : {}),
  };
}

/** The `--json` document when nothing could be run: still one document, with the reasons. */
export function jsonErrorReport(errors: readonly ScenarioFileError[], messages: readonly string[] = []): JsonReport {
  return {
    passed: 0,
    failed: 0,
    scenarios: [],
    errors: [
      ...messages.map((message) => ({ message: safeText(message, 1_000) })),
      ...errors.flatMap((error) =>
        error.problems.map((p) => ({
          ...(error.file === undefined ? {} : { file: safePath(error.file) }),
          ...(p.step === undefined ? {} : { step: p.step }),
          ...(p.line === undefined ? {} : { line: p.line }),
          ...(p.field === undefined ? {} : { field: p.field }),
          message: p.message,
        })),
      ),
    ],
  };
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? formatMs(ms) : `${(ms / 1000).toFixed(2)} s`;
}

function formatMs(ms: number): string {
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
