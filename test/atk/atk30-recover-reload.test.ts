/**
 * atk30: a `recover` answer that arrives while a hot reload of a Node till
 * (a new fileStore on the same file) is still starting.
 */
import { describe, expect, it } from 'vitest';
import type { RecoverAnswer, SubmitResult } from '../../src/index.js';
import { deferred } from '../helpers/guard.js';
import { heldAtTmp, landed, reloadingTill } from '../helpers/reload.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk30-recover-reload-0123456789ab';
const sale = { amount: 6_600, currency: 'CNY', card: { token: 'tok_atk30_recover_reload' } };
const { tempFile, keep } = scratch('atk30-recover-reload-');

describe('atk30 recover answer during a reload', () => {
  // What happens: a Node till has an unknown outcome; its `recover` call (an inquiry) is out when the
  // app hot-reloads the guard (a second createGuard over a new fileStore on the file). The processor
  // answers `approved` while the new guard is still loading: the old store is fenced, the new guard
  // not registered as successor yet. applyAnswer takes ownerOf(old) = old (fenced, not writable)
  // and drops the answer ("answered approved after the attempt became unknown: dropped"), nothing
  // written nor journaled. The charge path waits for the start in progress (successorOf, this
  // session's fix); the recover path does not. The new guard holds the attempt `unknown`: with
  // recoverTries 1 the try is used up, and it is handed to a person with the approval in hand lost.
  // Why it matters: the sale was paid; the till shows it unknown; a supervisor override or a settle
  // `declined` by a person lets the retry through: a double charge.
  // Suspected: src/guard/recover.ts:531-533 (applyAnswer: `ownerOf(from)` with no wait for a start in
  // progress, as src/guard/context.ts successorOf does for charge.ts settleAnswer).
  it('a recover answer arriving while the reload starts is recorded by the reloaded guard', async () => {
    const path = tempFile();
    const answer = deferred<RecoverAnswer>();
    let calls = 0;
    const recover = (): Promise<RecoverAnswer> => (calls++, answer.promise);
    const { time, open } = reloadingTill(path, SECRET, { recover, recoverAfter: '1h', recoverTries: 1 });
    const reload = heldAtTmp();
    const running = keep(await open());
    const charged = await running.charge(sale, (): Promise<SubmitResult> => Promise.reject(new Error('network'))).catch((e: unknown) => e);
    const [attempt] = await running.attempts();
    expect(attempt?.status).toBe('unknown');
    const trying = running.recoverNow(attempt!.id).catch((error: unknown) => error);
    await landed();
    expect(calls).toBe(1);
    const starting = open(reload.fs);
    await reload.reached();
    answer.resolve({ status: 'approved', authCode: 'R77' });
    await landed();
    reload.gate.release();
    const reloaded = keep(await starting);
    const exhausted: string[] = [];
    reloaded.on('recovery-exhausted', (e) => exhausted.push(e.attemptId));
    await trying;
    await landed();
    void charged;
    const right = (await reloaded.attempts()).map((a) => a.status);
    // A day on the reloaded guard's schedule.
    for (let h = 0; h < 24; h++) {
      await time.advance(3_600_000);
      await landed();
    }
    const later = [(await reloaded.get(attempt!.id))?.status];
    // (Today: right ['unknown'], later ['unknown'], calls 1, recovery-exhausted reported.)
    expect({ right, later, calls, exhausted: exhausted.length }).toEqual({
      right: ['approved'],
      later: ['approved'],
      calls: 1,
      exhausted: 0,
    });
  });
});
