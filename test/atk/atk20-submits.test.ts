/**
 * atk20: the registry of charges out (src/guard/submits.ts) under many
 * concurrent charges, a take-over by a second guard on the same store
 * object, recoverNow for every attempt, and close of the older guard.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, type SubmitResult } from '../../src/index.js';
import { deferred, VISA } from '../helpers/guard.js';
import { INQUIRY_START, notFoundTill } from '../helpers/inquiry.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('atk20: many charges out, a take-over, recoverNow', () => {
  it('recover is never asked about an attempt still out; every approval lands with the newer guard; nothing left registered', async () => {
    const { time, asked, options } = notFoundTill({ pendingTimeout: '2m' });
    const older = await createGuard(options);
    const answers = Array.from({ length: 8 }, () => deferred<SubmitResult>());
    const ids: string[] = [];
    const charges = answers.map((answer, i) =>
      older.charge({ amount: 100 + i, currency: 'CNY', card: { pan: VISA } }, (a) => (ids.push(a.id), answer.promise), { timeout: '60s' }),
    );
    for (let i = 0; i < 50 && ids.length < 8; i++) await tick();
    expect(ids.length).toBe(8);
    const newer = await createGuard(options);
    await time.advance(10_000);
    const manual = await newer.recoverNow();
    expect(asked).toEqual([]);
    expect(manual.every((r) => r.error !== undefined || r.status !== 'cancelled')).toBe(true);
    const closing = older.close();
    answers.forEach((a, i) => a.resolve({ approved: true, authCode: `A${i}` }));
    const results = await Promise.all(charges);
    await closing;
    expect(results.map((r) => r.status)).toEqual(Array(8).fill('approved'));
    for (const id of ids) expect((await newer.get(id))?.status).toBe('approved');
    await time.advance(10 * 60_000);
    expect(asked).toEqual([]);
    await newer.close();
  });

  it('a charge whose submit times out while taken over: the newer guard recovers it after the timeout, not before', async () => {
    const askedAt: number[] = [];
    // Unlike notFoundTill's own recover, this one notes when it was asked, and answers nothing yet.
    const { time, options } = notFoundTill({
      pendingTimeout: '2m',
      recover: async () => (askedAt.push(time.clock.now() - INQUIRY_START), undefined),
    });
    const older = await createGuard(options);
    let id: string | undefined;
    const charge = older.charge({ amount: 999, currency: 'CNY', card: { pan: VISA } }, (a) => ((id = a.id), new Promise(() => undefined)), {
      timeout: '30s',
    });
    for (let i = 0; i < 20 && !id; i++) await tick();
    const newer = await createGuard(options);
    await time.advance(29_000);
    expect(askedAt).toEqual([]);
    await time.advance(1_000);
    expect((await charge).status).toBe('unknown');
    await time.advance(10_000);
    expect(askedAt.length).toBeGreaterThan(0);
    expect(askedAt[0]).toBeGreaterThanOrEqual(30_000);
    await older.close();
    await newer.close();
  });
});
