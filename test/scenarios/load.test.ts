import { mkdtempSync, writeFileSync, mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ScenarioFileError, loadScenarios, parseScenario, readScenarioFiles, stepSchema } from '../../src/testing.js';

const FIXTURES = 'test/fixtures/scenarios';

async function loadError(paths: string | string[]): Promise<ScenarioFileError> {
  const error = await loadScenarios(paths).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ScenarioFileError);
  return error as ScenarioFileError;
}

function parseError(input: unknown): ScenarioFileError {
  try {
    parseScenario(input, 'inline.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioFileError);
    return error as ScenarioFileError;
  }
  throw new Error('expected parseScenario to throw');
}

describe('loadScenarios', () => {
  it('expands folders recursively to sorted *.json files and applies defaults', async () => {
    const loaded = await loadScenarios(`${FIXTURES}/passing`);
    expect(loaded.map((l) => l.file)).toEqual([
      `${FIXTURES}/passing/every-step-kind.json`,
      `${FIXTURES}/passing/nested/supervisor-override.json`,
      `${FIXTURES}/passing/restart-with-changed-secret.json`,
    ]);
    const secret = loaded[2]!.scenario;
    expect(secret.config).toEqual({ merchantId: 'M-TEST', secret: 'scenario-secret-0123456789abcdef', authorize: false });
    expect(secret.start).toBe('2026-01-01T00:00:00Z');
    // Given fields win over defaults.
    expect(loaded[0]!.scenario.config).toMatchObject({ merchantId: 'M-FIX', authorize: true, window: '10m' });
  });

  it('takes files and folders together, once each', async () => {
    const file = `${FIXTURES}/passing/restart-with-changed-secret.json`;
    const loaded = await loadScenarios([file, `${FIXTURES}/passing`]);
    expect(loaded.map((l) => l.file)).toEqual([
      file,
      `${FIXTURES}/passing/every-step-kind.json`,
      `${FIXTURES}/passing/nested/supervisor-override.json`,
    ]);
  });

  it('names the file and the JSON error for malformed JSON', async () => {
    const error = await loadError(`${FIXTURES}/invalid/bad-json.json`);
    expect(error.file).toBe(`${FIXTURES}/invalid/bad-json.json`);
    expect(error.message).toMatch(/^test\/fixtures\/scenarios\/invalid\/bad-json\.json: is not valid JSON: /);
    expect(error.message).not.toContain('\n');
  });

  it('gives line and column when the JSON error has a position', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdg-scenarios-'));
    writeFileSync(join(dir, 'cut.json'), '{\n  "name": "x",\n  "steps": [1 2]\n}');
    const error = await loadError(join(dir, 'cut.json'));
    expect(error.message).toMatch(/in JSON at position 31 \(line 3, column 15\)$/);
  });

  it('names the step and field of an unknown field', async () => {
    const error = await loadError(`${FIXTURES}/invalid/unknown-field.json`);
    expect(error).toMatchObject({ step: 2, field: 'settle.authcode' });
    expect(error.message).toBe(`${FIXTURES}/invalid/unknown-field.json: step 2, \`settle.authcode\`: is not a field of \`settle\``);
  });

  it('names the step of an unknown attempt name', async () => {
    const error = await loadError(`${FIXTURES}/invalid/unknown-name.json`);
    expect(error).toMatchObject({ step: 3, field: 'settle.attempt' });
    expect(error.message).toContain('"a2" is not a name defined by an earlier step\'s `as` (names so far: "a1")');
  });

  it('refuses zero steps', async () => {
    const error = await loadError(`${FIXTURES}/invalid/empty-steps.json`);
    expect(error).toMatchObject({ step: undefined, field: 'steps' });
    expect(error.message).toMatch(/`steps`: must have at least one step$/);
  });

  it('reports a missing path and a folder without scenarios', async () => {
    expect((await loadError('test/fixtures/no-such-folder')).message).toBe(
      'test/fixtures/no-such-folder: cannot be read (no such file or folder)',
    );
    const empty = mkdtempSync(join(tmpdir(), 'pdg-empty-'));
    mkdirSync(join(empty, 'sub'));
    writeFileSync(join(empty, 'sub', 'notes.txt'), 'not a scenario');
    expect((await loadError(empty)).message).toMatch(/is a folder with no scenario files \(\*\.json\) in it$/);
  });

  it('readScenarioFiles collects every invalid file instead of stopping at the first', async () => {
    const { loaded, errors } = await readScenarioFiles([`${FIXTURES}/invalid`, `${FIXTURES}/passing/nested`]);
    expect(loaded).toHaveLength(1);
    expect(errors.map((e) => e.file)).toEqual([
      `${FIXTURES}/invalid/bad-json.json`,
      `${FIXTURES}/invalid/empty-steps.json`,
      `${FIXTURES}/invalid/unknown-field.json`,
      `${FIXTURES}/invalid/unknown-name.json`,
    ]);
  });

  it('accepts a file saved with a byte-order mark', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdg-bom-'));
    writeFileSync(join(dir, 'bom.json'), `\uFEFF${JSON.stringify({ name: 'bom', steps: [{ advance: '1s' }] })}`);
    expect((await loadScenarios(dir))[0]?.scenario.name).toBe('bom');
  });
});

