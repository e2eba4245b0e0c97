import { parseDuration } from '../duration.js';
import { createGuard, type Guard } from '../guard.js';
import { memoryStore } from '../stores/memory.js';
import { sharedMemoryDatabase, type SharedMemoryDatabase } from '../shared/memory-remote.js';
import type { Remote } from '../shared/remote.js';
import { sharedStore, type SharedStore } from '../shared/store.js';
import { sharedVirtualTime, virtualTime, type SharedVirtualTime, type TerminalTime, type VirtualTime } from './virtual-time.js';
import type {
  AttemptRecord,
  AttemptStatus,
  ConflictCode,
  Decision,
  GuardOptions,
  GuardStore,
  OverrideRequest,
  RecoverAnswer,
  RecoverResult,
  Sale,
} from '../types.js';
import { errorText } from '../errors.js';
import { parseScenario } from './load.js';
import { safeText } from './render.js';
import {
  DEFAULT_TERMINAL,
  THROW_ANSWER,
  type ConflictsExpectation,
  type ProcessorAnswer,
  type DecisionExpectation,
  type Scenario,
  type ScenarioConfig,
  type ScenarioInput,
  type ScenarioStep,
} from './schema.js';

/**
 * Runs a QA scenario against a fresh guard on a `memoryStore()` with a
 * virtual clock. Every step is run even after a failure, so one report shows
 * everything that went wrong; a step that throws unexpectedly is a failure,
 * never a crash of the run.
 *
 * A scenario whose steps name a `terminal`, or `disconnect` / `reconnect`
 * one, runs several terminals instead: one shared in-memory
 * database with PostgreSQL's claim semantics, and for each terminal a
 * `sharedStore` over it with a `memoryStore()` of its own as `local`, its own
 * clocks (see `sharedVirtualTime`) and its own guard. T1, the default
 * terminal, is there from the start; any other is created by the first step
 * that names it. Anything one terminal writes reaches the others (their
 * notices) before the next step runs, as LISTEN/NOTIFY does within a second.
 *
 * A scenario that scripts the processor (`processor`), presses "Check with
 * the processor" (`recoverNow`) or sets `recoverAfter` / `recoverTries`
 * gives every guard a `recover`: it answers each try from the
 * attempt's script, in order, across restarts and whichever terminal asks;
 * past the script's end, or for an attempt with none, still unknown. Any
 * other scenario's guards have no `recover`, exactly as before it existed.
 */

export interface ScenarioFailure {
  /** 1-based step number; 0 means the guard could not be created from `config`. */
  step: number;
  expected: string;
  actual: string;
}

export interface ScenarioResult {
  name: string;
  passed: boolean;
  failures: ScenarioFailure[];
  /** Steps run: all of them, unless the guard could not be (re-)created. */
  steps: number;
  /** Real time the run took. */
  ms: number;
}

export interface RunScenarioOptions {
  /**
   * The store the guards run over, to play scenarios against your own
   * adapter. It must be empty, and must survive a guard being dropped without
   * `close()` (a `restart`). In a scenario of several terminals it is T1's
   * `local` store, the one it keeps working on while cut off from the shared
   * database. @default memoryStore()
   */
  store?: GuardStore;
}

/** Thrown inside a step when the scenario itself is at fault at run time (a name that bound nothing). */
class StepProblem extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(actual);
  }
}

/** The supervisor id passed to `authorize` for `"supervisor": true`. */
const SCENARIO_SUPERVISOR = 'scenario-supervisor';

/**
 * Run one scenario. Accepts a file's JSON as parsed (defaults are applied
 * here); throws `ScenarioFileError` if it is not a valid scenario, which is
 * an error in the scenario, not a step result.
 */
export async function runScenario(input: ScenarioInput | Scenario, options: RunScenarioOptions = {}): Promise<ScenarioResult> {
  const scenario = parseScenario(input);
  const started = performance.now();
  const run = new Run(scenario, options.store);
  const steps = await run.play();
  return {
    name: scenario.name,
    passed: run.failures.length === 0,
    failures: run.failures,
    steps,
    ms: Math.round((performance.now() - started) * 100) / 100,
  };
}

