import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../src/duration.js';
import { GuardConfigError, GuardInputError } from '../src/errors.js';

const unsigned = { field: 'window' };
const signed = { field: 'clockJump', signed: true };

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['9m59s', 599_000],
    ['1d12h', 129_600_000],
    ['500ms', 500],
    ['1h30m15s250ms', 5_415_250],
    ['2m', 120_000],
    ['24h', 86_400_000],
    ['0s', 0],
    [0, 0],
    [1500, 1500],
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  ] as const)('reads %o as %d ms', (input, ms) => {
    expect(parseDuration(input, unsigned)).toBe(ms);
  });

  it.each(['10', '1.5h', '10 m', ' 10m', '10m ', '', '-1m', '+1m', 'm', '10x', '10M', '1h-30m', 'ms', '1e3ms', '١٠m'])(
    'rejects %o',
    (input) => {
      expect(() => parseDuration(input, unsigned)).toThrow(GuardConfigError);
    },
  );

  it.each([-5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('rejects the number %o', (input) => {
    expect(() => parseDuration(input, unsigned)).toThrow(GuardConfigError);
  });

  it.each([null, undefined, {}, [], true, 10n])('rejects %o', (input) => {
    expect(() => parseDuration(input as never, unsigned)).toThrow(GuardConfigError);
  });

  it('rejects a sum beyond a safe integer', () => {
    expect(() => parseDuration('999999999999999d', unsigned)).toThrow(GuardConfigError);
  });

  it('accepts a sign only when signed', () => {
    expect(parseDuration('+1h', signed)).toBe(3_600_000);
    expect(parseDuration('-30m', signed)).toBe(-1_800_000);
    expect(parseDuration('-1d2h', signed)).toBe(-93_600_000);
    expect(parseDuration(-5000, signed)).toBe(-5000);
    expect(parseDuration('30m', signed)).toBe(1_800_000);
    for (const input of ['-', '+', '--1m', '+-1m', '- 1m']) expect(() => parseDuration(input, signed)).toThrow(GuardConfigError);
  });

  it('throws GuardConfigError by default, with a stable code, the field and the bad value', () => {
    let caught: unknown;
    try {
      parseDuration('10 m', { field: 'pendingTimeout' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(GuardConfigError);
    const error = caught as GuardConfigError;
    expect(error.name).toBe('GuardConfigError');
    expect(error.code).toBe('INVALID_DURATION');
    expect(error.field).toBe('pendingTimeout');
    expect(error.message).toContain('`pendingTimeout`');
    expect(error.message).toContain('"10 m"');
  });

  it('throws the error class it is given (charge() timeouts are input errors)', () => {
    expect(() => parseDuration('soon', { field: 'timeout', error: GuardInputError })).toThrow(GuardInputError);
    expect(() => parseDuration('soon', { field: 'timeout', error: GuardInputError })).toThrow(/`timeout`/);
  });

  it('reads any composed d/h/m/s/ms string as the sum of its parts (property)', () => {
    const n = fc.integer({ min: 0, max: 10_000 });
    fc.assert(
      fc.property(n, n, n, n, n, fc.boolean(), (d, h, m, s, ms, negative) => {
        const text = `${d}d${h}h${m}m${s}s${ms}ms`;
        const total = d * 86_400_000 + h * 3_600_000 + m * 60_000 + s * 1000 + ms;
        expect(parseDuration(text, unsigned)).toBe(total);
        expect(parseDuration(`${negative ? '-' : '+'}${text}`, signed)).toBe(negative ? -total : total);
      }),
    );
  });

  it('reads any subset of parts, in order, as their sum (property)', () => {
    const units = [
      ['d', 86_400_000],
      ['h', 3_600_000],
      ['m', 60_000],
      ['s', 1000],
      ['ms', 1],
    ] as const;
    const part = fc.option(fc.integer({ min: 0, max: 999 }), { nil: undefined });
    fc.assert(
      fc.property(fc.tuple(part, part, part, part, part), (values) => {
        fc.pre(values.some((v) => v !== undefined));
        let text = '';
        let total = 0;
        values.forEach((v, i) => {
          if (v === undefined) return;
          const [unit, ms] = units[i]!;
          text += `${v}${unit}`;
          total += v * ms;
        });
        expect(parseDuration(text, unsigned)).toBe(total);
      }),
    );
  });
});
