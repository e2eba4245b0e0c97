import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/index.js';
import { ScenarioFileError, parseScenario, runScenario, type ScenarioInput } from '../../src/testing.js';
import { sharedVirtualTime } from '../../src/scenarios/virtual-time.js';
import { scenarioJsonSchemaText } from '../../src/scenarios/schema.js';
import type { GuardStore } from '../../src/types.js';

/**
 * Scenarios of several terminals (SPEC §7 "Several terminals", §9): one
 * shared in-memory database, a terminal per `terminal` id, `disconnect` /
 * `reconnect` and the conflicts a catch-up reports.
 */

const UNIONPAY = { pan: '6222 0202 0011 2233 446' };
const sale = (extra: Record<string, unknown> = {}) => ({ amount: 1250, currency: 'CNY', card: UNIONPAY, ...extra });

type Steps = ScenarioInput['steps'];
const scenario = (steps: Steps, extra: Partial<ScenarioInput> = {}): ScenarioInput => ({ name: 'terminals', ...extra, steps });

/** T2 cut off approves the sale; T1 approves it too; T2 comes back. */
const doubleCharge: Steps = [
  { disconnect: 'T2' },
  { begin: sale(), terminal: 'T2', as: 'b1', expect: { verdict: 'allow', reasons: ['SHARED_UNAVAILABLE'] } },
  { settle: { attempt: 'b1', status: 'approved' }, terminal: 'T2' },
  { begin: sale(), as: 'a1', expect: { verdict: 'allow', absent: ['SHARED_UNAVAILABLE'] } },
  { settle: { attempt: 'a1', status: 'approved' } },
];

