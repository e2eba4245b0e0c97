/**
 * Crash test with real processes (issue 4, "Proof"). A child runs a guard on
 * fileStore and charges a scripted stream of sales; the parent SIGKILLs it at
 * a random moment, then opens a new guard over the same file and checks that
 * nothing the child was told is durable got lost, that everything caught
 * mid-charge reads `unknown`, and that every retry of a sale whose charge may
 * have gone through is blocked or prompted. And the journal (SPEC §12): after
 * every kill, as the crash left it, it verifies intact against the head in the
 * data file, never ahead of it.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createGuard,
  parseJournalHead,
  verifyJournal,
  type AttemptRecord,
  type AttemptStatus,
  type JournalEntry,
} from '../../src/index.js';
import { fileStore, readJournal } from '../../src/node.js';
import { readFileMeta } from '../../src/stores/file/journal-read.js';
import { CRASH_GUARD, CRASH_STORE, plannedOutcome, saleFor } from './crash-plan.js';

const KILLS = 200;
// Children booted ahead of time: loading the modules is most of a child's
// cost, so it overlaps with the run and the checks of the previous child.
const STANDBY = 2;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let childScript = '';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Transpiles the child and src/ once, with the project's own TypeScript, to
 * plain JS in a temp dir. `node --import tsx` costs about 0.65 s of CPU per
 * process before any of our code runs; 200+ children would spend minutes in
 * the loader alone. No build step is involved: a clean clone works.
 */
beforeAll(() => {
  const out = mkdtempSync(join(tmpdir(), 'pdg-crash-child-'));
  dirs.push(out);
  const sources = [...tsFiles(join(ROOT, 'src')), join(ROOT, 'test/stores/crash-child.ts'), join(ROOT, 'test/stores/crash-plan.ts')];
  for (const source of sources) {
    const js = ts.transpileModule(readFileSync(source, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    }).outputText;
    const target = join(out, relative(ROOT, source)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
  }
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
  // zod, @noble/hashes and date-fns resolve from the project's node_modules.
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'), 'junction');
  childScript = join(out, 'test/stores/crash-child.js');
}, 60_000);

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? tsFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

type ChildEvent =
  | { e: 'booted' }
  | { e: 'ready'; pid: number }
  | { e: 'begin'; k: number }
  | { e: 'begun'; k: number; verdict: string; id?: string }
  | { e: 'settle' | 'settled'; k: number; id: string; status: AttemptStatus };

interface Child {
  proc: ChildProcessByStdio<Writable, Readable, Readable>;
  events: ChildEvent[];
  booted: Promise<void>;
  ready: Promise<void>;
  /** Every stdout line read and the process reaped. */
  done: Promise<void>;
  stderr: string[];
}

function spawnChild(file: string): Child {
  const proc = spawn(process.execPath, [childScript, 'charge', file], { stdio: ['pipe', 'pipe', 'pipe'] });
  const events: ChildEvent[] = [];
  const stderr: string[] = [];
  let onBooted: () => void = () => undefined;
  let onReady: () => void = () => undefined;
  const booted = new Promise<void>((resolve) => (onBooted = resolve));
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  let buffer = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const event = JSON.parse(buffer.slice(0, newline)) as ChildEvent;
      buffer = buffer.slice(newline + 1);
      events.push(event);
      if (event.e === 'booted') onBooted();
      if (event.e === 'ready') onReady();
    }
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => stderr.push(chunk));
  proc.stdin.on('error', () => undefined);
  const done = Promise.all([
    new Promise<void>((resolve) => proc.stdout.on('close', () => resolve())),
    new Promise<void>((resolve) => proc.on('exit', () => resolve())),
  ]).then(() => undefined);
  // A child that dies on its own (a bug) must fail the run, not hang it.
  void done.then(() => {
    onBooted();
    onReady();
  });
  return { proc, events, booted, ready, done, stderr };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

