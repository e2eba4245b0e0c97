import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readScenarioFiles, type LoadedScenario } from './load.js';
import { safeText } from './render.js';
import { formatFileErrors, formatScenario, formatSummary, jsonErrorReport, jsonReport, type ReportedScenario } from './report.js';
import { runScenario } from './runner.js';

/** Exit codes of the `scenarios` command. */
export const EXIT = { passed: 0, failed: 1, unusable: 2 } as const;

export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const SCENARIOS_HELP = `Usage: pos-duplicate-guard scenarios [files or folders...] [options]

Runs QA scenario files (JSON) against a fresh guard each, on a memoryStore()
with a virtual clock. A folder is searched recursively for *.json files, run
in name order; links are followed, except one to a folder that contains it
(noted on stderr). With no paths, runs the scenarios bundled with the package.

Options:
  --json          Print exactly one JSON document on stdout and nothing else:
                  { passed, failed, scenarios: [{ file, name, passed,
                  failures: [{ step, expected, actual }] }] }  (steps 1-based)
  --filter TEXT   Run only scenarios whose name or file contains TEXT
                  (case-insensitive).
  --tag TAG       Run only scenarios tagged TAG. Repeat to allow several tags:
                  a scenario runs if it has any of them. Combines with --filter.
  -h, --help      Show this help.

Output: one line per scenario (✓ or ✗, name, steps, time); under a failure,
its first failing step with expected and actual, and the step's JSON. The last
line is exactly "N passed, N failed".

Exit codes:
  0  every scenario passed
  1  at least one scenario failed
  2  a file could not be read, is over 4 MiB or is not a valid scenario, a
     folder holds no *.json files, nothing matched --filter/--tag, or the
     arguments are wrong

Examples:
  pos-duplicate-guard scenarios
  pos-duplicate-guard scenarios qa/scenarios --tag refund
  pos-duplicate-guard scenarios qa/double-tap.json --json > report.json

Scenario files are described by pos-duplicate-guard/scenario.schema.json:
add "$schema": "./node_modules/pos-duplicate-guard/schema/scenario.schema.json"
to a file for autocompletion in your editor.`;

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

interface ScenariosArgs {
  paths: string[];
  json: boolean;
  filter: string | undefined;
  tags: string[];
  help: boolean;
}

function parse(args: readonly string[]): ScenariosArgs {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      filter: { type: 'string' },
      tag: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.filter !== undefined && values.filter.trim() === '') throw new UsageError('--filter needs a non-empty TEXT');
  return { paths: positionals, json: values.json === true, filter: values.filter, tags: values.tag ?? [], help: values.help === true };
}

class UsageError extends Error {}

/** `pos-duplicate-guard scenarios …`. Resolves the exit code; never throws for a user error. */
export async function scenariosCommand(args: readonly string[], io: CommandIo): Promise<number> {
  let options: ScenariosArgs;
  try {
    options = parse(args);
  } catch (error) {
    // parseArgs errors say which option and why ("Unknown option '--jsn'").
    return usage(io, args.includes('--json'), (error as Error).message);
  }
  if (options.help) {
    io.stdout(`${SCENARIOS_HELP}\n`);
    return EXIT.passed;
  }

  let paths = options.paths;
  if (paths.length === 0) {
    const bundled = bundledScenariosFolder();
    if (bundled === undefined) {
      return usage(io, options.json, `cannot find the bundled scenarios folder of ${PACKAGE_NAME}: pass files or folders`);
    }
    paths = [display(bundled)];
  }

  const { loaded, errors, notes } = await readScenarioFiles(paths);
  // On stderr, even with --json: stdout stays exactly one JSON document.
  for (const note of notes) io.stderr(`${note}\n`);
  if (errors.length > 0) {
    if (options.json) io.stdout(`${JSON.stringify(jsonErrorReport(errors), null, 2)}\n`);
    io.stderr(`${formatFileErrors(errors)}\n${errors.length} invalid scenario file${errors.length === 1 ? '' : 's'}: nothing was run\n`);
    return EXIT.unusable;
  }

  const selected = loaded.filter((entry) => selects(entry, options));
  if (selected.length === 0) {
    const by = [options.filter === undefined ? '' : `--filter "${options.filter}"`, ...options.tags.map((t) => `--tag "${t}"`)]
      .filter(Boolean)
      .join(' ');
    return usage(io, options.json, `no scenario matches ${by} (${loaded.length} loaded)`);
  }

  const reported: ReportedScenario[] = [];
  for (const { file, scenario } of selected) {
    const result = await runScenario(scenario);
    const entry = { file, result, steps: scenario.steps };
    reported.push(entry);
    if (!options.json) io.stdout(`${formatScenario(entry)}\n`);
  }
  const results = reported.map((r) => r.result);
  if (options.json) io.stdout(`${JSON.stringify(jsonReport(reported), null, 2)}\n`);
  else io.stdout(`${formatSummary(results)}\n`);
  return results.every((r) => r.passed) ? EXIT.passed : EXIT.failed;
}

function selects({ file, scenario }: LoadedScenario, { filter, tags }: ScenariosArgs): boolean {
  if (filter !== undefined) {
    const needle = filter.toLowerCase();
    if (!scenario.name.toLowerCase().includes(needle) && !file.toLowerCase().includes(needle)) return false;
  }
  return tags.length === 0 || tags.some((tag) => scenario.tags.includes(tag));
}

function usage(io: CommandIo, json: boolean, message: string): number {
  if (json) io.stdout(`${JSON.stringify(jsonErrorReport([], [message]), null, 2)}\n`);
  // A --filter or a path may name a test card: masked as everything printed is.
  io.stderr(`pos-duplicate-guard scenarios: ${safeText(message, 1_000)}\nRun "pos-duplicate-guard scenarios --help" for usage.\n`);
  return EXIT.unusable;
}

/** The bundled folder as a user would type it: relative to the working folder when inside it. */
function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}