describe('symbolic links in a scenario folder', () => {
  const scenarioJson = (name: string) => JSON.stringify({ name, steps: [{ advance: '1s' }] });

  /** qa/ with a.json, and elsewhere/ holding what qa/'s links lead to. */
  function tree(): { root: string; qa: string } {
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'pdg-links-')));
    const qa = join(root, 'qa');
    mkdirSync(join(root, 'elsewhere', 'more'), { recursive: true });
    mkdirSync(qa);
    writeFileSync(join(qa, 'a.json'), scenarioJson('a'));
    writeFileSync(join(root, 'elsewhere', 'x.json'), scenarioJson('x'));
    writeFileSync(join(root, 'elsewhere', 'more', 'y.json'), scenarioJson('y'));
    return { root, qa };
  }

  it('follows links to files and to folders, in name order, shown by the path that was walked', async () => {
    const { root, qa } = tree();
    symlinkSync(join(root, 'elsewhere', 'x.json'), join(qa, 'b.json'));
    symlinkSync(join(root, 'elsewhere', 'more'), join(qa, 'c-more'));
    symlinkSync('../elsewhere/x.json', join(qa, 'relative.json'));
    const { loaded, errors, notes } = await readScenarioFiles(qa);
    expect(errors).toEqual([]);
    expect(notes).toEqual([]);
    // relative.json is the same file as b.json: run once.
    expect(loaded.map((l) => [l.file, l.scenario.name])).toEqual([
      [join(qa, 'a.json'), 'a'],
      [join(qa, 'b.json'), 'x'],
      [join(qa, 'c-more', 'y.json'), 'y'],
    ]);
  });

  it('does not follow a link to a folder that contains it, and says so once', async () => {
    const { root, qa } = tree();
    mkdirSync(join(qa, 'sub'));
    writeFileSync(join(qa, 'sub', 's.json'), scenarioJson('s'));
    symlinkSync('..', join(qa, 'sub', 'up'));
    symlinkSync('.', join(qa, 'self'));
    symlinkSync(root, join(qa, 'root'));
    const { loaded, errors, notes } = await readScenarioFiles([qa, qa]);
    expect(errors).toEqual([]);
    expect(loaded.map((l) => l.file)).toEqual([join(qa, 'a.json'), join(qa, 'sub', 's.json')]);
    expect(notes).toEqual([
      `${join(qa, 'root')}: not followed: it is a link to ${root}, a folder that contains it (it would loop)`,
      `${join(qa, 'self')}: not followed: it is a link to ${qa}, a folder that contains it (it would loop)`,
      `${join(qa, 'sub', 'up')}: not followed: it is a link to ${qa}, a folder that contains it (it would loop)`,
    ]);
  });

  it('does not loop between two folders that link to each other, and walks each once', async () => {
    const { root } = tree();
    mkdirSync(join(root, 'p'));
    mkdirSync(join(root, 'q'));
    writeFileSync(join(root, 'p', 'p.json'), scenarioJson('p'));
    writeFileSync(join(root, 'q', 'q.json'), scenarioJson('q'));
    symlinkSync(join(root, 'q'), join(root, 'p', 'to-q'));
    symlinkSync(join(root, 'p'), join(root, 'q', 'to-p'));
    symlinkSync(join(root, 'q'), join(root, 'p', 'to-q-again'));
    const { loaded, errors, notes } = await readScenarioFiles(join(root, 'p'));
    expect(errors).toEqual([]);
    expect(loaded.map((l) => l.file)).toEqual([join(root, 'p', 'p.json'), join(root, 'p', 'to-q', 'q.json')]);
    expect(notes).toEqual([
      `${join(root, 'p', 'to-q', 'to-p')}: not followed: it is a link to ${join(root, 'p')}, a folder that contains it (it would loop)`,
    ]);
  });

  it('reports a *.json link that leads nowhere as a file that cannot be read; other broken links are not scenarios', async () => {
    const { root, qa } = tree();
    symlinkSync(join(root, 'gone.json'), join(qa, 'gone.json'));
    symlinkSync(join(root, 'gone'), join(qa, 'gone-folder'));
    symlinkSync('loop-b.json', join(qa, 'loop-a.json'));
    symlinkSync('loop-a.json', join(qa, 'loop-b.json'));
    const { loaded, errors } = await readScenarioFiles(qa);
    expect(loaded.map((l) => l.file)).toEqual([join(qa, 'a.json')]);
    expect(errors.map((e) => e.message)).toEqual([
      `${join(qa, 'gone.json')}: cannot be read (no such file or folder)`,
      `${join(qa, 'loop-a.json')}: cannot be read (a loop of links)`,
      `${join(qa, 'loop-b.json')}: cannot be read (a loop of links)`,
    ]);
  });
});