it(`loses nothing durable across ${KILLS} SIGKILLs of a charging process`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pdg-crash-'));
  dirs.push(dir);
  const file = join(dir, 'guard.jsonl');

  const counts = {
    kills: 0,
    killedStarting: 0,
    attemptsChecked: 0,
    unknownRecovered: 0,
    retriesBlocked: 0,
    retriesPrompted: 0,
    retriesAllowed: 0,
    settledKept: 0,
    journalChecked: 0,
  };
  const failures: string[] = [];
  // What each attempt must still be at the end: its status as verified after the kill that ended its run.
  const expected = new Map<string, { k: number; status: AttemptStatus }>();
  const standby: Child[] = [];
  let nextSale = 0;
  const started = performance.now();

  try {
    for (let run = 0; run < KILLS; run++) {
      while (standby.length < STANDBY) standby.push(spawnChild(file));
      const child = standby.shift() as Child;
      await child.booted;
      child.proc.stdin.write(`go ${nextSale}\n`);
      if (run % 7 === 3) {
        // Now and then, kill it while it is still opening the file (lock, load, compaction).
        await sleep(between(0, 15));
      } else {
        await child.ready;
        await sleep(between(2, 30));
      }
      const readyBeforeKill = child.events.some((e) => e.e === 'ready');
      child.proc.kill('SIGKILL');
      await child.done;
      if (child.proc.signalCode !== 'SIGKILL') {
        failures.push(`run ${run}: child exited on its own (${child.proc.exitCode}): ${child.stderr.join('')}`);
      }
      counts.kills++;
      if (!readyBeforeKill) counts.killedStarting++;

      // The journal as the crash left it, before a new store repairs anything: intact against the head kept.
      const journal = await verifyJournalOnDisk(file);
      if (!journal.ok) failures.push(`run ${run}: journal after the kill: ${JSON.stringify(journal)}`);
      else counts.journalChecked = journal.entries;

      const result = await verifyRun(file, child.events, counts, expected);
      failures.push(...result.failures.map((f) => `run ${run}: ${f}`));
      nextSale = Math.max(nextSale, result.highestSale + 1);
      if (failures.length > 20) break;
    }

    // Later runs (and their compactions) must not have lost what earlier runs left.
    const guard = await createGuard({ ...CRASH_GUARD, store: fileStore(file, CRASH_STORE) });
    for (const [id, want] of expected) {
      const record = await guard.get(id);
      if (record?.status !== want.status) {
        failures.push(`final: attempt ${id} (sale ${want.k}) is ${record?.status ?? 'missing'}, was ${want.status}`);
      }
    }
    await guard.close();
    const journal = await verifyJournalOnDisk(file);
    if (!journal.ok || journal.from !== 1) failures.push(`final: journal ${JSON.stringify(journal)}`);
  } finally {
    for (const child of standby) child.proc.kill('SIGKILL');
    await Promise.all(standby.map((child) => child.done));
  }

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`crash test: ${JSON.stringify(counts)} in ${seconds} s`);
  expect(failures).toEqual([]);
  expect(counts.kills).toBeGreaterThanOrEqual(KILLS);
  expect(counts.killedStarting).toBeGreaterThan(0);
  expect(counts.attemptsChecked).toBeGreaterThan(KILLS);
  expect(counts.unknownRecovered).toBeGreaterThan(0);
  expect(counts.retriesBlocked).toBeGreaterThan(0);
  expect(counts.retriesPrompted).toBeGreaterThan(0);
  expect(counts.settledKept).toBeGreaterThan(0);
  expect(counts.journalChecked).toBeGreaterThan(KILLS);
}, 170_000);

/** `journal verify` on the files as they are: every journal file in order, the head from the data file. */
async function verifyJournalOnDisk(file: string) {
  const entries: JournalEntry[] = [];
  for await (const entry of readJournal(file)) entries.push(entry);
  const head = parseJournalHead((await readFileMeta(file)).get('journal-head'));
  return verifyJournal(entries, { secret: CRASH_GUARD.secret, head, rotated: existsSync(`${file}.journal.1`) });
}

