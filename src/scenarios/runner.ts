import { parseDuration } from '../duration.js';
import { createGuard, type Guard } from '../guard.js';
import { memoryStore } from '../stores/memory.js';
import { virtualTime, type VirtualTime } from './virtual-time.js';
import type { AttemptStatus, Decision, GuardOptions, GuardStore, OverrideRequest, Sale } from '../types.js';
import { parseScenario } from './load.js';
import { safeText } from './render.js';
import type { DecisionExpectation, Scenario, ScenarioConfig, ScenarioInput, ScenarioStep } from './schema.js';

/**
 * Runs a scenario (SPEC §7) against a fresh guard on a `memoryStore()` with a
 * virtual clock. Every step is run even after a failure, so one report shows
 * everything that went wrong; a step that throws unexpectedly is a failure,
 * never a crash of the run.
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
   * `close()` (a `restart`). @default memoryStore()
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
  const run = new Run(scenario, options.store ?? memoryStore());
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
  stored: Map<string, AttemptStatus>;
  /** `undefined` across a restart, where the guard itself is replaced. */
  seen: Map<string, AttemptStatus> | undefined;
}

type RestartChange = Extract<ScenarioStep, { restart: unknown }>['restart'];

class Run {
  readonly failures: ScenarioFailure[] = [];
  readonly #scenario: Scenario;
  readonly #store: GuardStore;
  readonly #time: VirtualTime;
  #config: ScenarioConfig;
  #guard: Guard | undefined;
  // Names survive restarts: attempts are found again by id in the store.
  readonly #decisions = new Map<string, Decision>();
  readonly #attempts = new Map<string, string>();

  constructor(scenario: Scenario, store: GuardStore) {
    this.#scenario = scenario;
    this.#store = store;
    this.#config = scenario.config;
    this.#time = virtualTime(Date.parse(scenario.start));
  }

  /** Returns the number of steps run. */
  async play(): Promise<number> {
    try {
      this.#guard = await this.#createGuard(this.#config);
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
      if (!alive) return index + 1;
    }
    await this.#guard.close();
    return steps.length;
  }

  /** Runs one step and records its failure, if any. `false` when the run cannot go on. */
  async #step(number: number, step: ScenarioStep): Promise<boolean> {
    const expectedError = step.expect && 'error' in step.expect ? step.expect.error : undefined;
    if ('restart' in step) return this.#restart(number, step.restart, expectedError);
    const before = expectedError ? await this.#snapshot() : undefined;
    let outcome: Decision | undefined;
    try {
      outcome = await this.#act(step);
    } catch (error) {
      if (error instanceof StepProblem) {
        this.#fail(number, error.expected, error.actual);
      } else if (expectedError && errorName(error) === expectedError) {
        await this.#checkUnchanged(number, expectedError, before as Snapshot);
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
  async #act(step: ScenarioStep): Promise<Decision | undefined> {
    const guard = this.#guard as Guard;
    if ('begin' in step || 'peek' in step) {
      const sale = this.#sale('begin' in step ? step.begin : step.peek);
      // `async` wrapper: a synchronous throw and a rejection are the same step result.
      const decision = await (async () => ('begin' in step ? guard.begin(sale) : guard.peek(sale)))();
      this.#bind(step.as, decision);
      return decision;
    }
    if ('override' in step) {
      const { decision: name, operator, reason, supervisor } = step.override;
      const request = { operator, reason, ...(supervisor ? { supervisor: SCENARIO_SUPERVISOR } : {}) } as OverrideRequest;
      const decision = await guard.override(this.#decision(name), request);
      this.#bind(step.as, decision);
      return decision;
    }
    if ('settle' in step) {
      const { attempt, status, amount } = step.settle;
      // Passed as written: an amount on a non-refund status is the guard's to refuse.
      const outcome = (amount === undefined ? { status } : { status, amount }) as Parameters<Guard['settle']>[1];
      await guard.settle(this.#attempt(attempt), outcome);
      return undefined;
    }
    if ('resume' in step) {
      await guard.resume(this.#attempt(step.resume.attempt));
      return undefined;
    }
    if ('advance' in step) {
      await this.#time.advance(parseDuration(step.advance, { field: 'advance' }));
      return undefined;
    }
    if ('clockJump' in step) {
      this.#time.jump(parseDuration(step.clockJump, { field: 'clockJump', signed: true }));
      return undefined;
    }
    if ('expectAttempt' in step) {
      const { attempt, status } = step.expectAttempt;
      const record = await guard.get(this.#attempt(attempt));
      const actual = record ? record.status : 'no such attempt (pruned, or never persisted)';
      if (actual !== status) throw new StepProblem(`attempt "${attempt}" is ${status}`, `attempt "${attempt}" is ${actual}`);
      return undefined;
    }
    return undefined;
  }

  /**
   * A crash and a new process: the guard is dropped without `close()`, the
   * monotonic clock starts again, the wall clock and the store carry on.
   */
  async #restart(number: number, restart: RestartChange, expectedError: string | undefined): Promise<boolean> {
    const previous = this.#config;
    const next: ScenarioConfig = restart === true ? previous : { ...previous, ...restart };
    const before = expectedError ? await this.#snapshot(false) : undefined;
    this.#time.restart();
    try {
      this.#guard = await this.#createGuard(next);
      this.#config = next;
      if (expectedError) this.#fail(number, `throws ${expectedError}`, 'no error: the guard restarted');
      return true;
    } catch (error) {
      if (expectedError && errorName(error) === expectedError) {
        await this.#checkUnchanged(number, expectedError, before as Snapshot);
      } else {
        this.#fail(number, expectedError ? `throws ${expectedError}` : 'the guard restarts', thrown(error));
      }
    }
    // The run goes on with the configuration that worked (SPEC §7).
    try {
      this.#guard = await this.#createGuard(previous);
      return true;
    } catch (error) {
      this.#fail(number, 'a guard re-created from the previous config', thrown(error));
      return false;
    }
  }

  #createGuard(config: ScenarioConfig): Promise<Guard> {
    const { authorize, ...rest } = config;
    const options: GuardOptions = {
      ...(rest as Omit<GuardOptions, 'authorize'>),
      store: this.#store,
      clock: this.#time.clock,
      scheduler: this.#time.scheduler,
      authorize: () => authorize,
    };
    return createGuard(options);
  }

  #bind(name: string | undefined, decision: Decision): void {
    if (name === undefined) return;
    this.#decisions.set(name, decision);
    if (decision.attempt) this.#attempts.set(name, decision.attempt.id);
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

  async #snapshot(withGuard = true): Promise<Snapshot> {
    const stored = new Map((await this.#store.load()).map((r) => [r.id, r.status] as const));
    // The guard's view too: a reservation left in its memory would block the next sale.
    const seen = withGuard && this.#guard ? new Map((await this.#guard.attempts()).map((r) => [r.id, r.status] as const)) : undefined;
    return { stored, seen };
  }

  /** An expected error must change nothing (SPEC §7): same records, same statuses. */
  async #checkUnchanged(number: number, errorName: string, before: Snapshot): Promise<void> {
    const after = await this.#snapshot(before.seen !== undefined);
    const changes = [...this.#differences('stored records', before.stored, after.stored)];
    if (before.seen && after.seen && changes.length === 0) {
      changes.push(...this.#differences("the guard's attempts", before.seen, after.seen));
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
    for (const [name, attemptId] of this.#attempts) if (attemptId === id) return `attempt "${name}"`;
    return `attempt ${id}`;
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
  return 'no error';
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function thrown(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `a non-error was thrown: ${String(error)}`;
}
