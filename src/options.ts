import { parseDuration } from './duration.js';
import {
  GuardConfigError,
  GuardInputError,
  fail,
  failAll,
  gather,
  invalidOption,
  isGuardError,
  issue,
  type GuardConfigErrorCode,
  type GuardInputErrorCode,
  type Gathered,
} from './errors.js';
import { secretBytes } from './fingerprint.js';
import { IDENTIFIER_RULES } from './identifier.js';
import { redact } from './redact.js';
import { snapshot, unreadableMessage, type Shape } from './snapshot.js';
import { memoryStore } from './stores/memory.js';
import type {
  AuthorizeRequest,
  ChargeOptions,
  Clock,
  Duration,
  GuardOptions,
  GuardStore,
  Locale,
  Scheduler,
  SharedUnavailablePolicy,
  StorageErrorPolicy,
} from './types.js';

/** `createGuard` options with every default applied and every value checked: resolved once, trusted after. */
export interface ResolvedOptions {
  merchantId: string;
  terminalId: string | undefined;
  secret: Uint8Array;
  store: GuardStore;
  windowMs: number;
  pendingTimeoutMs: number;
  retentionMs: number;
  authorize: ((request: AuthorizeRequest) => boolean | Promise<boolean>) | undefined;
  recover: GuardOptions['recover'];
  recoverAfterMs: number;
  recoverTries: number;
  clock: Clock;
  scheduler: Scheduler;
  locale: Locale;
  onStorageError: StorageErrorPolicy;
  onSharedUnavailable: SharedUnavailablePolicy;
  resetOnSecretChange: boolean;
}

export const LOCALES = ['en', 'zh-CN'] as const satisfies readonly Locale[];
export const STORAGE_ERROR_POLICIES = ['prompt', 'block', 'allow'] as const satisfies readonly StorageErrorPolicy[];
export const SHARED_UNAVAILABLE_POLICIES = ['allow', 'prompt', 'block'] as const satisfies readonly SharedUnavailablePolicy[];
// Objects the guard calls into (store, clock) are kept as they are: their methods need their `this`.
// In the order GuardOptions declares them: problems are listed in this order.
const SHAPE: Shape = {
  merchantId: 'value',
  terminalId: 'value',
  secret: 'ref',
  store: 'ref',
  window: 'value',
  pendingTimeout: 'value',
  retention: 'value',
  authorize: 'ref',
  clock: 'ref',
  scheduler: 'ref',
  locale: 'value',
  onStorageError: 'value',
  onSharedUnavailable: 'value',
  recover: 'ref',
  recoverAfter: 'value',
  recoverTries: 'value',
  resetOnSecretChange: 'value',
};
const KNOWN = new Set(Object.keys(SHAPE));

const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/** setTimeout, which takes at most 2^31 - 1 ms (24.8 days) and would fire at once beyond it. */
const systemScheduler: Scheduler = {
  after(ms, task) {
    const timer = setTimeout(task, Math.min(ms, 2 ** 31 - 1));
    return () => clearTimeout(timer);
  },
};

/**
 * The caller's scheduler, its `after` always handing back a function: one
 * that returns a timer handle (`after: (ms, task) => setTimeout(task, ms)`)
 * gets a cancel that does nothing, rather than a TypeError in every close,
 * take-over and charge that cancels a timer.
 */
function withCancel(scheduler: Scheduler): Scheduler {
  return {
    after(ms, task) {
      const cancel: unknown = scheduler.after(ms, task);
      return typeof cancel === 'function' ? (cancel as () => void) : () => undefined;
    },
  };
}

/**
 * `scheduler.after` for work nobody waits for (the clock watch): on the
 * system scheduler its timer never keeps a Node process alive, as the
 * store's BroadcastChannel does not; a scheduler that throws schedules
 * nothing (undefined) rather than failing the call that asked.
 */
export function afterInBackground(scheduler: Scheduler, ms: number, task: () => void): (() => void) | undefined {
  try {
    if (scheduler !== systemScheduler) return scheduler.after(ms, task);
    const timer = setTimeout(task, ms);
    (timer as { unref?: () => void }).unref?.();
    return () => clearTimeout(timer);
  } catch {
    return undefined;
  }
}

const unreadable = (field: string, cause: unknown): never => {
  throw new GuardConfigError('INVALID_OPTION', unreadableMessage(field), { field, cause });
};

