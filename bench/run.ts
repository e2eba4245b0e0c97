/**
 * `npm run bench`: runs every `bench/*.bench.ts` one after the other (in file
 * name order, in this one process), prints a table, and exits 1 if any
 * budget fails. See bench/README.md for what each number means.
 *
 *   node --expose-gc --import tsx bench/run.ts [--quick] [--json] [--src] [name…]
 *
 * --quick  a smoke run: fewer samples, smaller fills (noisy; budgets still judged)
 * --json   stdout is exactly one JSON document; progress goes to stderr
 * --src    measure src/ through tsx instead of the built dist/
 * name…    only run bench files whose name contains one of these words
 */
import { spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BenchModule, BenchResult } from './types.js';

// --in-process: run the named files here (the per-file child process).
const FLAGS = new Set(['--quick', '--json', '--src', '--in-process']);

interface JudgedResult extends BenchResult {
  /** The bench file that produced it. */
  file: string;
}

function parseArgs(argv: string[]): { flags: Set<string>; filters: string[] } {
  const flags = new Set<string>();
  const filters: string[] = [];
  for (const arg of argv) {
    if (FLAGS.has(arg)) flags.add(arg);
    else if (arg.startsWith('-')) {
      process.stderr.write(`unknown option ${arg}\nusage: bench/run.ts [--quick] [--json] [--src] [name…]\n`);
      process.exit(2);
    } else filters.push(arg);
  }
  return { flags, filters };
}

async function benchFiles(filters: string[]): Promise<string[]> {
  const dir = fileURLToPath(new URL('.', import.meta.url));
  const names = (await readdir(dir)).filter((name) => name.endsWith('.bench.ts')).sort();
  return filters.length === 0 ? names : names.filter((name) => filters.some((word) => name.includes(word)));
}

/** A module's result, checked: a malformed row must not pass for a kept budget. */
function judge(file: string, result: BenchResult): JudgedResult {
  if (
    typeof result?.name !== 'string' ||
    typeof result.value !== 'number' ||
    !Number.isFinite(result.value) ||
    typeof result.unit !== 'string'
  ) {
    return { file, name: `${file}: malformed result`, value: 0, unit: '', ok: false, detail: JSON.stringify(result) };
  }
  const ok = result.ok ?? (result.budget === undefined ? undefined : result.value < result.budget);
  return { ...result, file, ...(ok === undefined ? {} : { ok }) };
}

/** Runs one bench file in a child process of this script and collects its results. */
function runIsolated(file: string): JudgedResult[] {
  const script = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, [...process.execArgv, script, '--in-process', '--json', file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  try {
    const summary = JSON.parse(child.stdout) as { results: JudgedResult[] };
    return summary.results;
  } catch {
    const detail = `child exited ${child.status ?? child.signal}: ${child.stdout.slice(0, 500)}`;
    return [{ file, name: `${file} failed`, value: 0, unit: '', ok: false, detail }];
  }
}

async function runFile(file: string): Promise<JudgedResult[]> {
  try {
    const module = (await import(new URL(`./${file}`, import.meta.url).href)) as Partial<BenchModule>;
    if (typeof module.run !== 'function') throw new Error('exports no `run(): Promise<BenchResult[]>`');
    const results = await module.run();
    if (!Array.isArray(results)) throw new Error('run() did not resolve an array of BenchResult');
    return results.map((result) => judge(file, result));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return [{ file, name: `${file} failed`, value: 0, unit: '', ok: false, detail: message }];
  }
}

function formatTable(results: JudgedResult[]): string {
  const rows = results.map((r) => [
    r.name,
    String(r.value),
    r.unit,
    r.budget === undefined ? '' : `< ${r.budget}`,
    r.ok === undefined ? '' : r.ok ? 'ok' : 'FAIL',
  ]);
  const header = ['name', 'value', 'unit', 'budget', 'ok'];
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((row) => (row[col] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, col) => (col === 1 ? cell.padStart(widths[col] as number) : cell.padEnd(widths[col] as number)))
      .join('  ')
      .trimEnd();
  const details = results.filter((r) => r.detail).map((r) => `  ${r.name}: ${r.detail}`);
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), '', 'details:', ...details].join('\n');
}

async function main(): Promise<void> {
  const { flags, filters } = parseArgs(process.argv.slice(2));
  // Bench modules take no arguments: settings travel in the environment (bench/types.ts).
  if (flags.has('--quick')) process.env.BENCH_QUICK = '1';
  if (flags.has('--src')) process.env.BENCH_TARGET = 'src';
  const files = await benchFiles(filters);
  if (files.length === 0) {
    process.stderr.write(`no bench files match ${filters.join(', ')}\n`);
    process.exit(2);
  }

  const inProcess = flags.has('--in-process');
  const results: JudgedResult[] = [];
  for (const file of files) {
    if (!inProcess) process.stderr.write(`${file}\n`);
    results.push(...(inProcess ? await runFile(file) : runIsolated(file)));
  }
  const ok = results.every((r) => r.ok !== false);
  const summary = {
    ok,
    quick: process.env.BENCH_QUICK === '1',
    target: process.env.BENCH_TARGET === 'src' ? 'src' : 'dist',
    node: process.version,
    results,
  };
  if (flags.has('--json')) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    process.stdout.write(`${formatTable(results)}\n\n`);
    const failed = results.filter((r) => r.ok === false).length;
    process.stdout.write(ok ? 'all budgets kept\n' : `${failed} budget(s) failed\n`);
  }
  process.exitCode = ok ? 0 : 1;
}

await main();