describe('hostile or malformed files: a clear per-file error, never a crash of the run', () => {
  it('refuses a file over 4 MiB before reading it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdg-huge-'));
    writeFileSync(
      join(dir, 'huge.json'),
      JSON.stringify({ name: 'huge', description: 'x'.repeat(5 * 1024 * 1024), steps: [{ advance: '1s' }] }),
    );
    const error = await loadError(join(dir, 'huge.json'));
    expect(error.message).toMatch(/huge\.json: is 5\.0 MiB: a scenario file may be at most 4 MiB$/);
  });

  it('stops at the first problems of 300,000 invalid steps instead of explaining them all', () => {
    // Before: every step was validated and explained, several seconds and
    // hundreds of MB for this file of 2.4 MB (a million steps ran out of memory).
    const error = parseError({ name: 'x', steps: Array.from({ length: 300_000 }, () => ({ x: 1 })) });
    expect(error.problems).toHaveLength(10);
    expect(error.problems.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it.each([
    ['tags', { name: 'x', tags: Array.from({ length: 300_000 }, () => 1), steps: [{ advance: '1s' }] }, undefined, 'tags'],
    [
      'expect.reasons',
      { name: 'x', steps: [{ begin: {}, expect: { verdict: 'allow', reasons: Array.from({ length: 300_000 }, () => 1) } }] },
      1,
      'expect.reasons',
    ],
    [
      'expect.absent',
      {
        name: 'x',
        steps: [{ advance: 1 }, { peek: {}, expect: { verdict: 'allow', absent: Array.from({ length: 300_000 }, () => 'X') } }],
      },
      2,
      'expect.absent',
    ],
  ])('refuses 300,000 items in %s before zod builds an issue for each (it overflowed the stack)', (_, input, step, field) => {
    const error = parseError(input);
    expect(error.problems).toEqual([{ step, field, message: 'has 300000 items: at most 1000' }]);
  });

  it('leaves long arrays inside a Sale to the guard, and a long list of steps alone', () => {
    const list = Array.from({ length: 300_000 }, () => 1);
    const parsed = parseScenario({
      name: 'x',
      steps: [
        { begin: { amount: 1, currency: 'CNY', card: { token: 't' }, list } },
        ...Array.from({ length: 2_000 }, () => ({ advance: 1 })),
      ],
    });
    expect(parsed.steps).toHaveLength(2_001);
  });

  it("a bug while checking one file is that file's problem, in words: the other files are still read", async () => {
    const spy = vi.spyOn(stepSchema, 'safeParse').mockImplementationOnce(() => {
      throw new RangeError('Maximum call stack size exceeded');
    });
    try {
      const { loaded, errors } = await readScenarioFiles([
        `${FIXTURES}/passing/restart-with-changed-secret.json`,
        `${FIXTURES}/invalid/unknown-field.json`,
        `${FIXTURES}/passing/nested`,
      ]);
      expect(loaded.map((l) => l.file)).toEqual([`${FIXTURES}/passing/nested/supervisor-override.json`]);
      expect(errors.map((e) => e.message)).toEqual([
        `${FIXTURES}/passing/restart-with-changed-secret.json: could not be checked, a bug in pos-duplicate-guard (please report it with this file): RangeError: Maximum call stack size exceeded`,
        `${FIXTURES}/invalid/unknown-field.json: step 2, \`settle.authcode\`: is not a field of \`settle\``,
      ]);
    } finally {
      spy.mockRestore();
    }
  });

  it('reports unknown names in bounded words however many names there are', () => {
    // Each problem listed every name defined so far: quadratic, out of memory at 20,000 names.
    const steps = [
      ...Array.from({ length: 2_000 }, (_, i) => ({ peek: {}, as: `p${i}` })),
      ...Array.from({ length: 2_000 }, (_, i) => ({ resume: { attempt: `ghost${i}` } })),
    ];
    const error = parseError({ name: 'x', steps });
    expect(error.problems).toHaveLength(10);
    expect(error.problems[0]).toEqual({
      step: 2001,
      field: 'resume.attempt',
      message:
        '"ghost0" is not a name defined by an earlier step\'s `as` (names so far: "p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9" and 1990 more)',
    });
    expect(error.message.length).toBeLessThan(5_000);
  });

  it('lists a few of the keys of a step with no action, not all of them', () => {
    const step = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]));
    const error = parseError({ name: 'x', steps: [step] });
    expect(error.problems[0]?.message).toBe(
      'has no action: give it exactly one of begin, peek, override, settle, resume, advance, clockJump, restart, expectAttempt, disconnect, reconnect, processor, recoverNow (it has `k0`, `k1`, `k2`, `k3`, `k4`, `k5`, `k6`, `k7`, `k8`, `k9` and 99990 more)',
    );
  });

  it('never echoes a card number in a problem, and keeps each problem short', async () => {
    const pan = parseError({ name: 4111111111111111, steps: [{ advance: '1s', note: '4111 1111 1111 1111' }], ['4111-1111-1111-1111']: 1 });
    expect(pan.message).not.toMatch(/4111.?1111.?1111.?1111/);
    expect(pan.problems.map((p) => [p.field, p.message])).toEqual([
      ['[card number removed]', 'is not a field of a scenario'],
      ['name', 'must be a string, got [card number removed] (number)'],
    ]);

    const long = parseError({ name: 'x', steps: [{ advance: '1s', ['k'.repeat(1_000_000)]: 1 }], tags: ['y'.repeat(1_000_000), 1] });
    expect(long.message.length).toBeLessThan(2_000);
    expect(long.problems[0]?.field).toMatch(/^k{100,}…$/);

    const dir = mkdtempSync(join(tmpdir(), 'pdg-json-pan-'));
    writeFileSync(join(dir, 'pan.json'), '[4111111111111111,]');
    writeFileSync(join(dir, 'cut.json'), `{"name":"x","steps":[{"begin":{"card":{"pan":u4111111111111111}}}]}`);
    const errors = (await readScenarioFiles(dir)).errors.map((e) => e.message);
    expect(errors).toHaveLength(2);
    for (const message of errors) {
      expect(message).toContain('is not valid JSON');
      expect(message).not.toMatch(/\d{7}/);
    }
  });
});