/** What the "change nothing" check compares: statuses by id, as stored and as the guard reports them. */
interface Snapshot {
  /** Each store the step could write to, by what a failure calls it. */
  stored: { what: string; statuses: Map<string, AttemptStatus> }[];
  /** `undefined` across a restart, where the guard itself is replaced. */
  seen: Map<string, AttemptStatus> | undefined;
}

type RestartChange = Extract<ScenarioStep, { restart: unknown }>['restart'];

/** One conflict a terminal's guard reported (its `conflict` event). */
interface ReportedConflict {
  code: ConflictCode;
  attempts: readonly [own: string, other: string];
}

/**
 * One till: its guard, the store and clocks the guard runs on, and the
 * config it was (re)started with. Alone in a scenario of one terminal; one
 * of several on the shared database otherwise.
 */
interface Terminal {
  readonly id: string;
  /** Its own clocks: a `virtualTime` alone, one terminal of a `sharedVirtualTime` otherwise. */
  readonly time: TerminalTime;
  config: ScenarioConfig;
  guard: Guard | undefined;
  /** What the guard runs over: the scenario's store, or this terminal's `sharedStore`. */
  store: GuardStore;
  /** Several terminals only: the client of the shared database, and what it falls back on while cut off. */
  shared: SharedStore | undefined;
  local: GuardStore | undefined;
  /** Every conflict its guards reported, in order. */
  readonly conflicts: ReportedConflict[];
}

/** What a scenario of several terminals shares: the time, the database, and the runner's own view of that database. */
interface Lanes {
  readonly time: SharedVirtualTime;
  readonly db: SharedMemoryDatabase;
  /** Never cut off: what the "change nothing" check reads the database through. */
  readonly observer: Remote;
  /** T1's local store (the `store` option), until T1 takes it. */
  firstLocal: GuardStore | undefined;
}

/** The database connection the runner reads through: no terminal id a scenario writes can be it. */
const OBSERVER = '\u0000scenario-runner';

/**
 * A scenario that uses recovery (SPEC §7, §10): a `processor` or
 * `recoverNow` step, or `recoverAfter` / `recoverTries` in `config` or in a
 * restart's changes. Only then do its guards get a `recover`: without one
 * nothing is ever tried, so the scenarios written before recovery existed
 * run exactly as they did.
 */
function usesRecovery(scenario: Scenario): boolean {
  const sets = (config: { recoverAfter?: unknown; recoverTries?: unknown }) =>
    config.recoverAfter !== undefined || config.recoverTries !== undefined;
  return (
    sets(scenario.config) ||
    scenario.steps.some(
      (step) => 'processor' in step || 'recoverNow' in step || ('restart' in step && step.restart !== true && sets(step.restart)),
    )
  );
}

/** What the processor answers for one attempt: its script, and how far the tries have read it. */
interface Script {
  readonly answers: readonly ProcessorAnswer[];
  next: number;
}

/** A scenario of several terminals (SPEC §7): a step names a terminal, or cuts one off or brings it back. */
function usesTerminals(scenario: Scenario): boolean {
  return scenario.steps.some((step) => step.terminal !== undefined || 'disconnect' in step || 'reconnect' in step);
}

class Run {
  readonly failures: ScenarioFailure[] = [];
  readonly #scenario: Scenario;
  readonly #terminals = new Map<string, Terminal>();
  /** Several terminals: what they share. */
  readonly #lanes: Lanes | undefined;
  /** One terminal: its virtual time. */
  readonly #time: VirtualTime | undefined;
  // Names survive restarts: attempts are found again by id in the store.
  // They are global: an attempt begun on one terminal may be settled on another.
  readonly #decisions = new Map<string, Decision>();
  readonly #attempts = new Map<string, string>();
  /** The terminal each named attempt was reserved on: for conflict reports. */
  readonly #origins = new Map<string, string>();
  /** Whether the guards get a `recover` (see usesRecovery). */
  readonly #recovering: boolean;
  /**
   * The processor's scripts, by attempt name. The processor is one for the
   * whole scenario: it does not forget across a restart, and answers any
   * terminal alike.
   */
  readonly #scripts = new Map<string, Script>();
  /** `recover` calls by attempt id: for failure messages. */
  readonly #asked = new Map<string, number>();

