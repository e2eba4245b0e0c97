import { describe, expect, it } from 'vitest';
import { GuardConfigError, GuardInputError } from '../src/errors.js';
import { resolveChargeOptions, resolveOptions } from '../src/options.js';
import { memoryStore } from '../src/stores/memory.js';
import type { GuardOptions } from '../src/types.js';
import { cardNumberLeaks, panVariants } from './helpers/cards.js';

const valid: GuardOptions = { merchantId: 'M-0001', secret: 'test-secret-0123456789abcdef' };

/** Resolves `options` (deliberately untyped: callers may be plain JS) and returns the config error. */
function configError(options: unknown): GuardConfigError {
  try {
    resolveOptions(options as GuardOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(GuardConfigError);
    expect((error as Error).name).toBe('GuardConfigError');
    return error as GuardConfigError;
  }
  throw new Error(`expected ${JSON.stringify(options)} to be rejected`);
}

function expectFieldError(options: unknown, field: string): GuardConfigError {
  const error = configError(options);
  expect(error.field).toBe(field);
  expect(error.message).toContain(`\`${field}\``);
  expect(error.code).toMatch(/^[A-Z_]+$/);
  return error;
}

describe('resolveOptions: defaults', () => {
  it("resolves window 10m, pendingTimeout 2m, retention 24h, locale 'en', onStorageError 'prompt'", () => {
    const resolved = resolveOptions(valid);
    expect(resolved.windowMs).toBe(600_000);
    expect(resolved.pendingTimeoutMs).toBe(120_000);
    expect(resolved.retentionMs).toBe(86_400_000);
    expect(resolved.locale).toBe('en');
    expect(resolved.onStorageError).toBe('prompt');
    expect(resolved.resetOnSecretChange).toBe(false);
    expect(resolved.terminalId).toBeUndefined();
    expect(resolved.authorize).toBeUndefined();
  });

  it('provides a memory store and a system clock', async () => {
    const resolved = resolveOptions(valid);
    expect(await resolved.store.load()).toEqual([]);
    const before = Date.now();
    expect(resolved.clock.now()).toBeGreaterThanOrEqual(before);
    const m = resolved.clock.monotonic();
    expect(resolved.clock.monotonic()).toBeGreaterThanOrEqual(m);
  });

  it('gives each guard its own default store', () => {
    expect(resolveOptions(valid).store).not.toBe(resolveOptions(valid).store);
  });

  it('keeps what the caller set', () => {
    const store = memoryStore();
    const clock = { now: () => 5, monotonic: () => 7 };
    const authorize = () => true;
    const resolved = resolveOptions({
      ...valid,
      terminalId: 'T-01',
      store,
      clock,
      authorize,
      window: '90s',
      pendingTimeout: 30_000,
      retention: '1d12h',
      locale: 'zh-CN',
      onStorageError: 'block',
      resetOnSecretChange: true,
    });
    expect(resolved).toMatchObject({
      merchantId: 'M-0001',
      terminalId: 'T-01',
      store,
      clock,
      authorize,
      windowMs: 90_000,
      pendingTimeoutMs: 30_000,
      retentionMs: 129_600_000,
      locale: 'zh-CN',
      onStorageError: 'block',
      resetOnSecretChange: true,
    });
    expect(resolved.secret).toEqual(new TextEncoder().encode(valid.secret as string));
  });

  it('accepts retention equal to window', () => {
    expect(resolveOptions({ ...valid, window: '1h', retention: '60m' }).retentionMs).toBe(3_600_000);
  });
});

describe('resolveOptions: validation', () => {
  it('rejects a non-object', () => {
    for (const options of [undefined, null, 'M-0001']) expect(configError(options).field).toBe('options');
  });

  it('rejects a missing, empty or non-string merchantId', () => {
    const { merchantId: _omitted, ...rest } = valid;
    for (const options of [
      rest,
      { ...valid, merchantId: '' },
      { ...valid, merchantId: '  ' },
      { ...valid, merchantId: ' M1 ' },
      { ...valid, merchantId: 42 },
      { ...valid, merchantId: 'x'.repeat(129) },
    ]) {
      expectFieldError(options, 'merchantId');
    }
  });

  it('rejects a bad terminalId', () => {
    expectFieldError({ ...valid, terminalId: '' }, 'terminalId');
    expectFieldError({ ...valid, terminalId: 'T-1 ' }, 'terminalId');
  });

  it('rejects a missing or short secret', () => {
    const { secret: _omitted, ...rest } = valid;
    expectFieldError(rest, 'secret');
    const short = expectFieldError({ ...valid, secret: 'too-short' }, 'secret');
    expect(short.message).toContain('16 bytes');
    expectFieldError({ ...valid, secret: new Uint8Array(8) }, 'secret');
  });

  it('rejects an unknown option key, naming it', () => {
    const error = expectFieldError({ ...valid, windw: '10m' }, 'windw');
    expect(error.message).toMatch(/not a createGuard option/);
  });

  it.each(['window', 'pendingTimeout', 'retention'] as const)('rejects a bad %s Duration', (field) => {
    for (const value of ['10', '1.5h', '10 m', '', '-1m', 'soon', -1, 1.5, {}]) {
      const error = expectFieldError({ ...valid, [field]: value }, field);
      expect(error.code).toBe('INVALID_DURATION');
    }
  });

  it('rejects a zero pendingTimeout', () => {
    expectFieldError({ ...valid, pendingTimeout: 0 }, 'pendingTimeout');
    expectFieldError({ ...valid, pendingTimeout: '0s' }, 'pendingTimeout');
  });

  it('rejects retention shorter than window', () => {
    const error = expectFieldError({ ...valid, window: '2h', retention: '1h' }, 'retention');
    expect(error.message).toContain('window');
  });

  it("rejects onStorageError 'explode', listing the allowed values", () => {
    const error = expectFieldError({ ...valid, onStorageError: 'explode' }, 'onStorageError');
    expect(error.message).toContain("'prompt', 'block', 'allow'");
    expect(error.message).toContain('"explode"');
  });

  it("rejects locale 'fr'", () => {
    expect(expectFieldError({ ...valid, locale: 'fr' }, 'locale').message).toContain("'zh-CN'");
    expectFieldError({ ...valid, locale: 'zh-cn' }, 'locale');
  });

  it('rejects a clock without monotonic(), or that is not an object', () => {
    expectFieldError({ ...valid, clock: { now: () => 0 } }, 'clock');
    expectFieldError({ ...valid, clock: { now: () => 0, monotonic: 5 } }, 'clock');
    expectFieldError({ ...valid, clock: () => 0 }, 'clock');
    expectFieldError({ ...valid, clock: null }, 'clock');
  });

  it('rejects a store without load() or put()', () => {
    const { load: _load, ...noLoad } = memoryStore();
    expectFieldError({ ...valid, store: noLoad }, 'store');
    expectFieldError({ ...valid, store: { load: async () => [] } }, 'store');
    expectFieldError({ ...valid, store: 'memory' }, 'store');
    expectFieldError({ ...valid, store: null }, 'store');
  });

  it('rejects authorize that is not a function', () => {
    expectFieldError({ ...valid, authorize: true }, 'authorize');
  });

  it('never echoes the secret in an error message', () => {
    const error = configError({ ...valid, secret: 'hunter2-short' });
    expect(error.message).not.toContain('hunter2');
  });
});

describe('resolveOptions: card numbers and hostile objects (issue 10)', () => {
  it.each(['merchantId', 'terminalId'] as const)('refuses a %s holding a card number, without quoting it', (field) => {
    for (const pan of panVariants()) {
      const error = expectFieldError({ ...valid, [field]: `M-${pan}` }, field);
      expect(error.message).toMatch(/card number/);
      expect(cardNumberLeaks(error)).toEqual([]);
    }
  });

  it('never quotes an unknown option named by a card number', () => {
    expect(cardNumberLeaks(configError({ ...valid, '4111 1111 1111 1111': 1 }))).toEqual([]);
  });

  it('turns a throwing getter or a revoked Proxy into a GuardConfigError naming the option', () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    expect(configError(revoked.proxy).field).toBe('options');
    const getter = Object.defineProperty({ ...valid }, 'window', {
      enumerable: true,
      get: () => {
        throw new Error('no');
      },
    });
    expect(configError(getter).field).toBe('window');
    expect(configError({ ...valid, clock: revoked.proxy }).field).toBe('clock');
    const clock = Object.defineProperty({ monotonic: () => 1 }, 'now', {
      get: () => {
        throw new Error('no');
      },
    });
    expect(configError({ ...valid, clock }).field).toBe('clock');
  });

  it('keeps what the getter threw as the cause, beside the other problems it reports (issue 16)', () => {
    const thrown = new Error('no');
    const clock = Object.defineProperty({ monotonic: () => 1 }, 'now', {
      get: () => {
        throw thrown;
      },
    });
    const error = configError({ ...valid, clock, locale: 'fr' });
    expect(error.issues.map((i) => i.field)).toEqual(['clock', 'locale']);
    expect(error.cause).toBe(thrown);
  });
});