describe('several terminals: the runner', () => {
  it('a step on another terminal shares one history: IN_FLIGHT, then DUPLICATE_CHARGE across lanes', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1', expect: { verdict: 'allow' } },
        { begin: sale(), terminal: 'T2', expect: { verdict: 'block', reasons: ['IN_FLIGHT'] } },
        { settle: { attempt: 'a1', status: 'approved' } },
        { begin: sale(), terminal: 'T2', expect: { verdict: 'prompt', reasons: ['DUPLICATE_CHARGE'] } },
      ]),
    );
    expect(result.failures).toEqual([]);
    expect(result.steps).toBe(4);
  });

  it('without `terminal`, `disconnect` or `reconnect` a scenario runs as before: one guard, on the `store` option', async () => {
    const store = memoryStore();
    const result = await runScenario(scenario([{ begin: sale(), as: 'a1' }, { settle: { attempt: 'a1', status: 'approved' } }]), { store });
    expect(result.failures).toEqual([]);
    const records = await store.load();
    expect(records.map((r) => r.status)).toEqual(['approved']);
    // One terminal: the guard's terminalId is config's (none here), not "T1".
    expect(records[0]?.terminalId).toBeUndefined();
  });

  it('a scenario of one terminal never reports SHARED_UNAVAILABLE: it has no shared store to lose', async () => {
    const result = await runScenario(scenario([{ begin: sale(), expect: { verdict: 'allow', absent: ['SHARED_UNAVAILABLE'] } }]));
    expect(result.failures).toEqual([]);
  });

  it("with several terminals the `store` option is T1's local store, and each guard gets its terminal's id", async () => {
    const store = memoryStore();
    const result = await runScenario(
      scenario(
        [
          { disconnect: 'T1' },
          { begin: sale(), as: 'a1', expect: { verdict: 'allow', reasons: ['SHARED_UNAVAILABLE'] } },
          { begin: sale({ amount: 990 }), terminal: 'T2', as: 'b1', expect: { verdict: 'allow', absent: ['SHARED_UNAVAILABLE'] } },
        ],
        { config: { terminalId: 'ignored-with-several' } },
      ),
      { store },
    );
    expect(result.failures).toEqual([]);
    // T1 wrote a1 there while cut off; T2's b1 went to T2's own local store.
    const records = await store.load();
    expect(records.map((r) => [r.amount, r.terminalId])).toEqual([[1250, 'T1']]);
  });

  it('`"terminal": "T1"` alone is enough to run on the shared store', async () => {
    const result = await runScenario(
      scenario([
        { disconnect: 'T1', terminal: 'T1' },
        { begin: sale(), terminal: 'T1', expect: { verdict: 'allow', reasons: ['SHARED_UNAVAILABLE'] } },
      ]),
    );
    expect(result.failures).toEqual([]);
  });

  it('names are global: an attempt approved on T1 is voided on T2 by name, and T1 sees it', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { settle: { attempt: 'a1', status: 'approved' } },
        { settle: { attempt: 'a1', status: 'voided' }, terminal: 'T2', note: 'the back office voids the sale' },
        { expectAttempt: { attempt: 'a1', status: 'voided' } },
        { begin: sale(), expect: { verdict: 'allow', absent: ['DUPLICATE_CHARGE'] } },
      ]),
    );
    expect(result.failures).toEqual([]);
  });

  it("a decision belongs to the guard that returned it: overriding it on another terminal is the guard's GuardInputError", async () => {
    const result = await runScenario(
      scenario(
        [
          { begin: sale(), as: 'a1' },
          { settle: { attempt: 'a1', status: 'approved' } },
          { begin: sale(), as: 'd2', expect: { verdict: 'prompt' } },
          { override: { decision: 'd2', operator: 'c2', reason: 'second purchase' }, terminal: 'T2', expect: { error: 'GuardInputError' } },
          { override: { decision: 'd2', operator: 'c1', reason: 'second purchase' }, as: 'a2', expect: { verdict: 'allow' } },
        ],
        {},
      ),
    );
    expect(result.failures).toEqual([]);
  });

  it("restart and clockJump apply to the step's terminal only; advance moves every terminal's clocks", async () => {
    const result = await runScenario(
      scenario(
        [
          { begin: sale(), as: 'a1' },
          { begin: sale({ amount: 990 }), terminal: 'T2', as: 'b1' },
          { restart: true, terminal: 'T2' },
          { expectAttempt: { attempt: 'b1', status: 'unknown' }, terminal: 'T2', note: 'its own pending died with it' },
          { expectAttempt: { attempt: 'a1', status: 'pending' }, terminal: 'T1', note: 'T1 did not restart' },
          { expectAttempt: { attempt: 'a1', status: 'pending' }, terminal: 'T2', note: "another terminal's pending stays in flight" },
          { clockJump: '+1h', terminal: 'T2' },
          { peek: sale({ amount: 500 }), terminal: 'T2', expect: { verdict: 'allow', reasons: ['CLOCK_ANOMALY'] } },
          { peek: sale({ amount: 500 }), terminal: 'T1', expect: { verdict: 'allow', absent: ['CLOCK_ANOMALY'] } },
          { advance: '2m1s', terminal: 'T2', note: 'whatever terminal it names' },
          { expectAttempt: { attempt: 'a1', status: 'unknown' }, terminal: 'T1', note: "stale on T1 too: T1's clocks moved" },
        ],
        { config: { pendingTimeout: '2m' } },
      ),
    );
    expect(result.failures).toEqual([]);
  });

  it('expect.error on a cut-off terminal: the step must change nothing, there and in the shared database', async () => {
    const result = await runScenario(
      scenario([
        { disconnect: 'T2' },
        { begin: sale(), terminal: 'T2', as: 'b1', expect: { verdict: 'allow' } },
        { begin: sale({ amount: 12.5 }), terminal: 'T2', expect: { error: 'GuardInputError' } },
        { settle: { attempt: 'b1', status: 'refunded' }, terminal: 'T2', expect: { error: 'GuardStateError' } },
        { settle: { attempt: 'b1', status: 'approved' }, terminal: 'T1', expect: { error: 'GuardInputError' } },
      ]),
    );
    // The last: T1 cannot see b1 (T2 is cut off), so it is not an attempt T1 knows.
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatchObject({ step: 5, expected: 'throws GuardInputError' });
  });

  it('a change made by a step expected to fail is named by where it happened: the local store of that terminal', async () => {
    // T1's local store loses a record while failing the restart's load.
    const inner = memoryStore();
    let attaches = 0;
    let broken = false;
    const lossy: GuardStore = {
      ...inner,
      attach: (owner) => {
        attaches++;
        return inner.attach?.(owner);
      },
      load: async (scope) => {
        const records = await inner.load(scope);
        if (attaches === 2 && !broken) {
          broken = true;
          await inner.delete(records[0]!.id);
          throw new Error('disk went away');
        }
        return records;
      },
    };
    const result = await runScenario(
      scenario([{ disconnect: 'T1' }, { begin: sale(), as: 'a1' }, { restart: true, expect: { error: 'GuardStorageError' } }]),
      { store: lossy },
    );
    expect(result.failures).toEqual([
      {
        step: 3,
        expected: 'throws GuardStorageError and changes nothing',
        actual: "threw GuardStorageError but changed: T1's local records 1 → 0",
      },
    ]);
  });

  it('a store that fails as T1 starts is a failure before step 1, as with one terminal', async () => {
    const failing: GuardStore = {
      ...memoryStore(),
      attach: () => {
        throw new Error('no disk');
      },
    };
    const result = await runScenario(scenario([{ begin: sale(), terminal: 'T2' }]), { store: failing });
    expect(result.steps).toBe(0);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatchObject({ step: 1, expected: 'a guard created from `config` (before step 1)' });
  });
});

