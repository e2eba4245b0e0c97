/**
 * atk20: errors handed on masked (src/errors.ts maskedError): only the
 * message, the stack and own STRING properties are looked at. A processor
 * SDK's error keeps the request and response it failed on in nested
 * objects (axios: error.config.data, error.response.data), which a logger
 * prints (util.inspect, default depth 2); a card number there is handed
 * on untouched in the `recover` event and recoverNow's result.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type GuardEvent } from '../../src/index.js';
import { SECRET, VISA } from '../helpers/guard.js';

const PAN = '4111111111111111';

class SdkError extends Error {
  config = { url: '/inquiry', data: JSON.stringify({ card: PAN, amount: 990 }) };
  response = { status: 502, data: { error: `card ${PAN} unknown` } };
  constructor() {
    super('Request failed with status code 502');
    this.name = 'SdkError';
  }
}

describe('atk20: errors handed on from recover', () => {
  it('a recover error whose nested request/response holds a card number is handed on without it (event and recoverNow result)', async () => {
    const guard = await createGuard({
      merchantId: 'M1',
      secret: SECRET,
      store: memoryStore(),
      recover: async () => {
        throw new SdkError();
      },
      recoverAfter: '1h',
    });
    const events: GuardEvent[] = [];
    guard.on('recover', (e) => events.push(e));
    const d = await guard.begin({ amount: 990, currency: 'CNY', card: { pan: VISA } });
    await d.attempt!.markUnknown();
    const [result] = await guard.recoverNow(d.attempt!.id);
    expect(result?.error).toBeDefined();
    expect(inspect(result!.error)).not.toContain(PAN);
    expect(inspect(events, { depth: 6 })).not.toContain(PAN);
    await guard.close();
  });
  it('a recover that throws a plain object (an SDK rethrowing its response body) is handed on without the card number in it', async () => {
    const guard = await createGuard({
      merchantId: 'M1',
      secret: SECRET,
      store: memoryStore(),
      recover: async () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- an SDK rethrowing its response body, as some do
        throw { code: 'inquiry_failed', message: `no transaction for card ${PAN}` };
      },
      recoverAfter: '1h',
    });
    const d = await guard.begin({ amount: 991, currency: 'CNY', card: { pan: VISA } });
    await d.attempt!.markUnknown();
    const [result] = await guard.recoverNow(d.attempt!.id);
    expect(result?.error).toBeDefined();
    expect(inspect(result!.error)).not.toContain(PAN);
    await guard.close();
  });
});