type Counts = Record<
  'attemptsChecked' | 'unknownRecovered' | 'retriesBlocked' | 'retriesPrompted' | 'retriesAllowed' | 'settledKept' | 'journalChecked',
  number
>;

/** Opens a new guard over the file the killed child left and checks it against what the child said. */
async function verifyRun(
  file: string,
  events: ChildEvent[],
  counts: Counts,
  expected: Map<string, { k: number; status: AttemptStatus }>,
): Promise<{ failures: string[]; highestSale: number }> {
  const failures: string[] = [];
  const started = new Set<number>();
  const begun = new Map<number, string>();
  const settling = new Map<string, AttemptStatus>();
  const settled = new Map<string, AttemptStatus>();
  let highestSale = -1;
  for (const event of events) {
    if (event.e === 'begin') {
      started.add(event.k);
      highestSale = Math.max(highestSale, event.k);
    } else if (event.e === 'begun') {
      if (event.id === undefined) failures.push(`sale ${event.k} was not allowed (${event.verdict})`);
      else begun.set(event.k, event.id);
    } else if (event.e === 'settle') settling.set(event.id, event.status);
    else if (event.e === 'settled') settled.set(event.id, event.status);
  }

  const guard = await createGuard({ ...CRASH_GUARD, store: fileStore(file, CRASH_STORE) });
  try {
    const byAmount = new Map<number, AttemptRecord>();
    for (const record of await guard.attempts()) byAmount.set(record.amount, record);

    for (const k of started) {
      const record = byAmount.get(saleFor(k).amount);
      const id = begun.get(k);
      counts.attemptsChecked++;
      if (id !== undefined && record?.id !== id) {
        failures.push(`sale ${k}: begin had resolved with ${id}, the file has ${record?.id ?? 'nothing'}`);
        continue;
      }
      if (!record) continue; // killed before its write-ahead record was durable: begin never resolved
      const done = settled.get(record.id);
      const trying = settling.get(record.id);
      if (done !== undefined) {
        if (record.status !== done) failures.push(`sale ${k}: settle to ${done} had resolved, the file says ${record.status}`);
        else counts.settledKept++;
      } else if (trying !== undefined) {
        // Killed mid-settle: either the new status made it to disk or the attempt is still open.
        if (record.status !== trying && record.status !== 'unknown') {
          failures.push(`sale ${k}: mid-settle to ${trying}, found ${record.status}`);
        } else if (record.status === 'unknown' && trying !== 'unknown') counts.unknownRecovered++;
      } else if (record.status !== 'unknown') {
        failures.push(`sale ${k}: was pending when killed, reads ${record.status} instead of unknown`);
      } else {
        counts.unknownRecovered++;
      }
      expected.set(record.id, { k, status: record.status });

      // The cashier retries the sale on the restarted till.
      const retry = await guard.peek(saleFor(k));
      const codes = retry.reasons.map((r) => r.code);
      if (record.status === 'unknown') {
        if (retry.verdict !== 'block' || !codes.includes('UNKNOWN_OUTCOME')) {
          failures.push(`sale ${k}: retry of an unknown charge got ${retry.verdict} ${codes.join(',')}`);
        } else counts.retriesBlocked++;
      } else if (record.status === 'approved') {
        if (retry.verdict !== 'prompt' || !codes.includes('DUPLICATE_CHARGE')) {
          failures.push(`sale ${k}: retry of an approved charge got ${retry.verdict} ${codes.join(',')}`);
        } else counts.retriesPrompted++;
      } else if (record.status === 'declined') {
        // A declined card retried must not be held up.
        if (retry.verdict !== 'allow') failures.push(`sale ${k}: retry of a declined charge got ${retry.verdict} ${codes.join(',')}`);
        else counts.retriesAllowed++;
      }
      if (record.status !== 'unknown' && record.status !== plannedOutcome(k)) {
        failures.push(`sale ${k}: ${record.status} was never asked for`);
      }
    }
  } finally {
    await guard.close();
  }
  return { failures, highestSale };
}
