import { existsSync, readFileSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printableJson } from '../cli/printable.js';
import { parseScenariosArgs, UsageError, type ReporterTarget, type ScenariosArgs } from './args.js';
import { readScenarioFiles, type LoadedScenario } from './load.js';
import { oneLine, pathAtLineStart, safePath, safeText } from './render.js';
import { formatFileErrors, jsonErrorReport, type ReportedScenario, type SkippedScenario } from './report.js';
import { createOutputs, type OutputIo } from './outputs.js';
import { runScenario } from './runner.js';

/** Exit codes of the `scenarios` command. */
export const EXIT = { passed: 0, failed: 1, unusable: 2 } as const;

export interface CommandIo extends OutputIo {
  /** The environment read for GITHUB_ACTIONS, NO_COLOR and FORCE_COLOR; none of them set when absent. */
  env?: Readonly<Record<string, string | undefined>>;
  /** stdout is a terminal: colour and the total time. False when absent. */
  isTTY?: boolean;
}

export const SCENARIOS_HELP = `Usage: pos-duplicate-guard scenarios [files or folders...] [options]

Runs QA scenario files (JSON) against a fresh guard each, on a memoryStore()
with a virtual clock. A folder is searched recursively for *.json files, run
in name order; links are followed, except one to a folder that contains it
(noted on stderr). With no paths, runs the scenarios bundled with the package.

Options:
  --reporter NAME   default, json, junit or tap. Repeat for several at once;
                    at most one prints to stdout, the others need a file.
                    default: one line per scenario (below); json: the
                    --json document; junit: JUnit XML, one <testsuite> per
                    file, one <testcase> per scenario; tap: TAP version 14.
  --output-file PATH
                    Write the one reporter that is not default to PATH.
  --output-file.NAME PATH
                    Write reporter NAME to PATH (adds NAME if not chosen):
                    "--output-file.junit report.xml" keeps the terminal
                    output and writes JUnit for CI.
                    A PATH may not be a scenario file of the run, nor
                    another reporter's PATH (exit 2).
  --json            Same as --reporter json: print exactly one JSON document
                    on stdout and nothing else:
                    { passed, failed, scenarios: [{ file, name, passed, tags,
                    steps, ms, failures: [{ step, line, expected, actual }] }],
                    notRun?, errors? }  (steps and lines 1-based; line: where
                    the step starts in its file). notRun: with --bail, the
                    scenarios not run. errors: only when files could not be
                    loaded (exit 2, nothing run): [{ file, step?, line?,
                    field?, message }], or [{ message }] for wrong arguments.
  --filter TEXT     Run only scenarios whose name or file contains TEXT
                    (case-insensitive).
  --tag TAG         Run only scenarios tagged TAG. Repeat to allow several tags:
                    a scenario runs if it has any of them. Combines with --filter.
  --list            Print what would run (file, name, tags) and run nothing
                    (no report files); with --json, as
                    { scenarios: [{ file, name, tags, steps }] }.
  --bail            Stop after the first failing scenario; the report says
                    how many were not run.
  --no-color, --color
                    Colour is on when stdout is a terminal, off with NO_COLOR
                    set, on with FORCE_COLOR; these flags decide over both.
  -h, --help        Show this help.

Output: one line per scenario (✓ or ✗, name, steps, time); under a failure,
its file:line, its first failing step with expected and actual, and the
step's JSON. On a terminal, the total time on the line before the last. The
last line is exactly "N passed, N failed". With GITHUB_ACTIONS=true, each
failing step is also an annotation (::error file=…,line=…,title=…::…), on
stdout, or on stderr when a report is printed on stdout.

Exit codes:
  0  every scenario passed (or --list)
  1  at least one scenario failed
  2  a file could not be read, is over 4 MiB or is not a valid scenario, a
     folder holds no *.json files, nothing matched --filter/--tag, a report
     could not be written, or the arguments are wrong

Examples:
  pos-duplicate-guard scenarios
  pos-duplicate-guard scenarios qa/scenarios --tag refund
  pos-duplicate-guard scenarios qa/double-tap.json --json > report.json
  pos-duplicate-guard scenarios qa --output-file.junit reports/scenarios.xml
  pos-duplicate-guard scenarios qa --reporter tap --output-file reports/scenarios.tap

Scenario files are described by the package's schema/scenario.schema.json
(JSON Schema 2020-12). For autocompletion, point "$schema" at it by a path
relative to the scenario file, e.g. from qa/scenarios/x.json:
  "$schema": "../../node_modules/pos-duplicate-guard/schema/scenario.schema.json"
or map a glob to it once in VS Code's settings ("json.schemas"). Check files
in CI with ajv-cli:
  npx ajv validate --spec=draft2020 -s node_modules/pos-duplicate-guard/schema/scenario.schema.json -d "qa/scenarios/**/*.json"
The full guide: docs/scenarios.md in the pos-duplicate-guard repository.`;