describe('parseScenario: problems in words', () => {
  const step = (s: unknown) => ({ name: 'x', steps: [s] });

  it.each([
    [step({ begin: {}, peek: {} }), 1, undefined, 'has 2 actions (`begin`, `peek`): one action per step'],
    [
      step({ note: 'hi' }),
      1,
      undefined,
      'has no action: give it exactly one of begin, peek, override, settle, resume, advance, clockJump, restart, expectAttempt, disconnect, reconnect, processor, recoverNow (it has `note`)',
    ],
    [
      step(7),
      1,
      undefined,
      'must be an object with one action: begin, peek, override, settle, resume, advance, clockJump, restart, expectAttempt, disconnect, reconnect, processor, recoverNow',
    ],
    [
      step({ advance: '10 minutes' }),
      1,
      'advance',
      'must be a Duration: milliseconds, or parts like "90s", "10m", "9m59s", "1d12h" (units d, h, m, s, ms)',
    ],
    [
      step({ advance: '-1m' }),
      1,
      'advance',
      'must be a Duration: milliseconds, or parts like "90s", "10m", "9m59s", "1d12h" (units d, h, m, s, ms)',
    ],
    [
      step({ clockJump: '1.5h' }),
      1,
      'clockJump',
      'must be a signed Duration: milliseconds, or an optional + or - then parts like "90s", "10m", "9m59s", "1d12h" (units d, h, m, s, ms)',
    ],
    [
      step({ begin: {}, expect: { verdict: 'alow' } }),
      1,
      'expect.verdict',
      'must be one of "allow", "prompt", "block", got "alow" (string)',
    ],
    [
      step({ begin: {}, expect: { error: 'TypeError' } }),
      1,
      'expect.error',
      'must be one of "GuardInputError", "GuardConfigError", "GuardStateError", "GuardOverrideError", "GuardStorageError", got "TypeError" (string)',
    ],
    [
      step({ begin: {}, expect: { verdict: 'block', reasons: ['INFLIGHT'] } }),
      1,
      'expect.reasons[0]',
      expect.stringMatching(/^must be one of "IN_FLIGHT", .*got "INFLIGHT" \(string\)$/),
    ],
    [step({ restart: false }), 1, 'restart', 'must be true, or an object of config fields to change'],
    [step({ restart: { windw: '1m' } }), 1, 'restart.windw', 'is not a field of `restart`'],
    [step({ advance: '1s', as: 'x' }), 1, 'as', 'is not a field of a `advance` step (its fields: `advance`, `expect`, `terminal`, `note`)'],
    [step({ advance: '1s', expect: { verdict: 'allow' } }), 1, 'expect.verdict', 'is not a field of `expect`'],
    [step({ begin: 'a sale' }), 1, 'begin', 'must be an object, got "a sale" (string)'],
    [
      { name: 'x', config: { window: true }, steps: [{ advance: 1 }] },
      undefined,
      'config.window',
      'must be a Duration (a string or a number of milliseconds)',
    ],
    [
      { name: 'x', start: 'yesterday', steps: [{ advance: 1 }] },
      undefined,
      'start',
      'must be an ISO 8601 date-time, e.g. "2026-03-01T09:00:00Z"',
    ],
    [{ name: '', steps: [{ advance: 1 }] }, undefined, 'name', 'must be a non-empty string'],
    [{ steps: [{ advance: 1 }] }, undefined, 'name', 'is required'],
    [{ name: 'x', step: [] }, undefined, 'step', 'is not a field of a scenario'],
  ])('%j → step %s, %s', (input, stepNumber, field, message) => {
    const error = parseError(input);
    expect(error.problems[0]).toEqual({ step: stepNumber, field, message });
  });

  it('checks names: defined before use, single-assignment, peeks reserve nothing', () => {
    const error = parseError({
      name: 'x',
      steps: [
        { peek: {}, as: 'p' },
        { settle: { attempt: 'p', status: 'approved' } },
        { begin: {}, as: 'p' },
        { begin: {}, as: 'q', expect: { error: 'GuardInputError' } },
        { override: { decision: 'later', operator: 'o', reason: 'r' } },
        { begin: {}, as: 'later' },
      ],
    });
    expect(error.problems).toEqual([
      { step: 2, field: 'settle.attempt', message: '"p" names a peek at step 1, which never reserves an attempt' },
      { step: 3, field: 'as', message: '"p" is already the name of step 1\'s result: give each result its own name' },
      { step: 4, field: 'as', message: 'names nothing: a step that expects an error returns no decision' },
      { step: 5, field: 'override.decision', message: '"later" is not a name defined by an earlier step\'s `as` (names so far: "p")' },
    ]);
    expect(error.message.split('\n')).toHaveLength(4);
    expect(error.message.split('\n')[0]).toBe(
      'inline.json: step 2, `settle.attempt`: "p" names a peek at step 1, which never reserves an attempt',
    );
  });

  it('keeps a Sale permissive, so scenarios can pass bad input on purpose', () => {
    const parsed = parseScenario(
      step({ begin: { amount: '12.50', currency: 5, card: { pan: 'x', cvv: '123' }, extra: true }, expect: { error: 'GuardInputError' } }),
    );
    expect(parsed.steps[0]).toMatchObject({ begin: { amount: '12.50', extra: true } });
  });
});