describe('several terminals: reconnect and conflicts', () => {
  it('reconnect waits for the catch-up: the conflict names both attempts, in any order', async () => {
    for (const conflicts of [
      ['b1', 'a1'],
      ['a1', 'b1'],
    ]) {
      const result = await runScenario(
        scenario([
          ...doubleCharge,
          { reconnect: 'T2', expect: { conflicts } },
          { peek: sale(), expect: { verdict: 'prompt', reasons: ['DUPLICATE_CHARGE'] } },
        ]),
      );
      expect(result.failures).toEqual([]);
    }
  });

  it('a conflicts expectation that differs is a failure saying what was reported, where', async () => {
    const result = await runScenario(
      scenario([
        ...doubleCharge,
        { reconnect: 'T2', expect: { conflicts: ['b1'] } },
        { disconnect: 'T2' },
        { reconnect: 'T2', expect: { conflicts: ['b1', 'a1'] }, note: 'reported once, not again' },
      ]),
    );
    expect(result.failures).toEqual([
      {
        step: 6,
        expected: 'conflicts naming "b1"',
        actual: 'conflicts naming "b1", "a1" (DUPLICATE_CHARGE: "b1" on T2 and "a1" on T1)',
      },
      { step: 8, expected: 'conflicts naming "b1", "a1"', actual: 'no conflicts' },
    ]);
  });

  it('`conflicts: []` expects none; without `conflicts` nothing is checked', async () => {
    const none = await runScenario(scenario([...doubleCharge, { reconnect: 'T2', expect: { conflicts: [] } }]));
    expect(none.failures).toEqual([
      { step: 6, expected: 'no conflicts', actual: 'conflicts naming "b1", "a1" (DUPLICATE_CHARGE: "b1" on T2 and "a1" on T1)' },
    ]);
    const unchecked = await runScenario(scenario([...doubleCharge, { reconnect: 'T2' }]));
    expect(unchecked.failures).toEqual([]);
  });

  it('only approvals conflict: an attempt still pending on the other lane is no double charge', async () => {
    const result = await runScenario(
      scenario([
        { disconnect: 'T2' },
        { begin: sale(), terminal: 'T2', as: 'b1' },
        { settle: { attempt: 'b1', status: 'approved' }, terminal: 'T2' },
        { begin: sale(), as: 'a1', expect: { verdict: 'allow' }, note: 'T1 cannot see b1' },
        { reconnect: 'T2', expect: { conflicts: [] } },
        { expectAttempt: { attempt: 'a1', status: 'pending' }, terminal: 'T2' },
      ]),
    );
    expect(result.failures).toEqual([]);
  });

  it('a reconnect of a terminal that was never cut off is the Reconnect button pressed anyway: nothing to report', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), terminal: 'T2' },
        { reconnect: 'T2', expect: { conflicts: [] } },
      ]),
    );
    expect(result.failures).toEqual([]);
  });

  it('a restart while cut off keeps the outbox: the catch-up after it still reports the conflict', async () => {
    const result = await runScenario(
      scenario([...doubleCharge, { restart: true, terminal: 'T2' }, { reconnect: 'T2', expect: { conflicts: ['a1', 'b1'] } }]),
    );
    expect(result.failures).toEqual([]);
  });
});

