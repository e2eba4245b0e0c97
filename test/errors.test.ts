import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  GuardConfigError,
  GuardError,
  GuardInputError,
  GuardOverrideError,
  GuardStateError,
  GuardStorageError,
  describeValue,
  errorText,
  fail,
  invalidOption,
  isGuardError,
  type GuardErrorCode,
  type GuardErrorOptions,
} from '../src/errors.js';
import { TEST_PANS, cardNumberLeaks, panVariants } from './helpers/cards.js';
import * as root from '../src/index.js';

const CLASSES = [
  ['GuardInputError', GuardInputError],
  ['GuardConfigError', GuardConfigError],
  ['GuardStateError', GuardStateError],
  ['GuardOverrideError', GuardOverrideError],
  ['GuardStorageError', GuardStorageError],
] as const;

/** A code each class really throws: the constructors take only their own. */
const CODE_OF = {
  GuardInputError: 'INVALID_SALE',
  GuardConfigError: 'INVALID_OPTION',
  GuardStateError: 'UNKNOWN_ATTEMPT',
  GuardOverrideError: 'NOT_AUTHORIZED',
  GuardStorageError: 'STORE_FAILED',
} as const;

type AnyGuardErrorClass = new (code: GuardErrorCode, message: string, options?: GuardErrorOptions) => GuardError;

/** One of the five classes, built with a code of its own (the tests below go over all five alike). */
function make(ErrorClass: (typeof CLASSES)[number][1], message: string, options?: GuardErrorOptions): GuardError {
  return new (ErrorClass as unknown as AnyGuardErrorClass)(CODE_OF[ErrorClass.name as keyof typeof CODE_OF], message, options);
}

describe('error classes', () => {
  it.each(CLASSES)('%s has its class name as name, a code, a field, and is a GuardError', (name, ErrorClass) => {
    const cause = new Error('disk full');
    const error = make(ErrorClass, 'what happened', { field: 'card.pan', cause });
    expect(error.name).toBe(name);
    expect(error.name).toBe(ErrorClass.name);
    expect(error.code).toBe(CODE_OF[name]);
    expect(error.field).toBe('card.pan');
    expect(error.message).toBe('what happened');
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error).toBeInstanceOf(GuardError);
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toBe(`${name}: what happened`);
    expect(error.stack).toContain(name);
    expect(isGuardError(error)).toBe(true);
  });

  it('makes each error an instance of exactly one of the five classes', () => {
    for (const [, ErrorClass] of CLASSES) {
      const error = make(ErrorClass, 'x');
      expect(CLASSES.filter(([, Other]) => error instanceof Other)).toHaveLength(1);
    }
  });

  it('leaves field and cause unset when not given', () => {
    const error = new GuardStateError('TAKEN_OVER', 'another guard took over');
    expect(error.field).toBeUndefined();
    expect('cause' in error).toBe(false);
  });

  it('exports all of them, and isGuardError, from the package root', () => {
    for (const [name, ErrorClass] of CLASSES) expect(root[name]).toBe(ErrorClass);
    expect(root.GuardError).toBe(GuardError);
    expect(root.isGuardError).toBe(isGuardError);
  });
});

describe('isGuardError', () => {
  it('recognises a guard error from another realm by name and code', () => {
    const foreign = vm.runInNewContext(
      `(() => { const e = new Error('held'); e.name = 'GuardStateError'; e.code = 'TAKEN_OVER'; return e; })()`,
    );
    expect(foreign instanceof Error).toBe(false);
    expect(foreign instanceof GuardError).toBe(false);
    expect(isGuardError(foreign)).toBe(true);
  });

  it('recognises one thrown by another copy of the package in this realm', () => {
    const copy = Object.assign(new Error('bad sale'), { name: 'GuardInputError', code: 'INVALID_SALE' });
    expect(isGuardError(copy)).toBe(true);
  });

  it('rejects lookalikes: no code, a non-string code, an unknown name, or not an error', () => {
    expect(isGuardError(Object.assign(new Error('x'), { name: 'GuardStateError' }))).toBe(false);
    expect(isGuardError(Object.assign(new Error('x'), { name: 'GuardStateError', code: 42 }))).toBe(false);
    expect(isGuardError(Object.assign(new Error('x'), { name: 'GuardError', code: 'X' }))).toBe(false);
    expect(isGuardError(Object.assign(new TypeError('x'), { code: 'X' }))).toBe(false);
    expect(isGuardError({ name: 'GuardStateError', code: 'X', message: 'plain object' })).toBe(false);
    expect(vm.runInNewContext(`({ name: 'GuardStateError', code: 'X' })`)).not.toSatisfy(isGuardError);
    for (const value of [null, undefined, 'GuardStateError', 42]) expect(isGuardError(value)).toBe(false);
  });
});

