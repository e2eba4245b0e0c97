/**
 * The `scenarios` command's arguments, read by hand rather than with
 * `node:util` parseArgs: its messages are Node's ("Unknown option '--tags'.
 * To specify a positional argument starting with a '-', place it at the end
 * of the command after '--'"), and it has no room for `--output-file.junit`
 * or for a suggestion. Every mistake here is answered in the command's own
 * words, with the option that was probably meant.
 */

export const REPORTERS = ['default', 'json', 'junit', 'tap'] as const;
export type ReporterName = (typeof REPORTERS)[number];

/** Where one reporter writes: a file, or stdout when `file` is undefined. */
export interface ReporterTarget {
  name: ReporterName;
  file: string | undefined;
}

export interface ScenariosArgs {
  paths: string[];
  /** At least one; at most one of them writes to stdout. */
  reporters: ReporterTarget[];
  filter: string | undefined;
  tags: string[];
  list: boolean;
  bail: boolean;
  /** `--color` / `--no-color`; undefined: decided by the environment and the terminal. */
  color: boolean | undefined;
  help: boolean;
}

/** A mistake in the arguments: the message is for the person who typed them. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const BOOLEAN_FLAGS = ['--json', '--list', '--bail', '--color', '--no-color', '--help'] as const;
const VALUE_FLAGS = { '--filter': 'TEXT', '--tag': 'TAG', '--reporter': 'NAME', '--output-file': 'PATH' } as const;
type ValueFlag = keyof typeof VALUE_FLAGS;
const OUTPUT_FILE_FOR = '--output-file.';

/** Every option as written in the help, for suggestions. */
const KNOWN = [...BOOLEAN_FLAGS, ...Object.keys(VALUE_FLAGS), ...REPORTERS.map((r) => `${OUTPUT_FILE_FOR}${r}`)];

export function parseScenariosArgs(args: readonly string[]): ScenariosArgs {
  const paths: string[] = [];
  const flags = new Set<string>();
  const values: Record<ValueFlag, string[]> = { '--filter': [], '--tag': [], '--reporter': [], '--output-file': [] };
  const outputFor = new Map<ReporterName, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      paths.push(...args.slice(i + 1));
      break;
    }
    if (arg === '-h') {
      flags.add('--help');
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      paths.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const [flag, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if ((BOOLEAN_FLAGS as readonly string[]).includes(flag)) {
      if (inline !== undefined) throw new UsageError(`${flag} takes no value (got "${inline}")`);
      flags.add(flag);
      continue;
    }
    const takesValue = flag in VALUE_FLAGS || flag.startsWith(OUTPUT_FILE_FOR);
    if (!takesValue) throw new UsageError(`unknown option ${flag}${suggestion(flag)}`);
    let value = inline;
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined || (next.startsWith('-') && next !== '-')) {
        const what = flag in VALUE_FLAGS ? VALUE_FLAGS[flag as ValueFlag] : 'PATH';
        const got =
          next === undefined ? 'nothing follows it' : `got the option ${next} (write ${flag}=${next} if you mean it as the value)`;
        throw new UsageError(`${flag} needs a ${what}: ${got}`);
      }
      value = next;
      i++;
    }
    if (flag.startsWith(OUTPUT_FILE_FOR)) {
      const name = flag.slice(OUTPUT_FILE_FOR.length);
      outputFor.set(reporterName(name, flag), nonEmpty(flag, value));
    } else {
      values[flag as ValueFlag].push(value);
    }
  }
  const filter = values['--filter'].at(-1);
  if (filter !== undefined && filter.trim() === '') throw new UsageError('--filter needs a non-empty TEXT');
  if (flags.has('--color') && flags.has('--no-color')) throw new UsageError('--color and --no-color contradict each other: give one');
  return {
    paths,
    reporters: targets(
      values['--reporter'].map((name) => reporterName(name, '--reporter')),
      flags.has('--json'),
      values['--output-file'].map((path) => nonEmpty('--output-file', path)),
      outputFor,
    ),
    filter,
    tags: values['--tag'],
    list: flags.has('--list'),
    bail: flags.has('--bail'),
    color: flags.has('--color') ? true : flags.has('--no-color') ? false : undefined,
    help: flags.has('--help'),
  };
}