const PACKAGE_NAME = 'pos-duplicate-guard';

/**
 * The installed package's folder, found by walking up from this module, which
 * sits in \`src/scenarios/\` under tsx and in \`dist/\` once built: so both
 * \`npm run scenarios\` on a fresh clone and the installed bin find it.
 */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && readManifest(manifest)?.name === PACKAGE_NAME) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The bundled library: \`scenarios/\` at the package root. */
export function bundledScenariosFolder(): string | undefined {
  const root = packageRoot();
  return root === undefined ? undefined : join(root, 'scenarios');
}

/** The package's version, for \`--version\`. */
export function packageVersion(): string {
  const root = packageRoot();
  return (root === undefined ? undefined : readManifest(join(root, 'package.json'))?.version) ?? 'unknown';
}

function readManifest(manifest: string): { name?: string; version?: string } | undefined {
  try {
    return JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
  } catch {
    return undefined;
  }
}

/** `pos-duplicate-guard scenarios …`. Resolves the exit code; never throws for a user error. */
export async function scenariosCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const started = performance.now();
  let options: ScenariosArgs;
  try {
    options = parseScenariosArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usage(io, args.includes('--json'), error.message);
  }
  if (options.help) {
    io.stdout(`${SCENARIOS_HELP}\n`);
    return EXIT.passed;
  }
  const jsonOnStdout = options.reporters.some((r) => r.name === 'json' && r.file === undefined);

  let paths = options.paths;
  if (paths.length === 0) {
    const bundled = bundledScenariosFolder();
    if (bundled === undefined) {
      return usage(io, jsonOnStdout, `cannot find the bundled scenarios folder of ${PACKAGE_NAME}: pass files or folders`);
    }
    paths = [display(bundled)];
  }

  const outputs = createOutputs(options.reporters, options.color, io);

  const { loaded, errors, notes } = await readScenarioFiles(paths);
  // On stderr, even with --json: stdout stays exactly one JSON document.
  // A note starts with the path it is about.
  for (const note of notes) io.stderr(`${pathAtLineStart(note)}\n`);
  const clash = await reportClash(options.reporters, [...loaded.map((l) => l.file), ...errors.flatMap((e) => e.file ?? [])]);
  if (clash !== undefined) return usage(io, jsonOnStdout, clash);
  if (errors.length > 0) {
    await outputs.finish({ reported: [], notRun: [], errors, ms: performance.now() - started });
    io.stderr(`${formatFileErrors(errors)}\n${errors.length} invalid scenario file${errors.length === 1 ? '' : 's'}: nothing was run\n`);
    return EXIT.unusable;
  }

  const selected = loaded.filter((entry) => selects(entry, options));
  if (selected.length === 0) {
    const by = [options.filter === undefined ? '' : `--filter "${options.filter}"`, ...options.tags.map((t) => `--tag "${t}"`)]
      .filter(Boolean)
      .join(' ');
    return usage(io, jsonOnStdout, `no scenario matches ${by} (${loaded.length} loaded)`);
  }
  if (options.list) {
    io.stdout(listing(selected, jsonOnStdout));
    return EXIT.passed;
  }

  const reported: ReportedScenario[] = [];
  const notRun: SkippedScenario[] = [];
  for (const { file, scenario, stepLines } of selected) {
    if (options.bail && reported.some((r) => !r.result.passed)) {
      notRun.push({ file, name: scenario.name, tags: scenario.tags });
      continue;
    }
    const result = await runScenario(scenario);
    const entry: ReportedScenario = { file, result, steps: scenario.steps, stepLines, tags: scenario.tags };
    reported.push(entry);
    outputs.scenario(entry);
  }
  const written = await outputs.finish({ reported, notRun, errors: [], ms: performance.now() - started });
  if (!written) return EXIT.unusable;
  return reported.every((r) => r.result.passed) ? EXIT.passed : EXIT.failed;
}

/**
 * Why the report files cannot be written as asked, if they cannot: a report
 * written over a scenario file of the run would destroy the QA's file (a
 * typo in a long CI command line does it), and two reporters given one path
 * leave only the last report, with exit 0. Paths are compared as the file
 * system resolves them: `./qa/../qa/x.json` and a link to it are `qa/x.json`.
 */
async function reportClash(reporters: readonly ReporterTarget[], scenarioFiles: readonly string[]): Promise<string | undefined> {
  const targets = reporters.filter((r): r is ReporterTarget & { file: string } => r.file !== undefined);
  if (targets.length === 0) return undefined;
  const scenarios = new Set(await Promise.all(scenarioFiles.map(identity)));
  const seen = new Map<string, ReporterTarget['name']>();
  for (const { name, file } of targets) {
    const id = await identity(file);
    if (scenarios.has(id)) {
      return `--output-file for ${name} is ${file}, a scenario file of this run: refusing to write the report over it (give the report its own path)`;
    }
    const other = seen.get(id);
    if (other !== undefined) return `the ${other} and ${name} reports would both be written to ${file}: give each its own path`;
    seen.set(id, name);
  }
  return undefined;
}

/** The file a path names once links and `..` are resolved; for a file not there yet, its resolved folder and its name. */
async function identity(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const folder = resolve(dirname(path));
    return join(await realpath(folder).catch(() => folder), basename(path));
  }
}

/** `--list`: what would run, without running it. One line each (file, name, tags), or one JSON document. */
function listing(selected: readonly LoadedScenario[], json: boolean): string {
  const items = selected.map(({ file, scenario }) => ({
    file: safePath(file),
    name: safeText(scenario.name),
    tags: scenario.tags.map((tag) => safeText(tag, 200)),
    steps: scenario.steps.length,
  }));
  if (json) return `${printableJson({ scenarios: items })}\n`;
  // One line per scenario: a name is the file's text, and a line break or an escape in it would forge lines or clear the screen.
  const lines = items.map(
    ({ file, name, tags }) => `${pathAtLineStart(file)}: ${oneLine(name)}${tags.length > 0 ? ` [${tags.map(oneLine).join(', ')}]` : ''}`,
  );
  return `${[...lines, `${items.length} scenario${items.length === 1 ? '' : 's'} would run`].join('\n')}\n`;
}

function selects({ file, scenario }: LoadedScenario, { filter, tags }: ScenariosArgs): boolean {
  if (filter !== undefined) {
    const needle = filter.toLowerCase();
    if (!scenario.name.toLowerCase().includes(needle) && !file.toLowerCase().includes(needle)) return false;
  }
  return tags.length === 0 || tags.some((tag) => scenario.tags.includes(tag));
}

function usage(io: CommandIo, json: boolean, message: string): number {
  if (json) io.stdout(`${printableJson(jsonErrorReport([], [message]))}\n`);
  // A --filter or a path may name a test card: masked as everything printed is.
  io.stderr(`pos-duplicate-guard scenarios: ${oneLine(safeText(message, 1_000))}\nRun "pos-duplicate-guard scenarios --help" for usage.\n`);
  return EXIT.unusable;
}

/** The bundled folder as a user would type it: relative to the working folder when inside it. */
function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}
