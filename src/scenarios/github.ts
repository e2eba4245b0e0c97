import { printable } from '../cli/printable.js';
import { safePath, safeText } from './render.js';
import { lineOf, type RunOutcome } from './report.js';

/**
 * GitHub Actions annotations (workflow commands), printed when
 * `GITHUB_ACTIONS=true`: one `::error file=…,line=…,title=…::message` per
 * failing step and per problem of a file that could not be loaded, so the
 * pull request shows each on the line of the scenario file it is about.
 * Escaped as the Actions toolkit does (`@actions/core` command.ts): `%`, CR
 * and LF in the message; those and `:` and `,` in a property.
 */
export function githubAnnotations(outcome: RunOutcome): string[] {
  const annotations: string[] = [];
  for (const entry of outcome.reported) {
    for (const failure of entry.result.failures) {
      const where = failure.step === 0 ? 'config' : `step ${failure.step}`;
      annotations.push(
        annotation(
          entry.file,
          lineOf(entry, failure.step),
          safeText(entry.result.name, 200),
          `${where}: expected ${safeText(failure.expected)}; actual ${safeText(failure.actual)}`,
        ),
      );
    }
  }
  for (const error of outcome.errors) {
    for (const problem of error.problems) {
      const where = [problem.step === undefined ? undefined : `step ${problem.step}`, problem.field].filter((p) => p !== undefined);
      annotations.push(
        annotation(
          error.file ?? 'scenario',
          problem.line,
          'invalid scenario file',
          `${where.length > 0 ? `${where.join(', ')}: ` : ''}${problem.message}`,
        ),
      );
    }
  }
  return annotations;
}

function annotation(file: string, line: number | undefined, title: string, message: string): string {
  const properties = [
    `file=${escapeProperty(safePath(file))}`,
    ...(line === undefined ? [] : [`line=${line}`]),
    `title=${escapeProperty(printable(title))}`,
  ];
  // Line breaks are escaped as Actions decodes them; an ESC would still colour or clear the log's view: written out.
  return `::error ${properties.join(',')}::${escapeData(printable(message))}`;
}

export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}
