/**
 * Type-level tests: checked by `npx tsc -p .` (the `expectTypeOf` calls are
 * no-ops at run time, and each `@ts-expect-error` fails the type check when
 * the line below it stops being an error). Only what the public types promise.
 */
import { describe, expectTypeOf, it } from 'vitest';
import {
  createGuard,
  isGuardError,
  parseDuration,
  type Attempt,
  type AttemptRecord,
  type AttemptStatus,
  type ChargeCause,
  type ChargeResult,
  type Decision,
  type Duration,
  GuardConfigError,
  GuardInputError,
  GuardOverrideError,
  GuardStateError,
  GuardStorageError,
  type GuardConfigErrorCode,
  type GuardError,
  type GuardErrorCode,
  type GuardErrorName,
  type GuardIssue,
  type GuardInputErrorCode,
  type GuardOverrideErrorCode,
  type GuardStateErrorCode,
  type GuardStorageErrorCode,
  type GuardEventOf,
  type GuardOptions,
  type Guard,
  type Outcome,
  type ReasonCode,
  type Sale,
  type Verdict,
} from '../src/index.js';

const secret = 'test-secret-0123456789abcdef';

describe('public types', () => {
  it('Decision: verdicts and reason codes are closed unions', () => {
    expectTypeOf<Decision['verdict']>().toEqualTypeOf<Verdict>();
    expectTypeOf<Verdict>().toEqualTypeOf<'allow' | 'prompt' | 'block'>();
    expectTypeOf<Decision['reasons'][number]['code']>().toEqualTypeOf<ReasonCode>();
    expectTypeOf<Decision['reasons'][number]['ageMs']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<Decision['attempt']>().toEqualTypeOf<Attempt | undefined>();
    expectTypeOf<'IN_FLIGHT'>().toExtend<ReasonCode>();
    expectTypeOf<'DUPLICATE'>().not.toExtend<ReasonCode>();
  });

  it('GuardOptions requires merchantId and secret, and nothing else', () => {
    expectTypeOf({ merchantId: 'M-1', secret }).toExtend<GuardOptions>();
    expectTypeOf({ merchantId: 'M-1', secret: new Uint8Array(16) }).toExtend<GuardOptions>();
    expectTypeOf({ secret }).not.toExtend<GuardOptions>();
    expectTypeOf({ merchantId: 'M-1' }).not.toExtend<GuardOptions>();
    // @ts-expect-error onStorageError is a closed set
    const badPolicy: GuardOptions = { merchantId: 'M-1', secret, onStorageError: 'explode' };
    // @ts-expect-error locale is 'en' | 'zh-CN'
    const badLocale: GuardOptions = { merchantId: 'M-1', secret, locale: 'fr' };
    void badPolicy;
    void badLocale;
  });

  it('Outcome: details only where they belong', () => {
    expectTypeOf({ status: 'approved', authCode: 'A1' } as const).toExtend<Outcome>();
    expectTypeOf({ status: 'refunded', amount: 500 } as const).toExtend<Outcome>();
    expectTypeOf({ status: 'refunded' } as const).toExtend<Outcome>();
    // @ts-expect-error a refund carries no auth code
    const refundWithAuth: Outcome = { status: 'refunded', authCode: 'A1' };
    // @ts-expect-error only refunds carry an amount
    const approvedWithAmount: Outcome = { status: 'approved', amount: 500 };
    // @ts-expect-error pending comes back only through resume()
    const pending: Outcome = { status: 'pending' };
    void refundWithAuth;
    void approvedWithAmount;
    void pending;
  });

  it('Sale: amount, currency and card are required; kind is sale | refund', () => {
    expectTypeOf({ amount: 1250, currency: 'CNY', card: { token: 't' } }).toExtend<Sale>();
    expectTypeOf({ amount: 1250, currency: 'CNY', card: { last4: '3446', bin: '622202' } }).toExtend<Sale>();
    expectTypeOf({ amount: 1250, currency: 'CNY' }).not.toExtend<Sale>();
    expectTypeOf({ amount: '12.50', currency: 'CNY', card: { token: 't' } }).not.toExtend<Sale>();
    expectTypeOf<Sale['kind']>().toEqualTypeOf<'sale' | 'refund' | undefined>();
    // @ts-expect-error CVV has no place in a Sale
    const withCvv: Sale = { amount: 1, currency: 'CNY', card: { token: 't' }, cvv: '123' };
    void withCvv;
  });

  it('AttemptRecord holds no card data field', () => {
    expectTypeOf<AttemptRecord>().not.toHaveProperty('pan');
    expectTypeOf<AttemptRecord>().not.toHaveProperty('expiry');
    expectTypeOf<AttemptRecord>().not.toHaveProperty('card');
    expectTypeOf<AttemptRecord['status']>().toEqualTypeOf<AttemptStatus>();
    expectTypeOf<AttemptRecord['v']>().toEqualTypeOf<1>();
  });

  it('Attempt is a read-only handle whose methods settle', () => {
    expectTypeOf<Attempt['approve']>().returns.toEqualTypeOf<Promise<AttemptRecord>>();
    expectTypeOf<Attempt['idempotencyKey']>().toEqualTypeOf<string>();
    const attempt = {} as Attempt;
    // @ts-expect-error status is read-only: settle to change it
    attempt.status = 'approved';
  });

  it('Guard methods resolve to the documented shapes', () => {
    expectTypeOf(createGuard).parameter(0).toEqualTypeOf<GuardOptions>();
    expectTypeOf(createGuard).returns.resolves.toEqualTypeOf<Guard>();
    expectTypeOf<Guard['begin']>().returns.resolves.toEqualTypeOf<Decision>();
    expectTypeOf<Guard['peek']>().returns.resolves.toEqualTypeOf<Decision>();
    expectTypeOf<Guard['settle']>().returns.resolves.toEqualTypeOf<AttemptRecord>();
    expectTypeOf<Guard['resume']>().returns.resolves.toEqualTypeOf<Attempt>();
    expectTypeOf<Guard['get']>().returns.resolves.toEqualTypeOf<AttemptRecord | undefined>();
    expectTypeOf<Guard['charge']>().returns.resolves.toEqualTypeOf<ChargeResult>();
    expectTypeOf<ChargeResult['status']>().toEqualTypeOf<'approved' | 'declined' | 'unknown' | 'blocked' | 'not-confirmed'>();
  });

  it('events are typed by their type', () => {
    expectTypeOf<GuardEventOf<'settle'>>().toEqualTypeOf<{ type: 'settle'; record: AttemptRecord; from: AttemptStatus }>();
    expectTypeOf<GuardEventOf<'clock-anomaly'>['driftMs']>().toEqualTypeOf<number>();
    const listen = (guard: Guard) =>
      guard.on('decision', (event) => {
        expectTypeOf(event.decision).toEqualTypeOf<Decision>();
        expectTypeOf(event.peek).toEqualTypeOf<boolean>();
      });
    expectTypeOf(listen).returns.toEqualTypeOf<() => void>();
  });

  it('errors: names are literal, isGuardError narrows', () => {
    expectTypeOf<GuardInputError['name']>().toEqualTypeOf<'GuardInputError'>();
    expectTypeOf<GuardError['name']>().toEqualTypeOf<GuardErrorName>();
    const value: unknown = new Error('x');
    if (isGuardError(value)) expectTypeOf(value).toEqualTypeOf<GuardError>();
  });

  it('errors: each class has its own closed union of codes', () => {
    expectTypeOf<GuardInputError['code']>().toEqualTypeOf<GuardInputErrorCode>();
    expectTypeOf<GuardConfigError['code']>().toEqualTypeOf<GuardConfigErrorCode>();
    expectTypeOf<GuardStateError['code']>().toEqualTypeOf<GuardStateErrorCode>();
    expectTypeOf<GuardOverrideError['code']>().toEqualTypeOf<GuardOverrideErrorCode>();
    expectTypeOf<GuardStorageError['code']>().toEqualTypeOf<GuardStorageErrorCode>();
    expectTypeOf<GuardError['code']>().toEqualTypeOf<GuardErrorCode>();
    expectTypeOf<'INVALID_SALE'>().toExtend<GuardInputErrorCode>();
    expectTypeOf<'SECRET_CHANGED'>().toExtend<GuardConfigErrorCode>();
    expectTypeOf<'UNKNOWN_OUTCOME'>().toExtend<GuardStateErrorCode>();
    expectTypeOf<'NOT_AUTHORIZED'>().toExtend<GuardOverrideErrorCode>();
    expectTypeOf<'LOCKED'>().toExtend<GuardStorageErrorCode>();
    expectTypeOf<'SECRET_CHANGED'>().not.toExtend<GuardInputErrorCode>();
    expectTypeOf<GuardErrorCode>().not.toEqualTypeOf<string>();
  });

  it('errors: a wrong code does not compile', () => {
    const build = () => [
      // @ts-expect-error: not a GuardInputError code (a typo of INVALID_SALE)
      new GuardInputError('INVALID_SAEL', 'x'),
      // @ts-expect-error: SECRET_CHANGED is a GuardConfigError's code, not a GuardInputError's
      new GuardInputError('SECRET_CHANGED', 'x'),
      // @ts-expect-error: not a GuardConfigError code
      new GuardConfigError('INVALID_SALE', 'x'),
      // @ts-expect-error: not a GuardStateError code
      new GuardStateError('NOT_AUTHORIZED', 'x'),
      // @ts-expect-error: not a GuardOverrideError code
      new GuardOverrideError('UNKNOWN_ATTEMPT', 'x'),
    ];
    expectTypeOf(build).returns.items.toExtend<GuardError>();
    // GuardStorageError's constructor still takes any string (a deprecated
    // overload until the file store's storageError takes the union), but its
    // code is the union all the same.
    // @ts-expect-error: not a GuardStorageError code
    const code: GuardStorageError['code'] = 'DISK_FULL';
    const check = (error: GuardError) => {
      // @ts-expect-error: no class has this code, so the comparison is always false
      if (error.code === 'INVALID_SALES') return true;
      return false;
    };
    expectTypeOf(check).returns.toEqualTypeOf<boolean>();
    void code;
  });

  it('Duration is milliseconds or a string', () => {
    expectTypeOf<Duration>().toEqualTypeOf<number | string>();
    expectTypeOf(parseDuration).returns.toEqualTypeOf<number>();
  });

  it("errors: issues are read-only and carry their class's codes (issue 16)", () => {
    expectTypeOf<GuardInputError['issues']>().toEqualTypeOf<readonly GuardIssue<GuardInputErrorCode>[]>();
    expectTypeOf<GuardConfigError['issues'][number]['code']>().toEqualTypeOf<GuardConfigErrorCode>();
    expectTypeOf<GuardIssue>().toEqualTypeOf<{
      readonly code: GuardErrorCode;
      readonly field: string;
      readonly rule: string;
      readonly message: string;
    }>();
    const mutate = (error: GuardInputError) => {
      // @ts-expect-error: issues cannot be pushed to
      error.issues.push({ code: 'INVALID_SALE', field: 'x', rule: 'y', message: 'z' });
    };
    void mutate;
  });

  it('ChargeResult says why submit gave no answer, and the error only for an invalid one (issue 16)', () => {
    expectTypeOf<ChargeResult['cause']>().toEqualTypeOf<ChargeCause | undefined>();
    expectTypeOf<ChargeCause>().toEqualTypeOf<'timeout' | 'submit-threw' | 'submit-returned-invalid-result'>();
    expectTypeOf<ChargeResult['error']>().toEqualTypeOf<GuardInputError | undefined>();
    expectTypeOf<GuardEventOf<'invalid-submit-result'>>().toEqualTypeOf<{
      type: 'invalid-submit-result';
      attemptId: string;
      error: GuardInputError;
    }>();
  });
});
