import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { oneLine, pathAtLineStart, safePath, safeText } from './render.js';
import { readRegularFile, type RegularFile } from '../cli/regular-file.js';
import { stepLines } from './step-lines.js';
import {
  DEFAULT_TERMINAL,
  STEP_KINDS,
  scenarioShellSchema,
  stepSchema,
  type Scenario,
  type ScenarioStep,
  type StepKind,
} from './schema.js';
import { GuardConfigError, errorText } from '../errors.js';
import { customMessage, fieldOf, issuePaths, issueRule, spelledOut, valueAt, type Issue, type IssuePath } from '../issues.js';
import { resolveOptions } from '../options.js';
import type { GuardOptions } from '../types.js';

/**
 * Reading scenario files and explaining what is wrong with them. A QA
 * engineer sees the file, the 1-based step and the field, in words: never a
 * zod issue dump, never a stack trace.
 */

export interface ScenarioProblem {
  /** 1-based step number, when the problem is inside a step. */
  step: number | undefined;
  /** 1-based line in the file where that step starts, when it was read from a file. */
  line?: number;
  /** Dotted field, relative to the step when there is one (`settle.status`, `config.window`). */
  field: string | undefined;
  message: string;
}

/** A scenario that cannot be run as written: unreadable, not JSON, or not a valid scenario. */
export class ScenarioFileError extends Error {
  override readonly name = 'ScenarioFileError' as const;
  /** The file, or `undefined` for a scenario passed as an object. */
  readonly file: string | undefined;
  /** Everything found wrong, first problem first. */
  readonly problems: readonly ScenarioProblem[];

  constructor(file: string | undefined, problems: readonly ScenarioProblem[]) {
    // Problems quote the file's content (keys, values, JSON.parse's excerpt),
    // which may be megabytes long or hold a card number: bounded and masked
    // here, whatever found them.
    const safe = problems.map(({ step, line, field, message }) => ({
      step,
      ...(line === undefined ? {} : { line }),
      // On one line each: the message lists one problem a line, and a key or a file name may hold a line break or an escape.
      field: field === undefined ? undefined : oneLine(safeText(field, 200)),
      message: oneLine(safeText(message, 1_000)),
    }));
    // Each line of the message starts with it.
    const where = file === undefined ? 'scenario' : pathAtLineStart(file);
    super(safe.map((p) => `${where}: ${describeProblem(p)}`).join('\n'));
    this.file = file;
    this.problems = safe;
  }

  /** 1-based step of the first problem. */
  get step(): number | undefined {
    return this.problems[0]?.step;
  }

  /** Field of the first problem. */
  get field(): string | undefined {
    return this.problems[0]?.field;
  }
}

function describeProblem({ step, field, message }: ScenarioProblem): string {
  const where = [step === undefined ? undefined : `step ${step}`, field === undefined ? undefined : `\`${field}\``]
    .filter(Boolean)
    .join(', ');
  return where ? `${where}: ${message}` : message;
}

export interface LoadedScenario {
  file: string;
  scenario: Scenario;
  /** `stepLines[i]`: the 1-based line of the file where `scenario.steps[i]` starts, for reports and CI annotations. */
  stepLines: readonly number[];
}

/**
 * Validate a scenario object and apply its defaults. Throws
 * `ScenarioFileError` naming the step and field of each problem, including
 * names used before any step's `as` defined them.
 */
export function parseScenario(input: unknown, file?: string): Scenario {
  const long = longArrays(input);
  if (long.length > 0) throw new ScenarioFileError(file, long);
  // The scenario without its steps, then each step on its own, stopping after
  // MAX_PROBLEMS broken ones: validating a million broken steps at once built
  // a zod issue for each and ran out of memory, or of stack.
  const shell = scenarioShellSchema.safeParse(input);
  const issues: Issue[] = shell.success ? [] : [...shell.error.issues];
  const written: readonly unknown[] = isRecord(input) && Array.isArray(input.steps) ? input.steps : [];
  const steps: ScenarioStep[] = [];
  let broken = 0;
  for (let index = 0; index < written.length && broken < MAX_PROBLEMS; index++) {
    const step = stepSchema.safeParse(written[index]);
    if (step.success) {
      steps.push(withSaleAsWritten(step.data, written[index]));
    } else {
      broken++;
      for (const issue of step.error.issues) issues.push({ ...issue, path: ['steps', index, ...issue.path] });
    }
  }
  if (issues.length > 0) throw new ScenarioFileError(file, explainIssues(issues, input));
  const scenario = { ...shell.data, steps } as Scenario;
  const problems = [...checkConfig(scenario.config), ...checkNames(scenario.steps)];
  if (problems.length > 0) throw new ScenarioFileError(file, problems.slice(0, MAX_PROBLEMS));
  return scenario;
}

