import { parseDuration } from './duration.js';
import { GuardConfigError, describeValue } from './errors.js';
import { secretBytes } from './fingerprint.js';
import { memoryStore } from './stores/memory.js';
import type { AuthorizeRequest, Clock, GuardOptions, GuardStore, Locale, StorageErrorPolicy } from './types.js';

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
  clock: Clock;
  locale: Locale;
  onStorageError: StorageErrorPolicy;
  resetOnSecretChange: boolean;
}

export const LOCALES = ['en', 'zh-CN'] as const satisfies readonly Locale[];
export const STORAGE_ERROR_POLICIES = ['prompt', 'block', 'allow'] as const satisfies readonly StorageErrorPolicy[];
const KNOWN = new Set([
  'merchantId', 'terminalId', 'secret', 'store', 'window', 'pendingTimeout', 'retention',
  'authorize', 'clock', 'locale', 'onStorageError', 'resetOnSecretChange',
]);

const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

function fail(field: string, rule: string, value: unknown): never {
  throw new GuardConfigError('INVALID_OPTION', `\`${field}\` must be ${rule}, got ${describeValue(value)}`, { field });
}

function id(field: string, value: unknown, required: boolean): string | undefined {
  if (value === undefined && !required) return undefined;
  // The same rule a Sale's merchantId and terminalId meet (sale.ts), or a
  // guard could be created with an id none of its own sales could carry.
  if (typeof value !== 'string' || value === '' || value.trim() !== value || value.length > 128) {
    fail(field, 'a string of 1-128 characters without leading or trailing spaces', value);
  }
  return value;
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) fail(field, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  return value as T;
}

export function resolveOptions(options: GuardOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new GuardConfigError('INVALID_OPTION', `\`${key}\` is not a createGuard option`, { field: key });
  }
  const { clock, store, authorize } = options;
  if (clock !== undefined && (typeof clock?.now !== 'function' || typeof clock?.monotonic !== 'function')) {
    fail('clock', 'an object with now() and monotonic() functions', clock);
  }
  if (store !== undefined && (typeof store?.load !== 'function' || typeof store?.put !== 'function')) {
    fail('store', 'a GuardStore (load, put, delete, getMeta, setMeta, appendJournal)', store);
  }
  if (authorize !== undefined && typeof authorize !== 'function') fail('authorize', 'a function', authorize);
  const resolved: ResolvedOptions = {
    merchantId: id('merchantId', options.merchantId, true) as string,
    terminalId: id('terminalId', options.terminalId, false),
    secret: secretBytes(options.secret),
    store: store ?? memoryStore(),
    windowMs: parseDuration(options.window ?? '10m', { field: 'window' }),
    pendingTimeoutMs: parseDuration(options.pendingTimeout ?? '2m', { field: 'pendingTimeout' }),
    retentionMs: parseDuration(options.retention ?? '24h', { field: 'retention' }),
    authorize,
    clock: clock ?? systemClock,
    locale: oneOf('locale', options.locale, LOCALES, 'en'),
    onStorageError: oneOf('onStorageError', options.onStorageError, STORAGE_ERROR_POLICIES, 'prompt'),
    resetOnSecretChange: options.resetOnSecretChange === true,
  };
  if (resolved.pendingTimeoutMs <= 0) fail('pendingTimeout', 'a Duration above 0', options.pendingTimeout);
  if (resolved.retentionMs < resolved.windowMs) {
    fail('retention', `at least \`window\` (${resolved.windowMs} ms), or approved sales would be forgotten inside the window`, options.retention);
  }
  return resolved;
}