  constructor(scenario: Scenario, store: GuardStore | undefined) {
    this.#scenario = scenario;
    this.#recovering = usesRecovery(scenario);
    const start = Date.parse(scenario.start);
    if (!usesTerminals(scenario)) {
      // One terminal: exactly as before several existed.
      const time = virtualTime(start);
      this.#terminals.set(DEFAULT_TERMINAL, {
        id: DEFAULT_TERMINAL,
        time,
        config: scenario.config,
        guard: undefined,
        store: store ?? memoryStore(),
        shared: undefined,
        local: undefined,
        conflicts: [],
      });
      this.#time = time;
      return;
    }
    const time = sharedVirtualTime(start);
    const db = sharedMemoryDatabase(() => time.now());
    this.#lanes = { time, db, observer: db.remote(OBSERVER), firstLocal: store };
  }

  /** Returns the number of steps run. */
  async play(): Promise<number> {
    try {
      await this.#start(DEFAULT_TERMINAL);
    } catch (error) {
      // The config was checked at load; only a custom store failing at
      // start-up gets here. Reported against step 1, which could not run.
      this.#fail(1, 'a guard created from `config` (before step 1)', thrown(error));
      return 0;
    }
    const steps = this.#scenario.steps;
    for (let index = 0; index < steps.length; index++) {
      let alive: boolean;
      try {
        alive = await this.#step(index + 1, steps[index] as ScenarioStep);
      } catch (error) {
        // Only a store that fails under the runner's own reads gets here (a
        // custom `store` option): still a result, never a crashed run.
        this.#fail(index + 1, 'the step runs', thrown(error));
        alive = true;
      }
      if (this.#lanes) await this.#quiet();
      if (!alive) return index + 1;
    }
    for (const terminal of this.#terminals.values()) await terminal.guard?.close();
    return steps.length;
  }

  /** Runs one step and records its failure, if any. `false` when the run cannot go on. */
  async #step(number: number, step: ScenarioStep): Promise<boolean> {
    // A terminal named for the first time, here or as what to cut off or bring back, is created first.
    const named = [step.terminal ?? DEFAULT_TERMINAL];
    if ('disconnect' in step) named.push(step.disconnect);
    if ('reconnect' in step) named.push(step.reconnect);
    for (const id of named) {
      if (this.#terminals.has(id)) continue;
      try {
        await this.#start(id);
      } catch (error) {
        this.#fail(number, `terminal "${id}" created from \`config\``, thrown(error));
        return false;
      }
    }
    const terminal = this.#terminals.get(named[0] as string) as Terminal;
    const expectedError = step.expect && 'error' in step.expect ? step.expect.error : undefined;
    if ('restart' in step) return this.#restart(number, terminal, step.restart, expectedError);
    const before = expectedError ? await this.#snapshot(terminal) : undefined;
    let outcome: Decision | undefined;
    try {
      outcome = await this.#act(terminal, step);
    } catch (error) {
      if (error instanceof StepProblem) {
        this.#fail(number, error.expected, error.actual);
      } else if (expectedError && errorName(error) === expectedError) {
        await this.#checkUnchanged(number, terminal, expectedError, before as Snapshot);
      } else {
        this.#fail(number, expectedError ? `throws ${expectedError}` : describeExpectation(step), thrown(error));
      }
      return true;
    }
    if (expectedError) {
      this.#fail(number, `throws ${expectedError}`, outcome ? `no error: ${describeDecision(outcome)}` : 'no error');
    } else if (outcome && step.expect && 'verdict' in step.expect && !matches(outcome, step.expect)) {
      this.#fail(number, describeDecisionExpectation(step.expect), describeDecision(outcome));
    }
    return true;
  }

  /** Performs the step's action; returns the decision of begin / peek / override. */
  async #act(terminal: Terminal, step: ScenarioStep): Promise<Decision | undefined> {
    const guard = terminal.guard as Guard;
    if ('begin' in step || 'peek' in step) {
      const sale = this.#sale('begin' in step ? step.begin : step.peek);
      // `async` wrapper: a synchronous throw and a rejection are the same step result.
      const decision = await (async () => ('begin' in step ? guard.begin(sale) : guard.peek(sale)))();
      this.#bind(step.as, decision, terminal);
      return decision;
    }
    if ('override' in step) {
      const { decision: name, operator, reason, supervisor } = step.override;
      const request = { operator, reason, ...(supervisor ? { supervisor: SCENARIO_SUPERVISOR } : {}) } as OverrideRequest;
      const decision = await guard.override(this.#decision(name), request);
      this.#bind(step.as, decision, terminal);
      return decision;
    }
    if ('settle' in step) {
      const { attempt, status, amount, processorRef } = step.settle;
      // Passed as written: an amount on a non-refund status is the guard's to refuse.
      const outcome = {
        status,
        ...(amount === undefined ? {} : { amount }),
        ...(processorRef === undefined ? {} : { processorRef }),
      } as Parameters<Guard['settle']>[1];
      await guard.settle(this.#attempt(attempt), outcome);
      return undefined;
    }
    if ('resume' in step) {
      await guard.resume(this.#attempt(step.resume.attempt));
      return undefined;
    }
    if ('advance' in step) {
      // Every terminal's clocks: time passes in the whole shop.
      const ms = parseDuration(step.advance, { field: 'advance' });
      await (this.#lanes ? this.#lanes.time.advance(ms) : (this.#time as VirtualTime).advance(ms));
      return undefined;
    }
    if ('clockJump' in step) {
      terminal.time.jump(parseDuration(step.clockJump, { field: 'clockJump', signed: true }));
      return undefined;
    }
    if ('disconnect' in step) {
      (this.#lanes as Lanes).db.disconnect(step.disconnect);
      return undefined;
    }
    if ('reconnect' in step) {
      await this.#reconnect(
        this.#terminals.get(step.reconnect) as Terminal,
        step.expect && 'conflicts' in step.expect ? step.expect : undefined,
      );
      return undefined;
    }
    if ('expectAttempt' in step) {
      const { attempt, status } = step.expectAttempt;
      const id = this.#attempt(attempt);
      const record = await guard.get(id);
      const actual = record ? record.status : 'no such attempt (pruned, or never persisted)';
      if (actual !== status) {
        throw new StepProblem(`attempt "${attempt}" is ${status}`, `attempt "${attempt}" is ${actual}${this.#askedNote(attempt, id)}`);
      }
      return undefined;
    }
    if ('processor' in step) {
      const { attempt, answers } = step.processor;
      // Checked now, as every name is: a script for an attempt no step reserved is a mistake.
      this.#attempt(attempt);
      // A later script for the same attempt replaces what is left of the earlier one.
      this.#scripts.set(attempt, { answers, next: 0 });
      return undefined;
    }
    if ('recoverNow' in step) {
      const name = step.recoverNow.attempt;
      const id = this.#attempt(name);
      const [result] = await guard.recoverNow(id);
      const want = step.expect && 'status' in step.expect ? step.expect.status : undefined;
      if (want !== undefined && result?.status !== want) {
        throw new StepProblem(
          `attempt "${name}" is ${want} after the try`,
          `attempt "${name}" is ${describeTry(result)}${this.#askedNote(name, id)}`,
        );
      }
      return undefined;
    }
    return undefined;
  }

  /**
   * The guards' `recover`: the attempt's next scripted answer (SPEC §7,
   * Recovery). Only a call consumes one, so a try the guard skips (the
   * attempt resumed, settled, or leased by another terminal) reads nothing.
   */
  #recover(attempt: AttemptRecord): RecoverAnswer {
    this.#asked.set(attempt.id, (this.#asked.get(attempt.id) ?? 0) + 1);
    const name = this.#nameFor(attempt.id);
    const script = name === undefined ? undefined : this.#scripts.get(name);
    if (!script || script.next >= script.answers.length) return undefined;
    const answer = script.answers[script.next++];
    if (answer === THROW_ANSWER) throw new Error(`the processor could not be reached (the scenario's "${THROW_ANSWER}" for "${name}")`);
    // A copy: what the guard is handed is its own, the script stays as written.
    return answer === null || answer === undefined ? undefined : { ...answer };
  }

  /** ` (recover asked 3 times; 3 of its 4 scripted answers used)`, in a scenario that uses recovery. */
  #askedNote(name: string, id: string): string {
    if (!this.#recovering) return '';
    const asked = this.#asked.get(id) ?? 0;
    const script = this.#scripts.get(name);
    const used = script ? `; ${script.next} of its ${script.answers.length} scripted answers used` : '; no script';
    return ` (recover asked ${asked} time${asked === 1 ? '' : 's'}${used})`;
  }

  /**
   * Brings a terminal back to the shared database and waits for its
   * catch-up (SPEC §9): what it wrote while cut off is sent, what it missed
   * is read. `expect.conflicts` is compared with every attempt named by the
   * conflicts its guard reported during the catch-up.
   */
  async #reconnect(terminal: Terminal, expect: ConflictsExpectation | undefined): Promise<void> {
    const lanes = this.#lanes as Lanes;
    const shared = terminal.shared as SharedStore;
    const from = terminal.conflicts.length;
    lanes.db.reconnect(terminal.id);
    await shared.sync();
    await shared.settled();
    await this.#quiet();
    if (!expect) return;
    const reported = terminal.conflicts.slice(from);
    const named = new Set(reported.flatMap((conflict) => conflict.attempts.map((id) => this.#conflictName(id))));
    const wanted = new Set(expect.conflicts.map((name) => `"${name}"`));
    if (named.size === wanted.size && [...wanted].every((name) => named.has(name))) return;
    const expected = wanted.size === 0 ? 'no conflicts' : `conflicts naming ${[...wanted].join(', ')}`;
    const found =
      reported.length === 0
        ? 'no conflicts'
        : `conflicts naming ${[...named].join(', ')} (${reported.map((c) => this.#describeConflict(terminal, c)).join('; ')})`;
    throw new StepProblem(expected, found);
  }

  /** `DUPLICATE_CHARGE: "b1" on T2 and "a1" on T1`. */
  #describeConflict(terminal: Terminal, { code, attempts: [own, other] }: ReportedConflict): string {
    const where = (id: string) => {
      const name = this.#nameFor(id);
      const origin = name === undefined ? undefined : this.#origins.get(name);
      return origin === undefined ? '' : ` on ${origin}`;
    };
    return `${code}: ${this.#conflictName(own)} on ${terminal.id} and ${this.#conflictName(other)}${where(other)}`;
  }

  /** An attempt as an expectation names it: `"a1"`, or what says it has no name. */
  #conflictName(id: string): string {
    const name = this.#nameFor(id);
    return name === undefined ? `an attempt no step named (${id})` : `"${name}"`;
  }

  /**
   * A crash and a new process: the guard is dropped without `close()`, the
   * monotonic clock starts again, the wall clock and the store carry on.
   * With several terminals, only this one crashed: a new `sharedStore` over
   * the same database connection and the same local store, whose outbox
   * (what it wrote while cut off) survives in that local store's metadata.
   */
  async #restart(number: number, terminal: Terminal, restart: RestartChange, expectedError: string | undefined): Promise<boolean> {
    const previous = terminal.config;
    const next: ScenarioConfig = restart === true ? previous : { ...previous, ...restart };
    const before = expectedError ? await this.#snapshot(terminal, false) : undefined;
    terminal.time.restart();
    try {
      terminal.guard = await this.#createGuard(terminal, next);
      terminal.config = next;
      if (expectedError) this.#fail(number, `throws ${expectedError}`, 'no error: the guard restarted');
      return true;
    } catch (error) {
      if (expectedError && errorName(error) === expectedError) {
        await this.#checkUnchanged(number, terminal, expectedError, before as Snapshot);
      } else {
        this.#fail(number, expectedError ? `throws ${expectedError}` : 'the guard restarts', thrown(error));
      }
    }
    // The run goes on with the configuration that worked (SPEC §7).
    try {
      terminal.guard = await this.#createGuard(terminal, previous);
      return true;
    } catch (error) {
      this.#fail(number, 'a guard re-created from the previous config', thrown(error));
      return false;
    }
  }

  /** The terminal's first guard: the only one in a scenario of one terminal, T1 or a newly named one otherwise. */
  async #start(id: string): Promise<void> {
    const lanes = this.#lanes;
    if (lanes) {
      let local = memoryStore() as GuardStore;
      if (id === DEFAULT_TERMINAL && lanes.firstLocal) {
        local = lanes.firstLocal;
        lanes.firstLocal = undefined;
      }
      const time = lanes.time.terminal();
      this.#terminals.set(id, {
        id,
        time,
        config: this.#scenario.config,
        guard: undefined,
        store: local,
        shared: undefined,
        local,
        conflicts: [],
      });
    }
    const terminal = this.#terminals.get(id) as Terminal;
    terminal.guard = await this.#createGuard(terminal, terminal.config);
  }

  async #createGuard(terminal: Terminal, config: ScenarioConfig): Promise<Guard> {
    const { authorize, ...rest } = config;
    if (this.#lanes) {
      // A new process: a new client over the same connection and local store.
      terminal.shared = sharedStore(this.#lanes.db.remote(terminal.id), { local: terminal.local });
      terminal.store = terminal.shared;
    }
    const options: GuardOptions = {
      ...(rest as Omit<GuardOptions, 'authorize'>),
      ...(this.#lanes ? { terminalId: terminal.id } : {}),
      store: terminal.store,
      clock: terminal.time.clock,
      scheduler: terminal.time.scheduler,
      authorize: () => authorize,
      ...(this.#recovering ? { recover: (attempt: AttemptRecord) => this.#recover(attempt) } : {}),
    };
    const guard = await createGuard(options);
    if (this.#lanes) guard.on('conflict', ({ code, attempts }) => terminal.conflicts.push({ code, attempts }));
    return guard;
  }

  /**
   * With several terminals, after each step: every terminal's writes done,
   * and the notices they sent taken in by the others, before the next step.
   */
  async #quiet(): Promise<void> {
    for (const terminal of this.#terminals.values()) await terminal.shared?.settled().catch(() => undefined);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  #bind(name: string | undefined, decision: Decision, terminal: Terminal): void {
    if (name === undefined) return;
    this.#decisions.set(name, decision);
    if (decision.attempt) {
      this.#attempts.set(name, decision.attempt.id);
      this.#origins.set(name, terminal.id);
    }
  }

  #decision(name: string): Decision {
    const decision = this.#decisions.get(name);
    if (!decision) throw new StepProblem(`decision "${name}"`, `"${name}" names no decision: the step that named it did not return one`);
    return decision;
  }

  #attempt(name: string): string {
    const id = this.#attempts.get(name);
    if (id === undefined) throw new StepProblem(`attempt "${name}"`, `"${name}" names no attempt: the step that named it reserved none`);
    return id;
  }

  /** The Sale as written, with a `refundOf` that names an attempt replaced by its id. */
  #sale(written: Record<string, unknown>): Sale {
    const refundOf = written.refundOf;
    // A spread defines properties, so an own "__proto__" key is kept as one
    // (Object.assign or a loop of assignments would drop it).
    if (typeof refundOf === 'string' && this.#attempts.has(refundOf)) {
      return { ...written, refundOf: this.#attempts.get(refundOf) } as unknown as Sale;
    }
    return written as unknown as Sale;
  }

  /**
   * What the step's terminal could change: with one terminal, its store;
   * with several, the shared database (every terminal's records) and this
   * terminal's local store (what it wrote while cut off).
   */
  async #snapshot(terminal: Terminal, withGuard = true): Promise<Snapshot> {
    const statuses = (records: readonly { id: string; status: AttemptStatus }[]) => new Map(records.map((r) => [r.id, r.status] as const));
    const stored = this.#lanes
      ? [
          {
            what: "the shared database's records",
            statuses: statuses((await this.#lanes.observer.load(terminal.config.merchantId, undefined)).map((row) => row.record)),
          },
          { what: `${terminal.id}'s local records`, statuses: statuses(await (terminal.local as GuardStore).load()) },
        ]
      : [{ what: 'stored records', statuses: statuses(await terminal.store.load()) }];
    // The guard's view too: a reservation left in its memory would block the next sale.
    const seen = withGuard && terminal.guard ? statuses(await terminal.guard.attempts()) : undefined;
    return { stored, seen };
  }

  /** An expected error must change nothing (SPEC §7): same records, same statuses. */
  async #checkUnchanged(number: number, terminal: Terminal, errorName: string, before: Snapshot): Promise<void> {
    const after = await this.#snapshot(terminal, before.seen !== undefined);
    const changes = before.stored.flatMap(({ what, statuses }, i) => [
      ...this.#differences(what, statuses, (after.stored[i] as Snapshot['stored'][number]).statuses),
    ]);
    if (before.seen && after.seen && changes.length === 0) {
      const what = this.#lanes ? `${terminal.id}'s guard's attempts` : "the guard's attempts";
      changes.push(...this.#differences(what, before.seen, after.seen));
    }
    if (changes.length > 0) {
      this.#fail(number, `throws ${errorName} and changes nothing`, `threw ${errorName} but changed: ${changes.join('; ')}`);
    }
  }

  *#differences(what: string, before: Map<string, AttemptStatus>, after: Map<string, AttemptStatus>): Generator<string> {
    if (after.size !== before.size) yield `${what} ${before.size} → ${after.size}`;
    for (const [id, status] of before) {
      const now = after.get(id);
      if (now !== undefined && now !== status) yield `${this.#nameOf(id)} ${status} → ${now}`;
    }
  }

  #nameOf(id: string): string {
    const name = this.#nameFor(id);
    return name === undefined ? `attempt ${id}` : `attempt "${name}"`;
  }

  #nameFor(id: string): string | undefined {
    for (const [name, attemptId] of this.#attempts) if (attemptId === id) return name;
    return undefined;
  }

  #fail(step: number, expected: string, actual: string): void {
    // Both quote the scenario (names, the guard's message about a Sale's
    // keys): what the report prints and --json carries, bounded and masked.
    this.failures.push({ step, expected: safeText(expected), actual: safeText(actual) });
  }
}

