/**
 * Crash test with real processes (issue 4, "Proof"). A child runs a guard on
 * fileStore and charges a scripted stream of sales; the parent SIGKILLs it at
 * a random moment, then opens a new guard over the same file and checks that
 * nothing the child was told is durable got lost, that everything caught
 * mid-charge reads `unknown`, and that every retry of a sale whose charge may
 * have gone through is blocked or prompted.
 *
 * The child also resolves unknown outcomes (SPEC §10): its `recover` answers
 * by a plan per attempt (crash-plan.ts) and logs each call's start and end,
 * and the guard's event for it. After the kills a last guard recovers what
 * is left, and the parent checks: no two calls for one attempt overlapped
 * within a process life; an attempt's tries were numbered on across lives,
 * never again; the stored count is never below the calls logged; every
 * answer a guard reported applied is in the file at the end; every answer
 * the last guard (never killed) got was applied; and nothing is left
 * unknown with tries to spare.
 *
 * And the journal (SPEC §12): after every kill, as the crash left it, it
 * verifies intact against the head in the data file, never ahead of it.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createGuard, verifyJournal, type AttemptRecord, type AttemptStatus, type JournalEntry } from '../../src/index.js';
import { fileStore, readJournal } from '../../src/node.js';
import { journalAnchors } from '../../src/stores/file/journal-read.js';
import {
  CRASH_GUARD,
  CRASH_RECOVER,
  CRASH_STORE,
  loggedRecover,
  plannedOutcome,
  recoverLogOf,
  recoveredStatus,
  saleFor,
  type RecoverLogLine,
} from './crash-plan.js';

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
    recoveredInLife: 0,
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
        // Mostly within a few ms of ready; every tenth child lives long enough for a recovery it started to be
        // answered and applied (the counts below require one): left to chance, a loaded machine saw none.
        await sleep(run % 10 === 5 ? between(80, 160) : between(2, 30));
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

    // A till without recover leaves a dozen more sales unknown (so that the last guard surely
    // has answers to apply), then a last guard recovers what is left, as a till left running would.
    for (const [id, k] of await leaveUnknown(file, nextSale, 12)) expected.set(id, { k, status: 'unknown' });
    failures.push(...(await recoverTheRest(file)));

    // Later runs (and their compactions) must not have lost what earlier runs left. What was
    // unknown is now what the processor said, or still unknown with its tries used up (each
    // life killed mid-call spent one).
    const guard = await createGuard({ ...CRASH_GUARD, store: fileStore(file, CRASH_STORE) });
    const finals = new Map<string, AttemptRecord | undefined>();
    for (const [id, want] of expected) {
      const record = await guard.get(id);
      finals.set(id, record);
      const recovered = want.status === 'unknown' && record?.status === recoveredStatus(id);
      if (!record || (record.status !== want.status && !recovered)) {
        failures.push(`final: attempt ${id} (sale ${want.k}) is ${record?.status ?? 'missing'}, was ${want.status}`);
      } else if (
        record.status === 'unknown' &&
        !((record.recovery?.tries ?? 0) >= CRASH_RECOVER.recoverTries && record.recovery?.exhausted)
      ) {
        failures.push(`final: attempt ${id} (sale ${want.k}) is left unknown with tries to spare: ${JSON.stringify(record.recovery)}`);
      }
    }
    await guard.close();
    const log = checkRecoverLog(file, finals);
    failures.push(...log.failures);
    Object.assign(counts, log.counts);
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
  const recovery = counts as typeof counts & Record<keyof ReturnType<typeof checkRecoverLog>['counts'], number>;
  expect(recovery.recoverCalls).toBeGreaterThan(KILLS);
  expect(recovery.killedMidCall).toBeGreaterThan(0);
  expect(recovery.appliedInChild).toBeGreaterThan(0);
  expect(recovery.appliedByLast).toBeGreaterThan(0);
  expect(recovery.exhausted).toBeGreaterThan(0);
  expect(counts.journalChecked).toBeGreaterThan(KILLS);
}, 170_000);

/** Sales `first`, `first + 1`, … begun and settled unknown by a guard without recover: their ids and sale numbers. */
async function leaveUnknown(file: string, first: number, count: number): Promise<[string, number][]> {
  const guard = await createGuard({ ...CRASH_GUARD, store: fileStore(file, CRASH_STORE) });
  const left: [string, number][] = [];
  for (let k = first; k < first + count; k++) {
    const attempt = (await guard.begin(saleFor(k))).attempt;
    if (!attempt) continue;
    await attempt.markUnknown();
    left.push([attempt.id, k]);
  }
  await guard.close();
  return left;
}

/** A guard with `recover` over the file until nothing unknown has tries to spare (it logs under this process's pid). */
async function recoverTheRest(file: string): Promise<string[]> {
  const { recover, watch } = loggedRecover(file, () => sleep(1));
  const guard = await createGuard({ ...CRASH_GUARD, ...CRASH_RECOVER, recover, store: fileStore(file, CRASH_STORE) });
  watch(guard);
  const deadline = performance.now() + 10_000;
  let left: AttemptRecord[] = [];
  for (;;) {
    left = (await guard.attempts({ status: 'unknown' })).filter((r) => !r.recovery?.exhausted && !r.recovery?.ended);
    if (left.length === 0 || performance.now() > deadline) break;
    await sleep(25);
  }
  await guard.close();
  return left.map((r) => `the last guard left ${r.id} unknown with tries to spare: ${JSON.stringify(r.recovery)}`);
}

