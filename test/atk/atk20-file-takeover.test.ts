/**
 * atk20: a charge in flight on a guard whose fileStore is taken over by a
 * second fileStore on the same path in the same process (a hot reload).
 * The registry of charges out (src/guard/submits.ts) is kept per store
 * OBJECT, so the newer guard's recovery does not see the older guard's
 * charge: it asks the processor about an attempt still on its way, hears
 * "not found", settles it cancelled and frees the sale; the older guard's
 * approval then cannot be written (its store is fenced) and is lost.
 */
import { describe, expect, it } from 'vitest';
import type { Attempt, GuardOptions, SubmitResult } from '../../src/index.js';
import { virtualTime } from '../../src/testing.js';
import { deferred, VISA } from '../helpers/guard.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk20-file-secret-0123456789abcdef';
const START = Date.parse('2026-03-01T09:00:00Z');
const { tempFile, fileGuard } = scratch('atk20-file-');
const sale = { amount: 1_000, currency: 'CNY', card: { pan: VISA }, orderId: 'ORD-20-1' };
const tick = () => new Promise((r) => setTimeout(r, 5));

async function setup(options: Partial<GuardOptions> = {}) {
  const path = tempFile();
  const time = virtualTime(START);
  const asked: string[] = [];
  const make = () =>
    fileGuard(path, time, {
      secret: SECRET,
      pendingTimeout: '2m',
      // The processor has not recorded the charge yet: "not found".
      recover: async (attempt) => {
        asked.push(attempt.id);
        return { status: 'cancelled' };
      },
      ...options,
    });
  return { time, make, asked };
}

describe('atk20: a charge out on the older of two fileStores on one path', () => {
  it('the newer guard does not ask recover about an attempt whose submit is still out, and never allows the sale again meanwhile', async () => {
    const { time, make, asked } = await setup();
    const older = await make();
    const answer = deferred<SubmitResult>();
    let submitted: Attempt | undefined;
    const charging = older.charge(sale, (a) => ((submitted = a), answer.promise), { timeout: '60s' });
    charging.catch(() => undefined);
    for (let i = 0; i < 20 && !submitted; i++) await tick();
    expect(submitted).toBeDefined();
    const newer = await make(); // hot reload: the old module's charge is still with the processor
    await time.advance(20_000);
    await tick();
    // Asking now hears "not found" for a charge still on its way.
    expect.soft(asked).not.toContain(submitted!.id);
    const again = await newer.begin(sale);
    expect.soft(again.verdict).not.toBe('allow');
    answer.resolve({ approved: true, authCode: 'A1' });
    await charging.catch(() => undefined);
  });

  it("the older guard's approval arriving after the take-over is not lost: the file's owner records the attempt approved", async () => {
    const { time, make } = await setup({ recover: undefined });
    const older = await make();
    const answer = deferred<SubmitResult>();
    let submitted: Attempt | undefined;
    const charging = older.charge(sale, (a) => ((submitted = a), answer.promise), { timeout: '60s' });
    const result = charging.then(
      (r) => r.status,
      (e: unknown) => `threw ${(e as Error).name}/${(e as { code?: string }).code}`,
    );
    for (let i = 0; i < 20 && !submitted; i++) await tick();
    const newer = await make();
    answer.resolve({ approved: true, authCode: 'A1' });
    await time.advance(1_000);
    await tick();
    // The money was taken: the charge says so, and the owner of the file knows it.
    expect(await result).toBe('approved');
    expect((await newer.get(submitted!.id))?.status).toBe('approved');
  });
  it("a late approval for the older guard's timed-out charge, arriving after the take-over, is not dropped silently: recorded by the file's owner, or at least emitted", async () => {
    const { time, make } = await setup({ recover: undefined });
    const older = await make();
    const heard: unknown[] = [];
    older.on('late-answer', (e) => heard.push(e));
    older.on('storage-error', (e) => heard.push(e));
    const answer = deferred<SubmitResult>();
    let submitted: Attempt | undefined;
    const charging = older.charge(sale, (a) => ((submitted = a), answer.promise), { timeout: '30s' });
    for (let i = 0; i < 20 && !submitted; i++) await tick();
    await time.advance(30_000);
    expect((await charging).status).toBe('unknown');
    const newer = await make();
    answer.resolve({ approved: true, authCode: 'LATE1' });
    await tick();
    await tick();
    const recorded = (await newer.get(submitted!.id))?.status;
    expect(recorded === 'approved' || heard.length > 0, `newer reads ${recorded}; older emitted ${heard.length}`).toBe(true);
  });
});

describe('atk20: closing the fenced older guard', () => {
  it("the older guard's close() leaves the newer one's lock and writes working (passing pin)", async () => {
    const { make } = await setup({ recover: undefined });
    const older = await make();
    await older.begin({ ...sale, orderId: 'ORD-20-L1' });
    const newer = await make();
    await older.close();
    const d = await newer.begin({ ...sale, amount: 2_222, orderId: 'ORD-20-L2' });
    expect(d.verdict).toBe('allow');
    await d.attempt!.approve({ authCode: 'L2' });
    expect((await newer.get(d.attempt!.id))?.status).toBe('approved');
  });

  it('three hot reloads in a row while the first charge is out: the newest guard holds it IN_FLIGHT, asks nothing, and records the approval; the sale then prompts', async () => {
    const { time, make, asked } = await setup();
    const first = await make();
    const answer = deferred<SubmitResult>();
    let submitted: Attempt | undefined;
    const charging = first.charge(sale, (a) => ((submitted = a), answer.promise), { timeout: '60s' });
    for (let i = 0; i < 20 && !submitted; i++) await tick();
    await make();
    await make();
    const newest = await make();
    await time.advance(20_000);
    await tick();
    expect(asked).toEqual([]);
    expect((await newest.begin(sale)).reasons.map((r) => r.code)).toContain('IN_FLIGHT');
    answer.resolve({ approved: true, authCode: 'A1' });
    expect((await charging).status).toBe('approved');
    await tick();
    expect((await newest.get(submitted!.id))?.status).toBe('approved');
    expect((await newest.begin(sale)).verdict).not.toBe('allow');
    await time.advance(10 * 60_000);
    expect(asked).toEqual([]);
  });
});
