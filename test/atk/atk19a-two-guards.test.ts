/**
 * atk19a: two guards on one file in one process (an Electron hot reload, a
 * second createGuard with its own fileStore(path)). The newer store fences
 * the older (docs/file-store.md "One owner per file": the older one
 * "refuses every further call with GuardStorageError code TAKEN_OVER"), but
 * the older guard turns that refusal into STORAGE_UNAVAILABLE under
 * onStorageError: `allow` (or a prompt the cashier confirms) lets it charge a
 * sale the file's owner never hears of, and the owner allows the same sale.
 * With one guard over one store object, the older guard's calls throw
 * GuardStateError TAKEN_OVER and its recover schedule is stopped
 * (src/guard/start.ts: owners.take + stopRecovery); over two store objects
 * on one path neither happens: the guard-level fencing is keyed by the store
 * object, and the store's own TAKEN_OVER is handled as a write failure.
 */
import { describe, expect, it } from 'vitest';
import { GuardError, type Decision, type GuardOptions } from '../../src/index.js';
import { virtualTime } from '../../src/testing.js';
import { VISA } from '../helpers/guard.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk19a-two-secret-0123456789abcdef';
const START = Date.parse('2026-03-01T09:00:00Z');
const { tempFile, fileGuard } = scratch('atk19a-two-guards-');
const sale = { amount: 1_000, currency: 'CNY', card: { pan: VISA } };

async function twoGuards(options: Partial<GuardOptions>) {
  const path = tempFile();
  const time = virtualTime(START);
  const make = () => fileGuard(path, time, { secret: SECRET, ...options });
  const older = await make();
  const newer = await make();
  return { older, newer };
}

const verdictOf = async (run: Promise<Decision>) =>
  run.then(
    (d) => d.verdict,
    (e: unknown) => (e instanceof GuardError ? e.name : 'other'),
  );

describe('atk19a: the older of two guards on one file never charges what the owner cannot see', () => {
  it("onStorageError 'allow': the older guard's begin is refused (TAKEN_OVER), so one sale is never allowed by both", async () => {
    const { older, newer } = await twoGuards({ onStorageError: 'allow' });
    const first = await verdictOf(older.begin(sale));
    const second = await verdictOf(newer.begin(sale));
    expect([first, second].filter((v) => v === 'allow')).toHaveLength(1);
  });

  it("default onStorageError: the older guard's begin throws GuardStateError TAKEN_OVER, not a prompt a cashier can confirm", async () => {
    const { older } = await twoGuards({});
    const error = await older.begin(sale).then(
      (d) => d,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GuardError);
    expect(error).toMatchObject({ name: 'GuardStateError', code: 'TAKEN_OVER' });
  });

  it('an approval settled on the older guard after the take-over is refused (TAKEN_OVER), not kept where the owner never sees it', async () => {
    const path = tempFile();
    const time = virtualTime(START);
    const make = () => fileGuard(path, time, { secret: SECRET });
    const older = await make();
    const charging = await older.begin(sale);
    const newer = await make(); // the hot reload, while the terminal is still charging on the older guard
    const settled = await older.settle(charging.attempt!.id, { status: 'approved', authCode: 'A1' }).then(
      (r) => r.status,
      (e: unknown) => (e instanceof GuardError ? `${e.name}:${e.code}` : 'other'),
    );
    const owner = (await newer.get(charging.attempt!.id))?.status;
    // Either the approval reaches the file's owner, or the caller is told it did not.
    expect(settled === 'GuardStateError:TAKEN_OVER' || owner === 'approved', `settle: ${settled}, owner reads ${owner}`).toBe(true);
  });

  it('SPEC §10 "never two recover calls for one attempt at once": the older guard\'s try in progress and the owner\'s first try do not overlap', async () => {
    const path = tempFile();
    const time = virtualTime(START);
    let [running, most] = [0, 0];
    const answers: (() => void)[] = [];
    const recover = () =>
      new Promise<undefined>((resolve) => {
        most = Math.max(most, ++running);
        answers.push(() => (running--, resolve(undefined)));
      });
    const make = () => fileGuard(path, time, { secret: SECRET, recover, recoverAfter: '5s' });
    const older = await make();
    const d = await older.begin(sale);
    await d.attempt!.markUnknown();
    for (let i = 0; i < 20 && running === 0; i++) {
      await time.advance(1_000);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(running).toBe(1); // the older guard is asking the processor (a reversal on its way)
    await make(); // the hot reload
    for (let i = 0; i < 6; i++) {
      await time.advance(1_000);
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const answer of answers.splice(0)) answer();
    expect(most).toBe(1);
  });
});
