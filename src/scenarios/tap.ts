import { printable } from '../cli/printable.js';
import { renderValue, safePath, safeText } from './render.js';
import { lineOf, type ReportedScenario, type RunOutcome } from './report.js';

/**
 * The `tap` reporter: TAP version 14 (https://testanything.org/tap-version-14-specification.html).
 * One test point per scenario, then one per file that could not be loaded,
 * and `# SKIP` for those `--bail` left out. A failure carries a YAML block
 * (indented two spaces, between `---` and `...`) with the file, the first
 * failing step's number and line, expected and actual, and every other
 * failing step. Strings in it are written as JSON, which is YAML too, so no
 * name or message can end the block or break the document.
 */
export function tapReport(outcome: RunOutcome): string {
  const points: string[] = [];
  const count = outcome.reported.length + outcome.notRun.length + outcome.errors.length;
  for (const entry of outcome.reported) points.push(scenarioPoint(points.length + 1, entry));
  for (const skipped of outcome.notRun) {
    points.push(`ok ${points.length + 1} - ${description(skipped.name)} # SKIP not run: --bail stopped at the first failure`);
  }
  for (const error of outcome.errors) {
    const file = error.file ?? 'scenario';
    const problems = error.problems.map((p) => ({
      ...(p.step === undefined ? {} : { step: p.step }),
      ...(p.line === undefined ? {} : { line: p.line }),
      ...(p.field === undefined ? {} : { field: p.field }),
      message: p.message,
    }));
    points.push(`not ok ${points.length + 1} - ${description(safePath(file))}\n${yaml({ file: safePath(file), problems })}`);
  }
  return ['TAP version 14', `1..${count}`, ...points, ''].join('\n');
}

function scenarioPoint(number: number, entry: ReportedScenario): string {
  const { result } = entry;
  const head = `${result.passed ? 'ok' : 'not ok'} ${number} - ${description(result.name)}`;
  const [first, ...more] = result.failures;
  if (first === undefined) return head;
  const step = entry.steps[first.step - 1];
  const line = lineOf(entry, first.step);
  const diagnostics = {
    file: safePath(entry.file),
    step: first.step,
    ...(line === undefined ? {} : { line }),
    ...(step === undefined ? {} : { source: renderValue(step) }),
    expected: safeText(first.expected),
    actual: safeText(first.actual),
    ms: result.ms,
    ...(more.length > 0
      ? {
          more: more.map((f) => {
            const at = lineOf(entry, f.step);
            return { step: f.step, ...(at === undefined ? {} : { line: at }), expected: safeText(f.expected), actual: safeText(f.actual) };
          }),
        }
      : {}),
  };
  return `${head}\n${yaml(diagnostics)}`;
}

/** A test point's description: one line, masked, control characters written out, with `#` and `\` escaped (TAP 14: `\#` is not a directive). */
function description(name: string): string {
  return printable(safeText(name).replace(/[\r\n\u2028\u2029]+/g, ' '))
    .replace(/\\/g, '\\\\')
    .replace(/#/g, '\\#');
}

type Yaml = string | number | readonly Yaml[] | { readonly [key: string]: Yaml };

/** A YAML block of a test point: mappings and lists in block style, every string as JSON (a YAML double-quoted scalar). */
function yaml(value: { readonly [key: string]: Yaml }): string {
  return ['  ---', ...block(value, '  '), '  ...'].join('\n');
}

function block(value: { readonly [key: string]: Yaml }, indent: string): string[] {
  return Object.entries(value).flatMap(([key, item]) => {
    if (typeof item === 'string' || typeof item === 'number') return [`${indent}${key}: ${JSON.stringify(item)}`];
    if (Array.isArray(item)) {
      return [
        `${indent}${key}:`,
        ...item.flatMap((element: Yaml) => {
          if (typeof element !== 'object') return [`${indent}  - ${JSON.stringify(element)}`];
          const lines = block(element as { readonly [key: string]: Yaml }, `${indent}    `);
          return lines.map((line, i) => (i === 0 ? `${indent}  - ${line.trimStart()}` : line));
        }),
      ];
    }
    return [`${indent}${key}:`, ...block(item as { readonly [key: string]: Yaml }, `${indent}  `)];
  });
}