describe('describeValue', () => {
  it('quotes a value with its type, p-queue style', () => {
    expect(describeValue(12.5)).toBe('12.5 (number)');
    expect(describeValue('10 m')).toBe('"10 m" (string)');
    expect(describeValue(true)).toBe('true (boolean)');
    expect(describeValue(undefined)).toBe('undefined (undefined)');
    expect(describeValue(null)).toBe('null');
    expect(describeValue([1])).toBe('an array');
    expect(describeValue({ secret: 'x' })).toBe('an object');
  });

  it('shortens long strings', () => {
    const text = describeValue('x'.repeat(100));
    expect(text.length).toBeLessThan(60);
    expect(text).toContain('...');
  });
});

describe('describeValue never echoes a card number (issue 10, item 6)', () => {
  it('masks a PAN in a short string, in every separator style', () => {
    for (const pan of panVariants()) expect(cardNumberLeaks(describeValue(pan))).toEqual([]);
  });

  it('masks before it shortens, so the cut never leaves the first digits of a PAN', () => {
    for (const pan of TEST_PANS) {
      for (let pad = 0; pad <= 40; pad++) {
        const text = describeValue(`${'x'.repeat(pad)}${pan}${'y'.repeat(40)}`);
        // BIN and last 4 may be shown; 7 digits of a PAN in a row are more than that.
        expect(text).not.toMatch(/\d{7}/);
      }
    }
  });

  it('masks a card number given as a number or a bigint', () => {
    expect(describeValue(4111111111111111)).not.toContain('4111111111111111');
    expect(describeValue(4111111111111111n)).not.toContain('4111111111111111');
  });

  it('says what a function is without printing its source', () => {
    expect(describeValue(() => '4111111111111111')).toBe('a function');
  });

  it('never throws, whatever it is given', () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const hostile = [
      revoked.proxy,
      Object.create(null),
      Symbol('s'),
      new Proxy([], {
        get: () => {
          throw new Error('trap');
        },
      }),
    ];
    for (const value of hostile) expect(typeof describeValue(value)).toBe('string');
  });
});

describe('errorText', () => {
  it("is an Error's message, or a string as it is", () => {
    expect(errorText(new Error('socket hang up'))).toBe('socket hang up');
    expect(errorText('timeout')).toBe('timeout');
    expect(errorText(42)).toBe('42');
  });

  it('reads the message of an error from another realm, or of an error-like object', () => {
    expect(errorText(vm.runInNewContext(`new Error('from an iframe')`))).toBe('from an iframe');
    expect(errorText({ message: 'plain object' })).toBe('plain object');
  });

  it('never throws: a null-prototype object, a revoked Proxy, a throwing message getter', () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const getter = Object.defineProperty(new Error(), 'message', {
      get: () => {
        throw new Error('nope');
      },
    });
    for (const value of [
      Object.create(null),
      revoked.proxy,
      getter,
      Symbol('x'),
      {
        toString: () => {
          throw new Error('no');
        },
      },
    ]) {
      expect(typeof errorText(value)).toBe('string');
    }
  });

  it('masks card data in the message', () => {
    for (const pan of panVariants()) expect(cardNumberLeaks(errorText(new Error(`card ${pan} declined`)))).toEqual([]);
  });
});

describe('GuardError: no message or field carries a card number, however it got there', () => {
  it.each(CLASSES)('%s masks card numbers in its message and field, and leaves other numbers', (_name, ErrorClass) => {
    for (const pan of panVariants()) {
      const error = make(ErrorClass, `attempt ${pan} at 1767225600000`, { field: `orderId ${pan}` });
      expect(cardNumberLeaks([error.message, error.field, String(error)])).toEqual([]);
      expect(error.message).toContain('1767225600000');
    }
    expect(make(ErrorClass, 'from 1 to 9007199254740991').message).toBe('from 1 to 9007199254740991');
  });
});