/**
 * zod checks an array item by item and spreads the issues into
 * `issues.push(...)`: 300,000 bad items (600 KB of `1,`) overflowed the
 * stack. No scenario needs more items than this in one list.
 */
const MAX_ITEMS = 1_000;

/**
 * Lists longer than MAX_ITEMS, found before zod sees them. `steps` is
 * checked one step at a time instead, and a Sale is the guard's to judge
 * (zod does not look inside it). Only as deep as the schema has lists, and
 * without recursion: the file decides how deep its values go.
 */
function longArrays(input: unknown): ScenarioProblem[] {
  const problems: ScenarioProblem[] = [];
  const pending: { value: unknown; path: PropertyKey[] }[] = [{ value: input, path: [] }];
  while (pending.length > 0 && problems.length < MAX_PROBLEMS) {
    const { value, path } = pending.pop() as { value: unknown; path: PropertyKey[] };
    // steps[i].expect.reasons[j] is the deepest item the schema reads.
    if (path.length > 5) continue;
    if (Array.isArray(value)) {
      const isSteps = path.length === 1 && path[0] === 'steps';
      if (!isSteps && value.length > MAX_ITEMS) {
        problems.push(problemAt(path, `has ${value.length} items: at most ${MAX_ITEMS}`));
        continue;
      }
      for (let i = value.length - 1; i >= 0; i--) pending.push({ value: value[i], path: [...path, i] });
    } else if (isRecord(value)) {
      const keys = Object.keys(value).filter((key) => !(isStepPath(path) && (key === 'begin' || key === 'peek')));
      for (const key of keys.reverse()) pending.push({ value: value[key], path: [...path, key] });
    }
  }
  return problems;
}

/**
 * The step with its Sale as written (SPEC §7): the very object JSON.parse
 * made. zod builds its output by assignment, and assigning an own
 * "__proto__" key sets the copy's prototype instead, so the key (which the
 * guard refuses as an unknown field) was silently dropped and a hostile Sale
 * reached the guard clean. The Sale schema only describes fields (all
 * optional, no defaults, no transforms), so nothing else is lost by this.
 * The other payloads are strict objects the runner rebuilds from known
 * fields; a "__proto__" there is an unknown field, reported at load.
 */
function withSaleAsWritten(step: ScenarioStep, written: unknown): ScenarioStep {
  if (!isRecord(written)) return step;
  if ('begin' in step) return { ...step, begin: written.begin as typeof step.begin };
  if ('peek' in step) return { ...step, peek: written.peek as typeof step.peek };
  return step;
}

/** A `config` the guard would refuse is a broken scenario, found at load time, not a step result. */
function checkConfig(config: Scenario['config']): ScenarioProblem[] {
  const { authorize: _answer, ...options } = config;
  try {
    resolveOptions({ ...(options as Omit<GuardOptions, 'authorize'>), authorize: () => false });
    return [];
  } catch (error) {
    if (!(error instanceof GuardConfigError)) throw error;
    return [{ step: undefined, field: error.field === undefined ? 'config' : `config.${error.field}`, message: error.message }];
  }
}

/**
 * Load scenario files. Each path is a file, or a folder searched recursively
 * for `*.json` files (sorted, so runs are repeatable). Throws the first
 * `ScenarioFileError`; use {@link readScenarioFiles} to collect every one.
 */
export async function loadScenarios(paths: string | readonly string[]): Promise<LoadedScenario[]> {
  const { loaded, errors } = await readScenarioFiles(paths);
  if (errors[0]) throw errors[0];
  return loaded;
}

/**
 * Like {@link loadScenarios}, but reads everything and returns every file's
 * problems, and `notes`: what was deliberately left out (a link that would
 * loop), one line each, for the reader.
 */
