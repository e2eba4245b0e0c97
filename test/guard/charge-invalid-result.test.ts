/**
 * Issue 16: `submit` resolving something that is not `{ approved: boolean, … }`
 * is a bug in the app. The attempt settles `unknown` (the charge may have gone
 * through, so a retry stays blocked), and it is loud: the result says
 * `cause: 'submit-returned-invalid-result'` with the error, and an
 * `invalid-submit-result` event is emitted. A real timeout or throw is not.
 */
import { describe, expect, it } from 'vitest';
import { GuardInputError, type GuardEventOf, type SubmitResult } from '../../src/index.js';
import { deferred, flush, sale, testGuard } from '../helpers/guard.js';
import { cardNumberLeaks } from '../helpers/cards.js';

type Submit = () => Promise<SubmitResult>;
const resolving = (value: unknown): Submit => (async () => value) as Submit;

async function charged(submit: Submit, timeout?: number) {
  const { guard, store } = await testGuard();
  const events: GuardEventOf<'invalid-submit-result'>[] = [];
  guard.on('invalid-submit-result', (event) => events.push(event));
  const result = await guard.charge(sale(), submit, timeout === undefined ? {} : { timeout });
  return { guard, store, events, result };
}

describe('charge(): submit resolving no { approved } answer is loud', () => {
  it.each<[string, unknown, RegExp]>([
    ['undefined', undefined, /resolved undefined/],
    ['true', true, /resolved true \(boolean\)/],
    ['{ ok: true }', { ok: true }, /resolved an object without `approved`/],
    ["{ approved: 'yes' }", { approved: 'yes' }, /`approved` is "yes" \(string\)/],
  ])('%s: settles unknown, says why in the result and an event, and blocks a retry', async (_name, value, said) => {
    const { guard, events, result } = await charged(resolving(value));
    expect(result.status).toBe('unknown');
    expect(result.attempt?.status).toBe('unknown');
    expect(result.cause).toBe('submit-returned-invalid-result');
    expect(result.error).toBeInstanceOf(GuardInputError);
    expect(result.error).toMatchObject({ code: 'INVALID_SUBMIT_RESULT', field: 'submit' });
    expect(result.error?.message).toMatch(said);
    expect(result.error?.message).toMatch(/not a network failure/);
    expect(events).toEqual([{ type: 'invalid-submit-result', attemptId: result.attempt?.id, error: result.error }]);
    expect(await guard.get(result.attempt?.id ?? '')).toMatchObject({
      status: 'unknown',
      message: expect.stringMatching(/bug in the app's submit/),
    });
    const retry = await guard.begin(sale());
    expect(retry.verdict).toBe('block');
    expect(retry.reasons.map((r) => r.code)).toContain('UNKNOWN_OUTCOME');
  });

  it('an `approved` getter that answers a boolean only the second time it is read is loud too', async () => {
    let reads = 0;
    const flipping = {
      get approved() {
        reads++;
        return reads === 1 ? 'yes' : true;
      },
    };
    const { events, result } = await charged(resolving(flipping));
    expect(result).toMatchObject({ status: 'unknown', cause: 'submit-returned-invalid-result' });
    expect(events).toHaveLength(1);
  });

  it('an answer is judged on one read of `approved`: a getter that turns odd on a second read does not unsettle it', async () => {
    let reads = 0;
    const flipping = {
      get approved() {
        reads++;
        return reads === 1 ? true : 'yes';
      },
    };
    const { events, result } = await charged(resolving(flipping));
    expect(result.status).toBe('approved');
    expect(result.cause).toBeUndefined();
    expect(events).toEqual([]);
  });

  it('never quotes a card number the bad answer holds', async () => {
    const { result } = await charged(resolving({ approved: '4111 1111 1111 1111' }));
    expect(cardNumberLeaks([result.error?.message, JSON.stringify(result), result.attempt])).toEqual([]);
  });

  it('a submit that throws is unknown too, but with cause submit-threw and no event', async () => {
    const { events, result } = await charged(() => Promise.reject(new Error('ECONNRESET')));
    expect(result).toMatchObject({ status: 'unknown', cause: 'submit-threw' });
    expect(result.error).toBeUndefined();
    expect(events).toEqual([]);
  });

  it('a timeout is unknown too, but with cause timeout and no event', async () => {
    const late = deferred<SubmitResult>();
    const { events, result } = await charged(() => late.promise, 20);
    expect(result).toMatchObject({ status: 'unknown', cause: 'timeout' });
    expect(result.error).toBeUndefined();
    expect(events).toEqual([]);
  });

  it('a timely approval or decline has no cause', async () => {
    expect((await charged(resolving({ approved: true }))).result.cause).toBeUndefined();
    expect((await charged(resolving({ approved: false, code: '51' }))).result.cause).toBeUndefined();
  });

  it('a late answer that is no answer is an event too, and the attempt stays unknown', async () => {
    const late = deferred<SubmitResult>();
    const { guard, events, result } = await charged(() => late.promise, 20);
    expect(events).toEqual([]);
    late.resolve(undefined as never);
    await flush();
    expect(events).toEqual([{ type: 'invalid-submit-result', attemptId: result.attempt?.id, error: expect.any(GuardInputError) }]);
    expect(await guard.get(result.attempt?.id ?? '')).toMatchObject({ status: 'unknown' });
  });
});