describe('fail: the one "`field` RULE, got VALUE" helper', () => {
  it('throws the class and code it is given, naming the field and the rule', () => {
    expect(() => fail(GuardInputError, 'INVALID_OUTCOME', 'amount', 'must be a safe integer', 12.5)).toThrow(
      expect.objectContaining({
        name: 'GuardInputError',
        code: 'INVALID_OUTCOME',
        field: 'amount',
        message: '`amount` must be a safe integer, got 12.5 (number)',
      }),
    );
  });

  it('quotes no value when none is passed, and undefined when undefined is passed', () => {
    expect(() => fail(GuardInputError, 'INVALID_CARD', 'card.last4', 'must be exactly 4 digits')).toThrow(
      /^`card.last4` must be exactly 4 digits$/,
    );
    expect(() => fail(GuardStateError, 'UNKNOWN_ATTEMPT', 'attemptId', 'must be known', undefined)).toThrow(
      /, got undefined \(undefined\)$/,
    );
  });

  it('masks a card number passed as the value', () => {
    const error = (() => {
      try {
        return fail(GuardConfigError, 'INVALID_OPTION', 'terminalId', 'must be short', '4111 1111 1111 1111');
      } catch (thrown) {
        return thrown as GuardConfigError;
      }
    })();
    expect(cardNumberLeaks([error.message])).toEqual([]);
  });

  it('invalidOption: GuardConfigError INVALID_OPTION, "`field` must be RULE, got VALUE" (createGuard options, the stores)', () => {
    expect(() => invalidOption('journal', 'a boolean', 'yes')).toThrow(
      expect.objectContaining({
        name: 'GuardConfigError',
        code: 'INVALID_OPTION',
        field: 'journal',
        message: '`journal` must be a boolean, got "yes" (string)',
      }),
    );
  });

  it('takes only a code of the class it is given (checked by tsc)', () => {
    // @ts-expect-error: INVALID_OPTION is not a GuardStateError code
    expect(() => fail(GuardStateError, 'INVALID_OPTION', 'x', 'must be y')).toThrow(GuardStateError);
  });
});

describe('issues (issue 16)', () => {
  it('gives an error about one field that field as its one issue, the rule being the message after the name', () => {
    const error = new GuardInputError('INVALID_SALE', '`amount` must be above 0, got 0 (number)', { field: 'amount' });
    expect(error.issues).toEqual([
      {
        code: 'INVALID_SALE',
        field: 'amount',
        rule: 'must be above 0, got 0 (number)',
        message: '`amount` must be above 0, got 0 (number)',
      },
    ]);
    expect(Object.isFrozen(error.issues)).toBe(true);
  });

  it('has no issues when the error is about no field', () => {
    expect(new GuardStateError('CLOSED', 'the guard is closed').issues).toEqual([]);
  });

  it('masks card numbers in the issues it is given, as in its message: they are serialised with it', () => {
    const pan = TEST_PANS[0];
    const error = new GuardInputError('INVALID_SALE', 'x', {
      field: `a${pan}`,
      issues: [{ code: 'INVALID_SALE', field: `a${pan}`, rule: `is ${pan}`, message: `\`a${pan}\` is ${pan}` }],
    });
    expect(cardNumberLeaks(JSON.parse(JSON.stringify(error)))).toEqual([]);
    expect(error.issues[0]?.field).toBe(error.field);
  });

  it('fail() gives its one issue; the error class, code and field stay those of a single problem', () => {
    const error = (() => {
      try {
        return fail(GuardConfigError, 'INVALID_OPTION', 'window', 'must be a Duration', 5.5);
      } catch (e) {
        return e as GuardConfigError;
      }
    })();
    expect(error).toBeInstanceOf(GuardConfigError);
    expect(error.issues).toEqual([
      { code: 'INVALID_OPTION', field: 'window', rule: 'must be a Duration', message: '`window` must be a Duration, got 5.5 (number)' },
    ]);
  });
});