export async function readScenarioFiles(
  paths: string | readonly string[],
): Promise<{ loaded: LoadedScenario[]; errors: ScenarioFileError[]; notes: string[] }> {
  const loaded: LoadedScenario[] = [];
  const errors: ScenarioFileError[] = [];
  const { files, errors: missing, notes } = await findScenarioFiles(typeof paths === 'string' ? [paths] : paths);
  errors.push(...missing);
  for (const file of files) {
    try {
      loaded.push({ file, ...(await readScenarioFile(file)) });
    } catch (error) {
      // Anything else is a bug in checking this file (a file once overflowed
      // zod's stack): still this file's problem, said in words, and the other
      // files are still read, rather than one file crashing the whole run.
      errors.push(
        error instanceof ScenarioFileError
          ? error
          : new ScenarioFileError(file, [
              {
                step: undefined,
                field: undefined,
                message: `could not be checked, a bug in pos-duplicate-guard (please report it with this file): ${errorName(error)}`,
              },
            ]),
      );
    }
  }
  return { loaded, errors, notes };
}

/**
 * Far more than any scenario needs (the bundled ones are a few KB), and
 * little enough that parsing and validating one cannot exhaust memory.
 */
const MIB = 1024 * 1024;
const MAX_FILE_BYTES = 4 * MIB;

/** Read and validate one file. */
export async function loadScenarioFile(file: string): Promise<Scenario> {
  return (await readScenarioFile(file)).scenario;
}

/** Read and validate one file, and find the line each step starts on; a problem in a step gets that step's line. */
async function readScenarioFile(file: string): Promise<{ scenario: Scenario; stepLines: number[] }> {
  const text = await readScenarioText(file);
  let json: unknown;
  try {
    // A BOM is what some Windows editors save; JSON.parse would refuse it.
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new ScenarioFileError(file, [{ step: undefined, field: undefined, message: `is not valid JSON: ${jsonErrorText(error, text)}` }]);
  }
  const lines = stepLines(text);
  try {
    return { scenario: parseScenario(json, file), stepLines: lines };
  } catch (error) {
    if (!(error instanceof ScenarioFileError)) throw error;
    const problems = error.problems.map((p) => {
      const line = p.step === undefined ? undefined : lines[p.step - 1];
      return line === undefined ? p : { ...p, line };
    });
    throw new ScenarioFileError(file, problems);
  }
}

async function readScenarioText(file: string): Promise<string> {
  let read: RegularFile;
  try {
    read = await readRegularFile(file, MAX_FILE_BYTES);
  } catch (error) {
    throw new ScenarioFileError(file, [{ step: undefined, field: undefined, message: `cannot be read (${systemReason(error)})` }]);
  }
  if (read.kind === 'text') return read.text;
  const message =
    read.kind === 'special'
      ? `is ${read.what}, not a regular file`
      : `is ${(read.size / MIB).toFixed(1)} MiB: a scenario file may be at most ${MAX_FILE_BYTES / MIB} MiB`;
  throw new ScenarioFileError(file, [{ step: undefined, field: undefined, message }]);
}

/**
 * Expands folders to their `*.json` files, recursively and sorted; keeps files
 * as given. Links are followed, to files and to folders, and shown by the
 * path that was walked; a file reached twice (two links, a file given and
 * its folder) is kept once. A link to a folder that contains it would loop
 * forever: it is not followed, and said once in `notes` (nothing is lost by
 * it: what it leads to is being walked already, or was not asked for).
 */
export async function findScenarioFiles(
  paths: readonly string[],
): Promise<{ files: string[]; errors: ScenarioFileError[]; notes: string[] }> {
  const files: string[] = [];
  const seen = new Set<string>();
  const add = async (file: string) => {
    const key = await realpath(file).catch(() => resolve(file));
    if (!seen.has(key)) {
      seen.add(key);
      files.push(file);
    }
  };
  const walk = new FolderWalk();
  for (const path of paths) {
    let isFolder: boolean;
    try {
      isFolder = (await stat(path)).isDirectory();
    } catch (error) {
      walk.errors.push(
        new ScenarioFileError(path, [{ step: undefined, field: undefined, message: `cannot be read (${systemReason(error)})` }]),
      );
      continue;
    }
    if (!isFolder) {
      await add(path);
      continue;
    }
    const problems = walk.errors.length;
    const found = await walk.root(path);
    // An empty folder is a mistake worth stopping for: "0 passed" would read as
    // green. (A folder that could not be read, or whose *.json could not, has said so.)
    if (found.length === 0 && walk.errors.length === problems) {
      walk.errors.push(
        new ScenarioFileError(path, [{ step: undefined, field: undefined, message: 'is a folder with no scenario files (*.json) in it' }]),
      );
    }
    for (const file of found) await add(file);
  }
  return { files, errors: walk.errors, notes: [...walk.notes.values()] };
}