/** The recover log against the file's final records (see the top of this file). */
function checkRecoverLog(file: string, finals: ReadonlyMap<string, AttemptRecord | undefined>) {
  const failures: string[] = [];
  const counts = { recoverCalls: 0, killedMidCall: 0, appliedInChild: 0, appliedByLast: 0, exhausted: 0 };
  const text = existsSync(recoverLogOf(file)) ? readFileSync(recoverLogOf(file), 'utf8') : '';
  const lines = text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as RecoverLogLine);
  const open = new Map<string, RecoverLogLine>(); // pid and attempt → its call in progress
  const answered = new Map<string, RecoverLogLine>(); // the last guard's answers not yet applied
  const lastTry = new Map<string, number>();
  const calls = new Map<string, number>();
  for (const line of lines) {
    const key = `${line.pid} ${line.id}`;
    const last = line.pid === process.pid;
    if (line.e === 'start') {
      counts.recoverCalls++;
      calls.set(line.id, (calls.get(line.id) ?? 0) + 1);
      const running = open.get(key);
      if (running) failures.push(`process ${line.pid}: two recover calls for ${line.id} at once (tries ${running.try} and ${line.try})`);
      open.set(key, line);
      // Numbered on across lives: a number twice means the count went back, or two tries took one.
      const before = lastTry.get(line.id) ?? 0;
      if (line.try <= before) failures.push(`${line.id}: try ${line.try} after try ${before}`);
      lastTry.set(line.id, line.try);
    } else if (line.e === 'end') {
      open.delete(key);
      if (last && line.answer !== 'nothing' && line.answer !== 'throw') answered.set(key, line);
    } else if (line.outcome !== undefined && line.outcome !== 'unknown' && !line.error) {
      // The guard applied this answer: it must be in the file at the end, kills and compactions after it notwithstanding.
      const status = finals.get(line.id)?.status;
      if (status !== undefined && status !== line.outcome) {
        failures.push(`${line.id}: ${line.outcome} was applied, the file says ${status}`);
      }
      if (last) counts.appliedByLast++;
      else counts.appliedInChild++;
      answered.delete(key);
    }
  }
  // The last guard was never killed: every outcome it was told, it applied.
  for (const line of answered.values()) failures.push(`${line.id}: the last guard was told ${line.answer}, and did not apply it`);
  counts.killedMidCall = open.size;
  for (const [id, made] of calls) {
    const record = finals.get(id);
    if (record === undefined) continue; // an attempt of a run whose checks stopped early
    if ((record.recovery?.tries ?? 0) < made) failures.push(`${id}: ${made} calls logged, ${record.recovery?.tries ?? 0} tries stored`);
    if (record.status === 'unknown') counts.exhausted++;
  }
  return { failures, counts };
}
/** `journal verify` on the files as they are: every journal file in order, the head from the data file. */
async function verifyJournalOnDisk(file: string) {
  const entries: JournalEntry[] = [];
  for await (const entry of readJournal(file)) entries.push(entry);
  return verifyJournal(entries, { secret: CRASH_GUARD.secret, ...(await journalAnchors(file)) });
}

type Counts = Record<
  | 'attemptsChecked'
  | 'unknownRecovered'
  | 'retriesBlocked'
  | 'retriesPrompted'
  | 'retriesAllowed'
  | 'settledKept'
  | 'recoveredInLife'
  | 'journalChecked',
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
      // Settled unknown in this life, then settled by the child's own recover.
      const recoveredHere = record.status !== 'unknown' && record.status === recoveredStatus(record.id);
      if (done !== undefined) {
        if (done === 'unknown' && recoveredHere) counts.recoveredInLife++;
        else if (record.status !== done) failures.push(`sale ${k}: settle to ${done} had resolved, the file says ${record.status}`);
        else counts.settledKept++;
      } else if (trying !== undefined) {
        // Killed mid-settle: either the new status made it to disk or the attempt is still open.
        if (trying === 'unknown' && recoveredHere) counts.recoveredInLife++;
        else if (record.status !== trying && record.status !== 'unknown') {
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
      } else if (record.status === 'declined' || record.status === 'cancelled' || record.status === 'voided') {
        // No money held (a declined card, a charge that never went through or was reversed): not held up.
        if (retry.verdict !== 'allow') {
          failures.push(`sale ${k}: retry of a ${record.status} charge got ${retry.verdict} ${codes.join(',')}`);
        } else counts.retriesAllowed++;
      }
      if (record.status !== 'unknown' && record.status !== plannedOutcome(k) && record.status !== recoveredStatus(record.id)) {
        failures.push(`sale ${k}: ${record.status} was never asked for`);
      }
    }
  } finally {
    await guard.close();
  }
  return { failures, highestSale };
}