function id(field: string, value: unknown, required: boolean): string | undefined {
  if (value === undefined && !required) return undefined;
  // The same rule a Sale's merchantId and terminalId meet (sale.ts), or a
  // guard could be created with an id none of its own sales could carry.
  if (typeof value !== 'string' || value === '' || value.trim() !== value || value.length > 128) {
    invalidOption(field, 'a string of 1-128 characters without leading or trailing spaces', value);
  }
  // Stored on every attempt: the rules of a Sale's identifiers (identifier.ts). Not quoted back:
  // the value may hold a card number, or the very characters a terminal would obey.
  for (const { broken, rule } of IDENTIFIER_RULES) {
    if (broken(value)) throw new GuardConfigError('INVALID_OPTION', `\`${field}\` ${rule}`, { field });
  }
  return value;
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) invalidOption(field, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  return value as T;
}

/** True when `value` has a function at each of `names`; a read that throws is an unreadable `field`. */
function hasMethods(field: string, value: unknown, names: readonly string[]): boolean {
  try {
    return names.every((name) => typeof (value as Record<string, unknown> | undefined)?.[name] === 'function');
  } catch (cause) {
    return unreadable(field, cause);
  }
}

/** `secretBytes`, with a secret that throws when read (a Proxy around a Uint8Array) turned into a config error. */
function secretOf(secret: unknown): Uint8Array {
  try {
    return secretBytes(secret);
  } catch (cause) {
    if (isGuardError(cause)) throw cause;
    return unreadable('secret', cause);
  }
}

// Problems are listed in SHAPE's order (GuardOptions'), unknown options last.
const ORDER = Object.keys(SHAPE);
const rankOf = (field: string): number => (ORDER.includes(field) ? ORDER.indexOf(field) : ORDER.length);
const byField = (a: { field: string }, b: { field: string }): number => rankOf(a.field) - rankOf(b.field);

export function resolveOptions(input: GuardOptions): ResolvedOptions {
  // A plain copy, read once: a getter or Proxy that throws is a config error, not a raw TypeError.
  const options = snapshot(input, SHAPE, { root: 'options', prefix: '' }, unreadable) as GuardOptions;
  if (typeof options !== 'object' || options === null) invalidOption('options', 'an object', options);
  // Every option is checked, and every problem reported in one error, not one per start-up.
  const found: Gathered<GuardConfigErrorCode> = { issues: [] };
  const check = <T>(run: () => T): T | undefined => gather(GuardConfigError, found, run);
  for (const key of Object.keys(options)) {
    // The key is the caller's text: it may be a card number put in the wrong place.
    if (!KNOWN.has(key)) found.issues.push(issue('INVALID_OPTION', redact(key), 'is not a createGuard option'));
  }
  const { clock, scheduler, store, authorize, recover, recoverTries } = options;
  check(() => {
    if (clock !== undefined && !hasMethods('clock', clock, ['now', 'monotonic'])) {
      invalidOption('clock', 'an object with now() and monotonic() functions', clock);
    }
  });
  check(() => {
    if (scheduler !== undefined && !hasMethods('scheduler', scheduler, ['after'])) {
      invalidOption('scheduler', 'an object with an after(ms, task) function', scheduler);
    }
  });
  check(() => {
    if (store !== undefined && !hasMethods('store', store, ['load', 'put'])) {
      invalidOption('store', 'a GuardStore (load, put, delete, getMeta, setMeta, appendJournal)', store);
    }
  });
  check(() => authorize === undefined || typeof authorize === 'function' || invalidOption('authorize', 'a function', authorize));
  check(
    () =>
      recover === undefined ||
      typeof recover === 'function' ||
      invalidOption('recover', 'a function (attempt) => outcome | undefined', recover),
  );
  check(() => {
    if (recoverTries !== undefined && !(Number.isSafeInteger(recoverTries) && recoverTries >= 0)) {
      invalidOption('recoverTries', 'an integer >= 0 (0: only recoverNow tries)', recoverTries);
    }
  });
  const merchantId = check(() => id('merchantId', options.merchantId, true));
  const terminalId = check(() => id('terminalId', options.terminalId, false));
  const secret = check(() => secretOf(options.secret));
  const windowMs = check(() => parseDuration(options.window ?? '10m', { field: 'window' }));
  const pendingTimeoutMs = check(() => parseDuration(options.pendingTimeout ?? '2m', { field: 'pendingTimeout' }));
  const retentionMs = check(() => parseDuration(options.retention ?? '24h', { field: 'retention' }));
  const recoverAfterMs = check(() => parseDuration(options.recoverAfter ?? '5s', { field: 'recoverAfter' }));
  const locale = check(() => oneOf('locale', options.locale, LOCALES, 'en'));
  const onStorageError = check(() => oneOf('onStorageError', options.onStorageError, STORAGE_ERROR_POLICIES, 'prompt'));
  const onSharedUnavailable = check(() => oneOf('onSharedUnavailable', options.onSharedUnavailable, SHARED_UNAVAILABLE_POLICIES, 'allow'));
  check(
    () =>
      pendingTimeoutMs === undefined ||
      pendingTimeoutMs > 0 ||
      invalidOption('pendingTimeout', 'a Duration above 0', options.pendingTimeout),
  );
  check(
    () => recoverAfterMs === undefined || recoverAfterMs > 0 || invalidOption('recoverAfter', 'a Duration above 0', options.recoverAfter),
  );
  check(() => {
    if (retentionMs !== undefined && windowMs !== undefined && retentionMs < windowMs) {
      invalidOption(
        'retention',
        `at least \`window\` (${windowMs} ms), or approved sales would be forgotten inside the window`,
        options.retention,
      );
    }
  });
  if (found.issues.length > 0) failAll(GuardConfigError, found.issues.sort(byField), found.cause);
  return {
    merchantId: merchantId as string,
    terminalId,
    secret: secret as Uint8Array,
    store: store ?? memoryStore(),
    windowMs: windowMs as number,
    pendingTimeoutMs: pendingTimeoutMs as number,
    retentionMs: retentionMs as number,
    authorize,
    recover,
    recoverAfterMs: recoverAfterMs as number,
    recoverTries: recoverTries ?? 3,
    clock: clock ?? systemClock,
    scheduler: scheduler === undefined ? systemScheduler : withCancel(scheduler),
    locale: locale as Locale,
    onStorageError: onStorageError as StorageErrorPolicy,
    onSharedUnavailable: onSharedUnavailable as SharedUnavailablePolicy,
    resetOnSecretChange: options.resetOnSecretChange === true,
  };
}

