import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/index.js';
import { ScenarioFileError, runScenario, type ScenarioInput, type ScenarioStep } from '../../src/testing.js';
import type { GuardStore } from '../../src/types.js';

const VISA = { pan: '4111 1111 1111 1111' };
const UNIONPAY = { pan: '6222 0202 0011 2233 446' };
const sale = (extra: Record<string, unknown> = {}) => ({ amount: 1250, currency: 'CNY', card: VISA, ...extra });

function scenario(steps: ScenarioStep[] | ScenarioInput['steps'], extra: Partial<ScenarioInput> = {}): ScenarioInput {
  return { name: 'test', ...extra, steps };
}

describe('runScenario: results', () => {
  it('passes the SPEC §7 example, reporting name, steps and time', async () => {
    const result = await runScenario(
      scenario(
        [
          { begin: { amount: 1250, currency: 'CNY', card: UNIONPAY }, as: 'a1', expect: { verdict: 'allow' } },
          { settle: { attempt: 'a1', status: 'unknown' } },
          { advance: '20s' },
          {
            begin: { amount: 1250, currency: 'CNY', card: { pan: '6222020200112233446' } },
            as: 'a2',
            expect: { verdict: 'block', reasons: ['UNKNOWN_OUTCOME'] },
          },
          { settle: { attempt: 'a1', status: 'declined' } },
          { begin: { amount: 1250, currency: 'CNY', card: { pan: '6222020200112233446' } }, as: 'a3', expect: { verdict: 'allow' } },
        ],
        { name: 'timeout then retry is held until settled', config: { merchantId: 'M1', window: '10m' }, start: '2026-03-01T09:00:00Z' },
      ),
    );
    expect(result).toMatchObject({ name: 'timeout then retry is held until settled', passed: true, failures: [], steps: 6 });
    expect(result.ms).toBeGreaterThanOrEqual(0);
  });

  it('reports a wrong verdict with 1-based step, expected and actual, and keeps going', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1', expect: { verdict: 'allow' } },
        { begin: sale(), expect: { verdict: 'allow' } },
        { settle: { attempt: 'a1', status: 'approved' } },
        { begin: sale(), expect: { verdict: 'allow' } },
      ]),
    );
    expect(result.passed).toBe(false);
    expect(result.steps).toBe(4);
    expect(result.failures).toEqual([
      { step: 2, expected: 'verdict allow', actual: 'verdict block, reasons: IN_FLIGHT' },
      { step: 4, expected: 'verdict allow', actual: 'verdict prompt, reasons: DUPLICATE_CHARGE' },
    ]);
  });

  it('requires every code in `reasons` and none in `absent`', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { settle: { attempt: 'a1', status: 'approved' } },
        { begin: sale(), expect: { verdict: 'prompt', reasons: ['DUPLICATE_CHARGE'] } },
        { begin: sale(), expect: { verdict: 'prompt', reasons: ['DUPLICATE_CHARGE', 'CLOCK_ANOMALY'] } },
        { begin: sale(), expect: { verdict: 'prompt', absent: ['DUPLICATE_CHARGE'] } },
        { begin: sale(), expect: { verdict: 'prompt', absent: ['IN_FLIGHT'] } },
      ]),
    );
    expect(result.failures.map((f) => f.step)).toEqual([4, 5]);
    expect(result.failures[0]).toEqual({
      step: 4,
      expected: 'verdict prompt, with DUPLICATE_CHARGE, CLOCK_ANOMALY',
      actual: 'verdict prompt, reasons: DUPLICATE_CHARGE',
    });
    expect(result.failures[1]?.expected).toBe('verdict prompt, without DUPLICATE_CHARGE');
  });

  it('turns an unexpected throw into a failure naming the error, not a crash', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { settle: { attempt: 'a1', status: 'declined' } },
        { settle: { attempt: 'a1', status: 'approved' } },
        { begin: sale({ amount: 12.5 }), expect: { verdict: 'allow' } },
        { expectAttempt: { attempt: 'a1', status: 'declined' } },
      ]),
    );
    expect(result.steps).toBe(5);
    expect(result.failures).toHaveLength(2);
    expect(result.failures[0]).toMatchObject({ step: 3, expected: 'no error' });
    expect(result.failures[0]?.actual).toMatch(/^GuardStateError: .*'declined' to 'approved'/);
    expect(result.failures[1]).toMatchObject({ step: 4, expected: 'verdict allow' });
    expect(result.failures[1]?.actual).toMatch(/^GuardInputError: `amount`/);
  });

  it('a failure never echoes a card number, and stays short however long the value it quotes', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale({ ['4111 1111 1111 1111']: true }), expect: { verdict: 'allow' } },
        { begin: sale({ ['k'.repeat(1_000_000)]: true }), expect: { verdict: 'allow' } },
      ]),
    );
    expect(result.failures).toHaveLength(2);
    expect(result.failures[0]).toEqual({
      step: 1,
      expected: 'verdict allow',
      actual: 'GuardInputError: `[card number removed]` is not a field of a Sale',
    });
    expect(result.failures[1]?.actual).toMatch(/^GuardInputError: `k{100,}…$/);
    expect(result.failures[1]?.actual.length).toBeLessThan(600);
  });

  it('throws ScenarioFileError for an invalid scenario: a scenario error, not a step result', async () => {
    await expect(runScenario(scenario([]))).rejects.toBeInstanceOf(ScenarioFileError);
    await expect(runScenario(scenario([{ settle: { attempt: 'ghost', status: 'approved' } }]))).rejects.toThrow(
      /step 1, `settle.attempt`: "ghost" is not a name/,
    );
  });

  it('refuses a config the guard would refuse as a broken scenario (steps are 1-based: there is no step 0)', async () => {
    const error = await runScenario(scenario([{ advance: '1s' }], { config: { window: 'ten minutes' } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScenarioFileError);
    expect((error as ScenarioFileError).problems[0]).toMatchObject({ step: undefined, field: 'config.window' });
    expect((error as Error).message).toMatch(/`window` must be a Duration/);
  });
});

describe('runScenario: expect.error', () => {
  it('passes when the step throws that class and records nothing', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale({ card: { pan: '4111 1111 1111 1112' } }), expect: { error: 'GuardInputError' } },
        { begin: sale({ cvv: '123' }), expect: { error: 'GuardInputError' } },
        { begin: sale(), as: 'a1', expect: { verdict: 'allow', absent: ['IN_FLIGHT'] } },
      ]),
    );
    expect(result.failures).toEqual([]);
  });

  it('fails when the step does not throw, naming what happened instead', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), expect: { error: 'GuardInputError' } },
        { advance: '1m', expect: { error: 'GuardStateError' } },
      ]),
    );
    expect(result.failures).toEqual([
      { step: 1, expected: 'throws GuardInputError', actual: 'no error: verdict allow, reasons: (none)' },
      { step: 2, expected: 'throws GuardStateError', actual: 'no error' },
    ]);
  });

  it('fails when the step throws another class', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { settle: { attempt: 'a1', status: 'approved' } },
        { resume: { attempt: 'a1' }, expect: { error: 'GuardInputError' } },
      ]),
    );
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatchObject({ step: 3, expected: 'throws GuardInputError' });
    expect(result.failures[0]?.actual).toMatch(/^GuardStateError: /);
  });

  it('fails when the expected error came with a change to the store', async () => {
    // A store that loses a record while failing to load: the restart throws
    // the expected class, but something changed, which the runner must catch.
    const inner = memoryStore();
    let loads = 0;
    const lossy: GuardStore = {
      ...inner,
      load: async () => {
        const records = await inner.load();
        // 1: the first guard, 2: the runner's snapshot, 3: the restart.
        if (++loads === 3) {
          await inner.delete(records[0]!.id);
          throw new Error('disk went away');
        }
        return records;
      },
    };
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { restart: true, expect: { error: 'GuardStorageError' } },
      ]),
      { store: lossy },
    );
    expect(result.failures).toEqual([
      {
        step: 2,
        expected: 'throws GuardStorageError and changes nothing',
        actual: 'threw GuardStorageError but changed: stored records 1 → 0',
      },
    ]);
  });
});

describe('runScenario: step kinds', () => {
  it('peek evaluates but reserves nothing; its name is a decision only', async () => {
    const result = await runScenario(
      scenario([
        { peek: sale(), as: 'p', expect: { verdict: 'allow' } },
        { peek: sale(), expect: { verdict: 'allow', absent: ['IN_FLIGHT'] } },
        { begin: sale(), expect: { verdict: 'allow' } },
        { peek: sale(), expect: { verdict: 'block', reasons: ['IN_FLIGHT'] } },
      ]),
    );
    expect(result.failures).toEqual([]);
  });

  it('override lifts a prompt into a fresh attempt that later steps can name', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { settle: { attempt: 'a1', status: 'approved' } },
        { begin: sale(), as: 'again', expect: { verdict: 'prompt', reasons: ['DUPLICATE_CHARGE'] } },
        { override: { decision: 'again', operator: 'c1' }, expect: { error: 'GuardInputError' } },
        { override: { decision: 'again', operator: 'c1', reason: 'second one' }, as: 'a2', expect: { verdict: 'allow' } },
        { expectAttempt: { attempt: 'a2', status: 'pending' } },
        { settle: { attempt: 'a2', status: 'approved' } },
        { expectAttempt: { attempt: 'a2', status: 'approved' } },
      ]),
    );
    expect(result.failures).toEqual([]);
  });

  it('config.authorize answers the supervisor check, both ways', async () => {
    const steps: ScenarioInput['steps'] = [
      { begin: sale({ orderId: 'O-1' }), as: 'a1' },
      { settle: { attempt: 'a1', status: 'approved' } },
      { advance: '11m' },
      { begin: sale({ orderId: 'O-1' }), as: 'paid', expect: { verdict: 'block', reasons: ['ORDER_ALREADY_PAID'] } },
      { override: { decision: 'paid', operator: 'c1', reason: 'asked twice', supervisor: true }, as: 'a2', expect: { verdict: 'allow' } },
    ];
    expect((await runScenario(scenario(steps, { config: { authorize: true } }))).failures).toEqual([]);
    const refused = await runScenario(scenario(steps));
    expect(refused.failures).toHaveLength(1);
    expect(refused.failures[0]?.actual).toMatch(/^GuardOverrideError: /);
  });

  it('settle with an amount records a partial refund; resume keeps the attempt name', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { settle: { attempt: 'a1', status: 'unknown' } },
        { resume: { attempt: 'a1' } },
        { expectAttempt: { attempt: 'a1', status: 'pending' } },
        { settle: { attempt: 'a1', status: 'approved' } },
        { settle: { attempt: 'a1', status: 'refunded', amount: 250 } },
        { expectAttempt: { attempt: 'a1', status: 'approved' } },
        { settle: { attempt: 'a1', status: 'refunded', amount: 1001 }, expect: { error: 'GuardStateError' } },
        { settle: { attempt: 'a1', status: 'refunded', amount: 1000 } },
        { expectAttempt: { attempt: 'a1', status: 'refunded' } },
      ]),
    );
    expect(result.failures).toEqual([]);
  });

  it('expectAttempt reports the status it found', async () => {
    const result = await runScenario(scenario([{ begin: sale(), as: 'a1' }, { expectAttempt: { attempt: 'a1', status: 'approved' } }]));
    expect(result.failures).toEqual([{ step: 2, expected: 'attempt "a1" is approved', actual: 'attempt "a1" is pending' }]);
  });

  it('a name whose step reserved nothing is a step failure that says so', async () => {
    const result = await runScenario(
      scenario([{ begin: sale(), as: 'a1' }, { begin: sale(), as: 'held' }, { settle: { attempt: 'held', status: 'approved' } }]),
    );
    expect(result.failures).toEqual([
      { step: 3, expected: 'attempt "held"', actual: '"held" names no attempt: the step that named it reserved none' },
    ]);
  });

  it('refundOf may name an attempt: it is replaced by the attempt id', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { settle: { attempt: 'a1', status: 'approved' } },
        { begin: sale({ kind: 'refund', refundOf: 'a1' }), as: 'r1', expect: { verdict: 'allow', absent: ['REFUND_ORIGINAL_NOT_FOUND'] } },
        { settle: { attempt: 'r1', status: 'approved' } },
        { expectAttempt: { attempt: 'a1', status: 'refunded' } },
        {
          begin: sale({ kind: 'refund', refundOf: 'no-such-attempt' }),
          expect: { verdict: 'prompt', reasons: ['REFUND_ORIGINAL_NOT_FOUND'] },
        },
      ]),
    );
    expect(result.failures).toEqual([]);
  });
});

describe('runScenario: clocks and restarts', () => {
  it('advance moves both clocks: an approval leaves the window at exactly `window`', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { settle: { attempt: 'a1', status: 'approved' } },
        { advance: '9m59s' },
        { peek: sale(), expect: { verdict: 'prompt', reasons: ['DUPLICATE_CHARGE'], absent: ['CLOCK_ANOMALY'] } },
        { advance: 1000 },
        { peek: sale(), expect: { verdict: 'allow', absent: ['DUPLICATE_CHARGE'] } },
      ]),
    );
    expect(result.failures).toEqual([]);
  });

  it('clockJump moves only the wall clock: CLOCK_ANOMALY, and the window neither ends nor runs on', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { settle: { attempt: 'a1', status: 'approved' } },
        { clockJump: '+3h' },
        { peek: sale(), expect: { verdict: 'prompt', reasons: ['DUPLICATE_CHARGE', 'CLOCK_ANOMALY'] } },
        { peek: sale(), expect: { verdict: 'prompt', absent: ['CLOCK_ANOMALY'] } },
        { clockJump: '-1h' },
        { advance: '10m' },
        { peek: sale(), expect: { verdict: 'allow', reasons: ['CLOCK_ANOMALY'], absent: ['DUPLICATE_CHARGE'] } },
      ]),
    );
    expect(result.failures).toEqual([]);
  });

  it('restart is a crash: a pending comes back unknown, names and history survive', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { begin: sale({ amount: 500 }), as: 'a2' },
        { settle: { attempt: 'a2', status: 'approved' } },
        { restart: true },
        { expectAttempt: { attempt: 'a1', status: 'unknown' } },
        { begin: sale(), expect: { verdict: 'block', reasons: ['UNKNOWN_OUTCOME'] } },
        { begin: sale({ amount: 500 }), expect: { verdict: 'prompt', reasons: ['DUPLICATE_CHARGE'] } },
        { settle: { attempt: 'a1', status: 'declined' } },
      ]),
    );
    expect(result.failures).toEqual([]);
  });

  it('across a restart, records age by the wall clock: a wall-clock jump before the crash counts after it', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { settle: { attempt: 'a1', status: 'approved' } },
        { clockJump: '+1h' },
        // Within the process the window runs on the monotonic clock: still a repeat.
        { peek: sale(), expect: { verdict: 'prompt', reasons: ['DUPLICATE_CHARGE', 'CLOCK_ANOMALY'] } },
        { restart: true },
        // The new process only has the wall clock to go by: the approval is an hour old.
        { peek: sale(), expect: { verdict: 'allow', absent: ['DUPLICATE_CHARGE', 'CLOCK_ANOMALY'] } },
      ]),
    );
    expect(result.failures).toEqual([]);
  });

  it('across a restart without clock jumps, time keeps adding up', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { settle: { attempt: 'a1', status: 'approved' } },
        { advance: '9m' },
        { restart: true },
        { peek: sale(), expect: { verdict: 'prompt', reasons: ['DUPLICATE_CHARGE'], absent: ['CLOCK_ANOMALY'] } },
        { advance: '1m' },
        { peek: sale(), expect: { verdict: 'allow', absent: ['DUPLICATE_CHARGE', 'CLOCK_ANOMALY'] } },
      ]),
    );
    expect(result.failures).toEqual([]);
  });

  it("a decision does not survive a restart: overriding it is the guard's GuardInputError", async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { settle: { attempt: 'a1', status: 'approved' } },
        { begin: sale(), as: 'again', expect: { verdict: 'prompt' } },
        { restart: true },
        { override: { decision: 'again', operator: 'c1', reason: 'r' }, expect: { error: 'GuardInputError' } },
      ]),
    );
    expect(result.failures).toEqual([]);
  });

  it('restart with changed config fields applies them to the new guard', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { settle: { attempt: 'a1', status: 'approved' } },
        { advance: '3m' },
        { restart: { window: '2m' } },
        { peek: sale(), expect: { verdict: 'allow', absent: ['DUPLICATE_CHARGE'] } },
      ]),
    );
    expect(result.failures).toEqual([]);
  });

  it('a restart expected to fail leaves the store alone and the run goes on with the previous config', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { settle: { attempt: 'a1', status: 'approved' } },
        { restart: { secret: 'another-secret-of-32-characters!', window: '1m' }, expect: { error: 'GuardConfigError' } },
        { advance: '5m' },
        { expectAttempt: { attempt: 'a1', status: 'approved' } },
        // Still the old 10m window: the failed restart's fields were not kept.
        { peek: sale(), expect: { verdict: 'prompt', reasons: ['DUPLICATE_CHARGE'] } },
      ]),
    );
    expect(result.failures).toEqual([]);
  });

  it('a restart that fails unexpectedly is a failure, and the run goes on with the previous config', async () => {
    const result = await runScenario(
      scenario([
        { begin: sale(), as: 'a1' },
        { restart: { secret: 'another-secret-of-32-characters!' } },
        { expectAttempt: { attempt: 'a1', status: 'unknown' } },
      ]),
    );
    expect(result.steps).toBe(3);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatchObject({ step: 2, expected: 'the guard restarts' });
    expect(result.failures[0]?.actual).toMatch(/^GuardConfigError: `secret`/);
  });

  it('a restart expected to fail that succeeds is a failure', async () => {
    const result = await runScenario(scenario([{ restart: { locale: 'zh-CN' }, expect: { error: 'GuardConfigError' } }]));
    expect(result.failures).toEqual([{ step: 1, expected: 'throws GuardConfigError', actual: 'no error: the guard restarted' }]);
  });
});