describe('several terminals: the scenario file', () => {
  it('a disconnect or reconnect of a terminal no step runs on is a scenario error, found at load', () => {
    const steps: Steps = [{ begin: sale(), terminal: 'T2' }, { disconnect: 'T02' }, { reconnect: 'T3' }];
    const error = (() => {
      try {
        parseScenario(scenario(steps));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ScenarioFileError);
    expect((error as ScenarioFileError).problems).toEqual([
      {
        step: 2,
        field: 'disconnect',
        message:
          '"T02" is not a terminal any step runs on (the scenario\'s terminals: "T1", "T2"): give a step `"terminal": "T02"`, or correct the id',
      },
      {
        step: 3,
        field: 'reconnect',
        message:
          '"T3" is not a terminal any step runs on (the scenario\'s terminals: "T1", "T2"): give a step `"terminal": "T3"`, or correct the id',
      },
    ]);
  });

  it('a terminal may be cut off before its first step: T1 always, another once a step runs on it', async () => {
    expect(() => parseScenario(scenario([{ disconnect: 'T1' }, { reconnect: 'T1' }]))).not.toThrow();
    const result = await runScenario(
      scenario([{ disconnect: 'T2' }, { begin: sale(), terminal: 'T2', expect: { verdict: 'allow', reasons: ['SHARED_UNAVAILABLE'] } }]),
    );
    expect(result.failures).toEqual([]);
  });

  it('conflicts name attempts defined earlier, and never a peek', () => {
    expect(() => parseScenario(scenario([...doubleCharge, { reconnect: 'T2', expect: { conflicts: ['b1', 'ghost'] } }]))).toThrow(
      /step 6, `expect\.conflicts\[1\]`: "ghost" is not a name defined by an earlier step's `as`/,
    );
    expect(() =>
      parseScenario(
        scenario([
          { peek: sale(), as: 'p' },
          { reconnect: 'T1', expect: { conflicts: ['p'] } },
        ]),
      ),
    ).toThrow(/step 2, `expect\.conflicts\[0\]`: "p" names a peek at step 1, which never reserves an attempt/);
  });

  it('refuses what is not a step of several terminals: an empty terminal id, conflicts outside reconnect, a bad policy', () => {
    expect(() => parseScenario(scenario([{ begin: sale(), terminal: '' }]))).toThrow(/step 1, `terminal`: must be a non-empty terminal id/);
    expect(() => parseScenario(scenario([{ disconnect: 'T1', expect: { conflicts: [] } } as never]))).toThrow(
      /step 1, `expect\.conflicts`/,
    );
    expect(() => parseScenario(scenario([{ advance: '1s' }], { config: { onSharedUnavailable: 'ask' as never } }))).toThrow(
      /`config\.onSharedUnavailable`/,
    );
    expect(() => parseScenario(scenario([{ reconnect: 'T1', expect: { conflicts: 'b1' } } as never]))).toThrow(
      /step 1, `expect\.conflicts`/,
    );
  });

  it('the JSON Schema lets every step carry `terminal`, and reconnect expect conflicts', () => {
    const schema = JSON.parse(scenarioJsonSchemaText()) as {
      properties: {
        config: { properties: Record<string, { enum?: string[] }> };
        steps: { items: { anyOf: { required: string[]; properties: Record<string, { anyOf?: { properties: object }[] }> }[] } };
      };
    };
    const shapes = schema.properties.steps.items.anyOf;
    expect(shapes.every((shape) => 'terminal' in shape.properties)).toBe(true);
    const reconnect = shapes.find((shape) => shape.required[0] === 'reconnect');
    expect(reconnect?.properties.expect?.anyOf?.map((option) => Object.keys(option.properties))).toEqual([['conflicts'], ['error']]);
    expect(schema.properties.config.properties.onSharedUnavailable?.enum).toEqual(['allow', 'prompt', 'block']);
  });
});

describe('sharedVirtualTime', () => {
  it("runs every terminal's timers in one order by due time; each terminal's wall clock is the shared time plus its jumps", async () => {
    const time = sharedVirtualTime(1_000_000);
    const t1 = time.terminal();
    await time.advance(100);
    const t2 = time.terminal();
    const ran: string[] = [];
    t1.scheduler.after(300, () => ran.push(`t1@${time.now()}`));
    t2.scheduler.after(200, () => ran.push(`t2@${time.now()}`));
    t1.scheduler.after(100, () => ran.push(`t1@${time.now()}`));
    t2.jump(-5_000);
    expect([t1.clock.now(), t2.clock.now(), time.now()]).toEqual([1_000_100, 995_100, 1_000_100]);
    expect([t1.clock.monotonic(), t2.clock.monotonic()]).toEqual([100, 0]);
    await time.advance(1_000);
    expect(ran).toEqual(['t1@1000200', 't2@1000300', 't1@1000400']);
    expect([t1.clock.now(), t2.clock.now()]).toEqual([1_001_100, 996_100]);
  });

  it("a terminal's restart starts its monotonic clock again and drops its timers only", async () => {
    const time = sharedVirtualTime(0);
    const t1 = time.terminal();
    const t2 = time.terminal();
    const ran: string[] = [];
    t1.scheduler.after(50, () => ran.push('t1'));
    t2.scheduler.after(50, () => ran.push('t2'));
    await time.advance(10);
    t1.restart();
    expect([t1.clock.monotonic(), t2.clock.monotonic()]).toEqual([0, 10]);
    await time.advance(100);
    expect(ran).toEqual(['t2']);
  });
});