/** One search of the folders given, remembering what it walked so no folder is walked twice. */
class FolderWalk {
  readonly errors: ScenarioFileError[] = [];
  /** By the link's path, so a link met twice (its folder given twice) is said once. */
  readonly notes = new Map<string, string>();
  /** Real paths of the folders walked: a second link to one is not walked again. */
  readonly #walked = new Set<string>();

  /** A folder given on the command line: walked even if a link led into it before. */
  async root(folder: string): Promise<string[]> {
    let real: string;
    try {
      real = await realpath(folder);
    } catch (error) {
      this.errors.push(
        new ScenarioFileError(folder, [{ step: undefined, field: undefined, message: `cannot be read (${systemReason(error)})` }]),
      );
      return [];
    }
    this.#walked.add(real);
    return this.#files(folder, [real]);
  }

  /** `chain`: the real paths of the folders being walked, from the root down to `folder`. */
  async #files(folder: string, chain: readonly string[]): Promise<string[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      // A subfolder we may not read is that folder's problem, not a crash of the run.
      this.errors.push(
        new ScenarioFileError(folder, [{ step: undefined, field: undefined, message: `cannot be read (${systemReason(error)})` }]),
      );
      return [];
    }
    const out: string[] = [];
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const path = join(folder, entry.name);
      const json = entry.name.endsWith('.json');
      let kind = entry.isDirectory() ? 'folder' : entry.isFile() ? 'file' : 'other';
      // A link (or an entry whose type the file system did not say): what it leads to.
      if (kind === 'other') {
        try {
          const target = await stat(path);
          kind = target.isDirectory() ? 'folder' : target.isFile() ? 'file' : 'other';
        } catch (error) {
          // A *.json that leads nowhere is a scenario file that cannot be read;
          // any other broken link is no more a scenario than a text file is.
          if (json && entry.isSymbolicLink()) {
            this.errors.push(
              new ScenarioFileError(path, [{ step: undefined, field: undefined, message: `cannot be read (${systemReason(error)})` }]),
            );
          }
          continue;
        }
      }
      if (kind === 'file' && json) out.push(path);
      // Nothing else is a scenario: a device or a pipe (reading one could block the run forever).
      if (kind !== 'folder') continue;
      let real: string;
      try {
        real = await realpath(path);
      } catch (error) {
        this.errors.push(
          new ScenarioFileError(path, [{ step: undefined, field: undefined, message: `cannot be read (${systemReason(error)})` }]),
        );
        continue;
      }
      if (chain.some((ancestor) => contains(real, ancestor))) {
        // Itself or a folder above it (up to the root of the file system):
        // following it would walk this folder again, without end.
        this.notes.set(
          path,
          `${safePath(path)}: not followed: it is a link to ${safePath(real)}, a folder that contains it (it would loop)`,
        );
        continue;
      }
      // Reached before through another link: its files are in already.
      if (this.#walked.has(real)) continue;
      this.#walked.add(real);
      // A loop, not push(...): a folder of 200,000 files would overflow the stack.
      for (const file of await this.#files(path, [...chain, real])) out.push(file);
    }
    return out;
  }
}

/** `folder` is `inner` or one of its ancestors (real paths). */
function contains(folder: string, inner: string): boolean {
  const rel = relative(folder, inner);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** JSON.parse's message on one line, with the line and column when it gives a position. */
function jsonErrorText(error: unknown, text: string): string {
  // V8 quotes a window of the text (`Unexpected token 'u', "{"a": u41111"... is
  // not valid JSON`). Digits the window cuts short are masked: redact()
  // would not know a cut card number for one.
  const message = errorText(error)
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\.\.\."[\d -]*\d|\d[\d -]*"\.\.\./g, (cut) => cut.replace(/[\d -]+/, '[digits removed]'));
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position === undefined) return message;
  // Lines end in LF, CRLF or a lone CR, as step-lines.ts counts them.
  const before = text.slice(0, Number(position)).split(/\r\n|\r|\n/);
  return `${message} (line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1})`;
}

function errorName(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function systemReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file or folder';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'ELOOP') return 'a loop of links';
  return errorText(error);
}

// ── names ───────────────────────────────────────────────────────────────

const kindOf = (step: ScenarioStep): StepKind => STEP_KINDS.find((kind) => kind in step) as StepKind;

