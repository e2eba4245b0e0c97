/**
 * atk20: close() waits for the charges this guard has out (submits.ts,
 * start.ts closeOnce) — those out when it looked. A charge begun while
 * close() is waiting (ctx.closed is still false: begin is open) submits to
 * the processor, and close() then closes the store under it: the
 * processor's approval cannot be recorded and charge() rejects.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type Attempt, type SubmitResult } from '../../src/index.js';
import { virtualTime } from '../../src/testing.js';
import { deferred, SECRET, VISA } from '../helpers/guard.js';

const START = Date.parse('2026-03-01T09:00:00Z');
const tick = () => new Promise((r) => setTimeout(r, 1));

async function setup() {
  const time = virtualTime(START);
  const store = memoryStore();
  const options = { merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler, pendingTimeout: '2m' } as const;
  const guard = await createGuard(options);
  return { time, store, guard, reopen: () => createGuard(options) };
}

describe('atk20: close() and charges', () => {
  it('a charge started while close() waits for another is either refused before it submits, or waited for and its approval recorded', async () => {
    const { guard, reopen } = await setup();
    const first = deferred<SubmitResult>();
    let firstOut = false;
    const one = guard.charge(
      { amount: 100, currency: 'CNY', card: { pan: VISA }, orderId: 'A' },
      () => ((firstOut = true), first.promise),
      {
        timeout: '60s',
      },
    );
    for (let i = 0; i < 20 && !firstOut; i++) await tick();
    const closing = guard.close();
    await tick();
    const second = deferred<SubmitResult>();
    let submitted: Attempt | undefined;
    const two = guard
      .charge({ amount: 200, currency: 'CNY', card: { pan: VISA }, orderId: 'B' }, (a) => ((submitted = a), second.promise), {
        timeout: '60s',
      })
      .then(
        (r) => r.status,
        (e: unknown) => `threw ${(e as { code?: string }).code}`,
      );
    for (let i = 0; i < 20 && !submitted; i++) await tick();
    first.resolve({ approved: true, authCode: 'A1' });
    await one;
    await closing;
    second.resolve({ approved: true, authCode: 'B2' });
    const status = await two;
    if (submitted === undefined) {
      // Refused before it went to the processor: fine.
      expect(status).toMatch(/^threw/);
      return;
    }
    // It went to the processor and was approved: the money was taken, so it must be on record.
    expect(status).toBe('approved');
    const next = await reopen();
    expect((await next.get(submitted.id))?.status).toBe('approved');
    await next.close();
  });

  it('close() with a submit that never answers finishes at the charge timeout, the attempt unknown (passing pin)', async () => {
    const { guard, time, reopen } = await setup();
    let id: string | undefined;
    const one = guard.charge({ amount: 100, currency: 'CNY', card: { pan: VISA } }, (a) => ((id = a.id), new Promise(() => undefined)), {
      timeout: '30s',
    });
    for (let i = 0; i < 20 && !id; i++) await tick();
    let closed = false;
    const closing = guard.close().then(() => (closed = true));
    await time.advance(29_000);
    expect(closed).toBe(false);
    await time.advance(1_000);
    await closing;
    expect((await one).status).toBe('unknown');
    const next = await reopen();
    expect((await next.get(id!))?.status).toBe('unknown');
    await next.close();
  });
});