/** `charge()`'s options, checked and resolved once. */
export interface ResolvedChargeOptions {
  confirm: ChargeOptions['confirm'];
  escalate: ChargeOptions['escalate'];
  timeoutMs: number;
}

const CHARGE_SHAPE: Shape = { confirm: 'ref', escalate: 'ref', timeout: 'value' };

const chargeUnreadable = (field: string, cause: unknown): never => {
  throw new GuardInputError('INVALID_OPTION', unreadableMessage(field), { field, cause });
};

/** A callback as given, still called with the options object as `this`, as `options.confirm(d)` would be. */
function callback<F extends (decision: never) => unknown>(field: string, value: unknown, self: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') fail(GuardInputError, 'INVALID_OPTION', field, 'must be a function', value);
  return ((decision: never): unknown => Reflect.apply(value, self, [decision])) as F;
}

/**
 * `{ confirm?, escalate?, timeout? }` for `charge`, read once (a getter or
 * Proxy that throws is a `GuardInputError`, like any bad value here) before
 * anything is reserved or submitted.
 */
export function resolveChargeOptions(input: unknown, defaultTimeoutMs: number): ResolvedChargeOptions {
  const options = snapshot(input, CHARGE_SHAPE, { root: 'options', prefix: '' }, chargeUnreadable);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    fail(GuardInputError, 'INVALID_OPTION', 'options', 'must be an object with confirm?, escalate? and timeout?', options);
  }
  const { confirm, escalate, timeout } = options as Record<string, unknown>;
  // All three are checked, and every problem reported at once.
  const found: Gathered<GuardInputErrorCode> = { issues: [] };
  const check = <T>(run: () => T): T | undefined => gather(GuardInputError, found, run);
  const resolved = {
    confirm: check(() => callback<NonNullable<ChargeOptions['confirm']>>('confirm', confirm, input)),
    escalate: check(() => callback<NonNullable<ChargeOptions['escalate']>>('escalate', escalate, input)),
    timeoutMs: check(() =>
      timeout === undefined
        ? defaultTimeoutMs
        : withinPending(
            positive(parseDuration(timeout as Duration, { field: 'timeout', error: GuardInputError }), timeout),
            defaultTimeoutMs,
            timeout,
          ),
    ),
  };
  if (found.issues.length > 0) failAll(GuardInputError, found.issues, found.cause);
  return resolved as ResolvedChargeOptions;
}

/**
 * A charge still out past `pendingTimeout` reads as unknown everywhere (SPEC
 * §2): another tab or terminal would ask the processor about it, hear "not
 * found" while it is still on its way, and free the sale for a second charge.
 */
function withinPending(ms: number, pendingTimeoutMs: number, given: unknown): number {
  if (ms > pendingTimeoutMs) {
    fail(
      GuardInputError,
      'INVALID_OPTION',
      'timeout',
      `must be at most pendingTimeout (${pendingTimeoutMs} ms): raise pendingTimeout for a longer charge`,
      given,
    );
  }
  return ms;
}

/** A timeout of 0 would settle every charge as unknown before the processor could answer. */
function positive(ms: number, given: unknown): number {
  if (ms <= 0) fail(GuardInputError, 'INVALID_OPTION', 'timeout', 'must be a Duration above 0', given);
  return ms;
}