/**
 * Names are single-assignment and defined before use, checked here so a typo
 * is a scenario error (SPEC §7) rather than a confusing step failure. So are
 * terminals, as far as they can be: `disconnect` and `reconnect` name a
 * terminal that some step runs on (its `terminal`, or T1, the default), so
 * "T02" for "T2" is found at load instead of cutting off a terminal nobody
 * uses. A terminal may be cut off before any step runs on it: the
 * `disconnect` creates it, then cuts it off.
 */
function checkNames(steps: readonly ScenarioStep[]): ScenarioProblem[] {
  const problems: ScenarioProblem[] = [];
  const terminals = new Set<string>([DEFAULT_TERMINAL]);
  for (const step of steps) if (step.terminal !== undefined) terminals.add(step.terminal);
  const useTerminal = (step: number, field: string, id: string) => {
    if (terminals.has(id)) return;
    const known = someOf(terminals, terminals.size, (t) => `"${t}"`);
    problems.push({
      step,
      field,
      message: `"${id}" is not a terminal any step runs on (the scenario's terminals: ${known}): give a step \`"terminal": "${id}"\`, or correct the id`,
    });
  };
  // name → what the defining step can bind: a decision always, an attempt unless it was a peek.
  const defined = new Map<string, { step: number; attempt: boolean }>();
  const use = (step: number, field: string, name: string, wants: 'decision' | 'attempt') => {
    const definition = defined.get(name);
    if (!definition) {
      // A few names, not all: listing every name in every problem was quadratic.
      const known = someOf(defined.keys(), defined.size, (n) => `"${n}"`) || 'none yet';
      problems.push({ step, field, message: `"${name}" is not a name defined by an earlier step's \`as\` (names so far: ${known})` });
    } else if (wants === 'attempt' && !definition.attempt) {
      problems.push({ step, field, message: `"${name}" names a peek at step ${definition.step}, which never reserves an attempt` });
    }
  };
  for (const [index, step] of steps.entries()) {
    // The first problems are the ones shown; the rest would be thrown away.
    if (problems.length >= MAX_PROBLEMS) break;
    const number = index + 1;
    if ('override' in step) use(number, 'override.decision', step.override.decision, 'decision');
    if ('settle' in step) use(number, 'settle.attempt', step.settle.attempt, 'attempt');
    if ('resume' in step) use(number, 'resume.attempt', step.resume.attempt, 'attempt');
    if ('expectAttempt' in step) use(number, 'expectAttempt.attempt', step.expectAttempt.attempt, 'attempt');
    if ('processor' in step) use(number, 'processor.attempt', step.processor.attempt, 'attempt');
    if ('recoverNow' in step) use(number, 'recoverNow.attempt', step.recoverNow.attempt, 'attempt');
    if ('disconnect' in step) useTerminal(number, 'disconnect', step.disconnect);
    if ('reconnect' in step) useTerminal(number, 'reconnect', step.reconnect);
    if (step.expect && 'conflicts' in step.expect) {
      for (const [i, name] of step.expect.conflicts.entries()) use(number, `expect.conflicts[${i}]`, name, 'attempt');
    }
    if ('as' in step && step.as !== undefined) {
      const earlier = defined.get(step.as);
      if (earlier) {
        problems.push({
          step: number,
          field: 'as',
          message: `"${step.as}" is already the name of step ${earlier.step}'s result: give each result its own name`,
        });
      } else if (step.expect && 'error' in step.expect) {
        problems.push({ step: number, field: 'as', message: 'names nothing: a step that expects an error returns no decision' });
      } else {
        defined.set(step.as, { step: number, attempt: kindOf(step) !== 'peek' });
      }
    }
  }
  return problems;
}

// ── zod issues, made human ──────────────────────────────────────────────

type Path = IssuePath;

const MAX_PROBLEMS = 10;

/** `"a", "b", … "j" and 90 more`: the first few of many, for a message. */
function someOf(items: Iterable<string>, count: number, show: (item: string) => string, few = 10): string {
  const shown: string[] = [];
  for (const item of items) {
    if (shown.length === few) break;
    shown.push(show(item));
  }
  return `${shown.join(', ')}${count > shown.length ? ` and ${count - shown.length} more` : ''}`;
}

