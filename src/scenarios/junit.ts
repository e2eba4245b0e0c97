import type { ScenarioFileError } from './load.js';
import { renderValue, safePath, safeText } from './render.js';
import { lineOf, type ReportedScenario, type RunOutcome, type SkippedScenario } from './report.js';
import { xmlAttr, xmlText } from './xml.js';

/**
 * The `junit` reporter: the JUnit XML that Jenkins, GitLab, Azure DevOps
 * and GitHub test-report actions read. One `<testsuite>` per file, one
 * `<testcase>` per scenario (`classname` the file, `name` the scenario, as
 * vitest writes them), `time` in seconds. A failing scenario has one
 * `<failure>` whose message names the first failing step, its number and
 * its line in the file; the body lists every failing step with expected and
 * actual. A file that could not be loaded is a testcase with an `<error>`,
 * so CI shows it instead of a green run of nothing. Everything is masked as
 * the terminal output is (render.ts) and escaped for XML (xml.ts).
 */
export function junitReport(outcome: RunOutcome): string {
  const suites = [...outcome.reported.map(scenarioSuite), ...outcome.notRun.map(skippedSuite), ...outcome.errors.map(errorSuite)];
  const count = (key: keyof Suite) => suites.reduce((sum, suite) => sum + (suite[key] as number), 0);
  const totals = `tests="${count('tests')}" failures="${count('failures')}" errors="${count('errors')}" skipped="${count('skipped')}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="pos-duplicate-guard scenarios" ${totals} time="${seconds(outcome.ms)}">`,
    ...suites.map((suite) => suite.xml),
    '</testsuites>',
    '',
  ].join('\n');
}

interface Suite {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  xml: string;
}

function suite(file: string, counts: Omit<Suite, 'xml' | 'tests'>, ms: number, testcase: string): Suite {
  const name = xmlAttr(safePath(file));
  const attrs = `tests="1" failures="${counts.failures}" errors="${counts.errors}" skipped="${counts.skipped}" time="${seconds(ms)}"`;
  return { tests: 1, ...counts, xml: `  <testsuite name="${name}" ${attrs}>\n${testcase}\n  </testsuite>` };
}

function testcase(file: string, name: string, ms: number, line: number | undefined, body: string | undefined): string {
  const attrs = `classname="${xmlAttr(safePath(file))}" name="${xmlAttr(safeText(name))}" file="${xmlAttr(safePath(file))}"${line === undefined ? '' : ` line="${line}"`} time="${seconds(ms)}"`;
  return body === undefined ? `    <testcase ${attrs}/>` : `    <testcase ${attrs}>\n${body}\n    </testcase>`;
}

function scenarioSuite(entry: ReportedScenario): Suite {
  const { file, result } = entry;
  const first = result.failures[0];
  if (first === undefined) {
    return suite(
      file,
      { failures: 0, errors: 0, skipped: 0 },
      result.ms,
      testcase(file, result.name, result.ms, entry.stepLines?.[0], undefined),
    );
  }
  const at = (step: number) => {
    const line = lineOf(entry, step);
    return step === 0 ? 'the config' : `step ${step}${line === undefined ? '' : ` (line ${line})`}`;
  };
  const message = `${at(first.step)}: expected ${safeText(first.expected)}; actual ${safeText(first.actual)}`;
  const details = result.failures.map((failure) => {
    const step = entry.steps[failure.step - 1];
    const line = lineOf(entry, failure.step);
    return [
      `${at(failure.step)} at ${safePath(file)}${line === undefined ? '' : `:${line}`}`,
      ...(step === undefined ? [] : [`  ${renderValue(step)}`]),
      `  expected: ${safeText(failure.expected)}`,
      `  actual:   ${safeText(failure.actual)}`,
    ].join('\n');
  });
  const body = `      <failure message="${xmlAttr(message)}" type="ScenarioStepFailure">${xmlText(details.join('\n\n'))}</failure>`;
  return suite(
    file,
    { failures: 1, errors: 0, skipped: 0 },
    result.ms,
    testcase(file, result.name, result.ms, lineOf(entry, first.step), body),
  );
}

function skippedSuite(skipped: SkippedScenario): Suite {
  const body = `      <skipped message="not run: --bail stopped the run at the first failure"/>`;
  return suite(skipped.file, { failures: 0, errors: 0, skipped: 1 }, 0, testcase(skipped.file, skipped.name, 0, undefined, body));
}

function errorSuite(error: ScenarioFileError): Suite {
  const file = error.file ?? 'scenario';
  const first = error.problems[0];
  const message = first === undefined ? 'is not a valid scenario' : problemText(first);
  const body = `      <error message="${xmlAttr(`invalid scenario file: ${message}`)}" type="ScenarioFileError">${xmlText(error.message)}</error>`;
  return suite(file, { failures: 0, errors: 1, skipped: 0 }, 0, testcase(file, file, 0, first?.line, body));
}

function problemText(problem: ScenarioFileError['problems'][number]): string {
  const where = [
    problem.step === undefined ? undefined : `step ${problem.step}${problem.line === undefined ? '' : ` (line ${problem.line})`}`,
    problem.field,
  ].filter((part) => part !== undefined);
  return where.length > 0 ? `${where.join(', ')}: ${problem.message}` : problem.message;
}

const seconds = (ms: number): string => (ms / 1000).toFixed(3);