function matches(decision: Decision, expect: DecisionExpectation): boolean {
  const codes = new Set(decision.reasons.map((r) => r.code));
  return (
    decision.verdict === expect.verdict &&
    (expect.reasons ?? []).every((code) => codes.has(code)) &&
    !(expect.absent ?? []).some((code) => codes.has(code))
  );
}

function describeDecisionExpectation(expect: DecisionExpectation): string {
  const parts = [`verdict ${expect.verdict}`];
  if (expect.reasons?.length) parts.push(`with ${expect.reasons.join(', ')}`);
  if (expect.absent?.length) parts.push(`without ${expect.absent.join(', ')}`);
  return parts.join(', ');
}

function describeDecision(decision: Decision): string {
  const codes = decision.reasons.map((r) => r.code);
  return `verdict ${decision.verdict}, reasons: ${codes.length ? codes.join(', ') : '(none)'}`;
}

function describeExpectation(step: ScenarioStep): string {
  if (step.expect && 'verdict' in step.expect) return describeDecisionExpectation(step.expect);
  if ('recoverNow' in step && step.expect && 'status' in step.expect) {
    return `attempt "${step.recoverNow.attempt}" is ${step.expect.status} after the try`;
  }
  return 'no error';
}

/** `unknown after the try: recover threw (Error: …)`: a recoverNow result, for a failure. */
function describeTry(result: RecoverResult | undefined): string {
  if (!result) return 'not tried (recoverNow resolved with no result)';
  const parts: string[] = [];
  if (result.outcome) parts.push(`the processor answered ${result.outcome.status}`);
  if (result.error !== undefined) parts.push(errorText(result.error));
  return `${result.status} after the try${parts.length ? `: ${parts.join('; ')}` : ''}`;
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function thrown(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `a non-error was thrown: ${String(error)}`;
}
