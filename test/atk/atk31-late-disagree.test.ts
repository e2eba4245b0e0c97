/**
 * atk31: a late answer that disagrees with how the attempt was settled
 * meanwhile (4b9796a: journaled through ownerOf) landing while a reload starts.
 */
import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../../src/index.js';
import { journalOf, landed, reloadWhile, reloadingTill, timedOutCharge } from '../helpers/reload.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk31-late-disagree-secret-0123456789';
const sale = { amount: 4200, currency: 'CNY', card: { token: 'tok_atk31_disagree' } };
const { tempFile, keep } = scratch('atk31-late-disagree-');

const disagreement = (entries: JournalEntry[], attemptId: string) =>
  entries.filter(
    (entry) => entry.type === 'settle' && entry.attemptId === attemptId && /late answer from the processor/.test(entry.detail ?? ''),
  );

describe('atk31: a late answer that cannot be applied, landing while a reload starts', () => {
  // What happens: a charge times out (`unknown`); the cashier voids it at the
  // terminal (settle 'voided'); the app hot-reloads its guard; while the new
  // guard is still starting (its store has fenced the old one), the
  // processor's late approval arrives. It cannot be applied to a voided
  // attempt, so lateAnswer journals the disagreement ("late answer from the
  // processor: 'approved' ... check the processor's records") through
  // ownerOf(ctx), which is still the old guard (the succession is noted only
  // once the new guard has loaded): the entry goes to the fenced store,
  // whose appendJournal refuses it (TAKEN_OVER), and it is never written.
  // The 'late-answer' event goes to the old guard's listeners, which a
  // reloading app has just let go of.
  // Why: src/guard/charge.ts:127-128 (ownerOf before the start is done: no
  // successor yet, so the old guard goes on with the answer) and :146-157
  // (the disagreement journaled on ownerOf(ctx) at :148-149, without waiting
  // for the start in progress as settleAnswer does at :175-186).
  // Cost at a till: an approval the processor took (money taken on a sale the
  // till voided, and which the customer probably paid again) leaves no trace
  // in the journal or with the running app: nobody checks the processor's
  // records, and the customer stays charged twice.
  // Fixed: the disagreement waits for the starts in progress (successorOf(ctx, true)) and is journaled by the new guard.
  it('the disagreement is journaled by the guard that took over', async () => {
    const path = tempFile();
    const { time, open } = reloadingTill(path, SECRET, { pendingTimeout: '2m' });
    const running = keep(await open());
    const { result, processor } = await timedOutCharge(running, time, sale);
    expect(result).toMatchObject({ status: 'unknown', cause: 'timeout' });
    const id = result.attempt!.id;
    await running.settle(id, { status: 'voided' });
    const reloaded = keep(await reloadWhile(open, () => processor.answer({ approved: true, authCode: 'A42' })));
    await landed();
    expect((await reloaded.get(id))?.status).toBe('voided');
    await reloaded.close();
    expect(disagreement(await journalOf(path), id)).toHaveLength(1);
  });

  // Control (held): without a reload, the same late approval is journaled.
  it('without a reload, the disagreement is journaled', async () => {
    const path = tempFile();
    const { time, open } = reloadingTill(path, SECRET, { pendingTimeout: '2m' });
    const running = keep(await open());
    const { result, processor } = await timedOutCharge(running, time, sale);
    const id = result.attempt!.id;
    await running.settle(id, { status: 'voided' });
    processor.answer({ approved: true, authCode: 'A42' });
    await landed();
    await running.close();
    expect(disagreement(await journalOf(path), id)).toHaveLength(1);
  });
});