function explainIssues(issues: readonly Issue[], input: unknown): ScenarioProblem[] {
  const problems: ScenarioProblem[] = [];
  const seen = new Set<string>();
  for (const issue of unknownFieldsFirst(issues)) {
    for (const problem of explainIssue(issue, [], input)) {
      // A failed pattern and the refinement behind it say the same thing once.
      const key = `${problem.step}|${problem.field}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push(problem);
    }
  }
  return problems.slice(0, MAX_PROBLEMS);
}

/** An unknown field first: it is usually the typo behind the "is required" next to it. */
function unknownFieldsFirst(issues: readonly Issue[]): Issue[] {
  return [...issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
}

function explainIssue(issue: Issue, base: Path, root: unknown): ScenarioProblem[] {
  const path = [...base, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const branch = chooseBranch(issue.errors, path, root);
    if (branch) return unknownFieldsFirst(branch).flatMap((inner) => explainIssue(inner, path, root));
    return [problemAt(path, customMessage(issue) ?? 'is not valid here')];
  }
  const wording = { container: containerName(path, root), fallback: spellOut };
  return issuePaths(issue, base).map((at) => problemAt(at, issueRule(issue, valueAt(root, at), wording)));
}

/**
 * Which union member the writer meant. For a step, the action key says it
 * (the union's members follow STEP_KINDS); elsewhere, the member that got
 * furthest: not rejected for its type at the union itself, fewest issues.
 */
function chooseBranch(branches: readonly (readonly Issue[])[], path: Path, root: unknown): readonly Issue[] | undefined {
  if (isStepPath(path)) {
    const step = valueAt(root, path);
    const kinds = isRecord(step) ? STEP_KINDS.filter((kind) => kind in step) : [];
    if (kinds.length === 1) return branches[STEP_KINDS.indexOf(kinds[0] as StepKind)];
    return [stepShapeIssue(step, kinds)];
  }
  const plausible = branches.filter(
    (issues) => !issues.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value')),
  );
  return plausible.sort((a, b) => a.length - b.length)[0];
}

const isStepPath = (path: Path): boolean => path.length === 2 && path[0] === 'steps' && typeof path[1] === 'number';

function stepShapeIssue(step: unknown, kinds: readonly StepKind[]): Issue {
  const actions = STEP_KINDS.join(', ');
  const message = !isRecord(step)
    ? `must be an object with one action: ${actions}`
    : kinds.length === 0
      ? `has no action: give it exactly one of ${actions}${Object.keys(step).length ? ` (it has ${someOf(Object.keys(step), Object.keys(step).length, (k) => `\`${k}\``)})` : ''}`
      : `has ${kinds.length} actions (${kinds.map((k) => `\`${k}\``).join(', ')}): one action per step`;
  return { code: 'custom', path: [], message, input: step };
}

/** Rules worded from the issue, with the bad value quoted as JSON: a scenario file holds test data, not card data. */
const spellOut = spelledOut(describeJson);

function describeJson(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  // Cut before quoting: JSON.stringify of a 100 MB string is 100 MB of work.
  const text = JSON.stringify(typeof value === 'string' ? safeText(value, 55) : value);
  return `${text.length > 60 ? `${text.slice(0, 57)}...` : text} (${typeof value})`;
}

function containerName(path: Path, root: unknown): string {
  if (path.length === 0) return 'a scenario';
  if (path[0] === 'steps' && typeof path[1] === 'number') {
    if (path.length > 2) return `\`${fieldOf(path.slice(2))}\``;
    const step = valueAt(root, path);
    const kind = isRecord(step) ? STEP_KINDS.find((k) => k in step) : undefined;
    return kind ? `a \`${kind}\` step (its fields: ${stepFields(kind)})` : 'a step';
  }
  return `\`${fieldOf(path)}\``;
}

const DECISION_KINDS: readonly StepKind[] = ['begin', 'peek', 'override'];
const stepFields = (kind: StepKind): string =>
  (kind === 'processor' ? [kind, 'note'] : [kind, ...(DECISION_KINDS.includes(kind) ? ['as'] : []), 'expect', 'terminal', 'note'])
    .map((f) => `\`${f}\``)
    .join(', ');

/** Splits `steps.3.settle.status` into step 4 and field `settle.status`. */
function problemAt(path: Path, message: string): ScenarioProblem {
  if (path[0] === 'steps' && typeof path[1] === 'number') {
    const field = path.slice(2);
    return { step: path[1] + 1, field: field.length ? fieldOf(field) : undefined, message };
  }
  return { step: undefined, field: path.length ? fieldOf(path) : undefined, message };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
