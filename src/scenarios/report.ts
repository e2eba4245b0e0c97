import type { ScenarioFileError } from './load.js';
import type { ScenarioFailure, ScenarioResult } from './runner.js';
import type { ScenarioStep } from './schema.js';
import { renderValue, safePath, safeText } from './render.js';

/**
 * What the `scenarios` command prints. Plain text, no colours: the output is
 * read in CI logs and pasted into tickets as often as it is read in a terminal.
 */

export interface ReportedScenario {
  file: string;
  result: ScenarioResult;
  steps: readonly ScenarioStep[];
}

/** `✓ name (12 steps, 3.1 ms)`, and for a failure its first failing step. */
export function formatScenario({ file, result, steps }: ReportedScenario): string {
  const line = `${result.passed ? '✓' : '✗'} ${safeText(result.name)} (${plural(result.steps, 'step')}, ${formatMs(result.ms)})`;
  const first = result.failures[0];
  if (!first) return line;
  const more =
    result.failures.length > 1
      ? `    (${plural(result.failures.length - 1, 'more failing step')}: ${result.failures
          .slice(1)
          .map((f) => f.step)
          .join(', ')})`
      : undefined;
  return [line, ...formatFailure(first, steps, file), ...(more ? [more] : [])].join('\n');
}

function formatFailure(failure: ScenarioFailure, steps: readonly ScenarioStep[], file: string): string[] {
  const step = steps[failure.step - 1];
  return [
    `    ${safePath(file)}`,
    // Rendered, not JSON.stringify'd: a step is the file's content, as deep,
    // long and full of card numbers as the file makes it.
    `    step ${failure.step}: ${step ? renderValue(step) : ''}`,
    `      expected: ${safeText(failure.expected)}`,
    `      actual:   ${safeText(failure.actual)}`,
  ];
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

/** The `--json` document of SPEC §7. */
export interface JsonReport {
  passed: number;
  failed: number;
  scenarios: { file: string; name: string; passed: boolean; failures: ScenarioFailure[] }[];
  /** Only when files could not be loaded or the arguments were wrong (exit code 2). */
  errors?: { file?: string; step?: number; field?: string; message: string }[];
}

export function jsonReport(reported: readonly ReportedScenario[]): JsonReport {
  const passed = reported.filter((r) => r.result.passed).length;
  return {
    passed,
    failed: reported.length - passed,
    // Masked as the text output is: a file or scenario named after a test card.
    scenarios: reported.map(({ file, result }) => ({
      file: safePath(file),
      name: safeText(result.name),
      passed: result.passed,
      failures: result.failures,
    })),
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
          ...(p.field === undefined ? {} : { field: p.field }),
          message: p.message,
        })),
      ),
    ],
  };
}

function formatMs(ms: number): string {
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