/**
 * Which reporters run and where each writes. `default` runs unless a
 * `--reporter` or `--json` was given (so `--output-file.junit PATH` alone
 * adds a JUnit file to the usual terminal output, the common CI use); a bare
 * `--output-file` belongs to the one reporter that is not `default`.
 */
function targets(named: ReporterName[], json: boolean, outputFiles: string[], outputFor: Map<ReporterName, string>): ReporterTarget[] {
  const names = [...new Set<ReporterName>([...named, ...(json ? ['json' as const] : [])])];
  const implicitDefault = names.length === 0;
  for (const name of outputFor.keys()) if (!names.includes(name)) names.push(name);
  if (implicitDefault) names.unshift('default');
  if (outputFiles.length > 1) {
    throw new UsageError('--output-file is given more than once: use --output-file.<reporter> PATH for each reporter');
  }
  const bare = outputFiles[0];
  if (bare !== undefined) {
    const candidates = names.filter((name) => name !== 'default' && !outputFor.has(name));
    const owner = candidates.length === 1 ? candidates[0] : names.length === 1 ? names[0] : undefined;
    if (owner === undefined) {
      throw new UsageError(
        `--output-file is ambiguous with the reporters ${names.join(', ')}: say which one writes to it, e.g. --output-file.${candidates[0] ?? 'junit'} ${bare}`,
      );
    }
    outputFor.set(owner, bare);
  }
  const result = names.map((name) => ({ name, file: outputFor.get(name) }));
  const onStdout = result.filter((target) => target.file === undefined);
  if (onStdout.length > 1) {
    const [, second] = onStdout as [ReporterTarget, ReporterTarget];
    throw new UsageError(
      `the reporters ${onStdout.map((t) => t.name).join(' and ')} would both print to stdout: give all but one a file, e.g. --output-file.${second.name} report.${extension(second.name)}`,
    );
  }
  return result;
}

function extension(name: ReporterName): string {
  return name === 'junit' ? 'xml' : name === 'default' ? 'txt' : name;
}

function reporterName(name: string, flag: string): ReporterName {
  if ((REPORTERS as readonly string[]).includes(name)) return name as ReporterName;
  const near = closest(name, REPORTERS);
  throw new UsageError(
    `${flag}: unknown reporter "${name}"${near ? ` (did you mean ${near}?)` : ''}; the reporters are ${REPORTERS.join(', ')}`,
  );
}

function nonEmpty(flag: string, value: string): string {
  if (value.trim() === '') throw new UsageError(`${flag} needs a non-empty PATH`);
  return value;
}

function suggestion(flag: string): string {
  const near = closest(flag, KNOWN);
  return near ? ` (did you mean ${near}?)` : '';
}

/**
 * The known word nearest to `word`, if near enough to be a typo: the same
 * word once case, dashes and underscores are set aside (`--outputFile`), or
 * at most 2 edits away, 1 for a short word.
 */
export function closest(word: string, known: readonly string[]): string | undefined {
  const plain = (w: string) => w.toLowerCase().replace(/[-_]/g, '');
  const same = known.find((k) => plain(k) === plain(word));
  if (same !== undefined) return same;
  let best: { word: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(word.toLowerCase(), candidate);
    if (best === undefined || distance < best.distance) best = { word: candidate, distance };
  }
  const allowed = word.replace(/^-+/, '').length <= 4 ? 1 : 2;
  return best !== undefined && best.distance <= allowed ? best.word : undefined;
}

/** Edit distance with transpositions (optimal string alignment): `--bial` is one slip from `--bail`, not two. */
export function editDistance(a: string, b: string): number {
  // Flags are short; a pasted argument may not be, and is no typo of one.
  if (a.length > 200 || b.length > 200) return Math.abs(a.length - b.length) + 200;
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const above = rows[i - 1] as number[];
      let best = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
      const swapped = i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1];
      if (swapped) best = Math.min(best, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      row.push(best);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}