describe('resolveOptions: every problem at once (issue 16)', () => {
  it('lists each bad option in the order of GuardOptions, unknown ones last; field and code are the first', () => {
    const error = configError({
      tip: 1,
      locale: 'fr',
      retention: 'forever',
      secret: 'short',
      merchantId: '',
      window: '10 m',
    });
    expect(error.issues.map((i) => [i.code, i.field])).toEqual([
      ['INVALID_OPTION', 'merchantId'],
      ['INVALID_SECRET', 'secret'],
      ['INVALID_DURATION', 'window'],
      ['INVALID_DURATION', 'retention'],
      ['INVALID_OPTION', 'locale'],
      ['INVALID_OPTION', 'tip'],
    ]);
    expect(error.field).toBe('merchantId');
    expect(error.code).toBe('INVALID_OPTION');
    for (const { field, rule, message } of error.issues) {
      expect(message).toContain(`\`${field}\` ${rule}`);
      expect(error.message).toContain(message);
    }
  });

  it('lists the recover options after locale and the policies, as GuardOptions declares them', () => {
    const error = configError({ ...valid, recoverTries: -1, recover: 'x', onStorageError: 'maybe', clock: {} });
    expect(error.issues.map((i) => i.field)).toEqual(['clock', 'onStorageError', 'recover', 'recoverTries']);
  });

  it('checks retention against window only when both are Durations', () => {
    expect(configError({ ...valid, window: 'x', retention: '1m' }).issues.map((i) => i.field)).toEqual(['window']);
    expect(configError({ ...valid, window: '10m', retention: '1m', locale: 'fr' }).issues.map((i) => i.field)).toEqual([
      'retention',
      'locale',
    ]);
  });

  it('never quotes the secret, only its type', () => {
    const error = configError({ ...valid, secret: 12345678901234567890n });
    expect(error.message).toBe('`secret` must be a string or Uint8Array of at least 16 bytes, got a bigint');
    expect(configError({ merchantId: 'M' }).message).toMatch(/`secret` is required/);
  });
});

describe('resolveChargeOptions: every problem at once (issue 16)', () => {
  it('names a bad confirm, escalate and timeout together, in that order', () => {
    let caught: unknown;
    try {
      resolveChargeOptions({ timeout: '-1s', escalate: 'yes', confirm: true }, 1000);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(GuardInputError);
    const error = caught as GuardInputError;
    expect(error.issues.map((i) => [i.code, i.field])).toEqual([
      ['INVALID_OPTION', 'confirm'],
      ['INVALID_OPTION', 'escalate'],
      ['INVALID_DURATION', 'timeout'],
    ]);
    expect(error.field).toBe('confirm');
  });
});
