/**
 * atk31: what a processor's answer could not keep (a detail cut or dropped)
 * is journaled by the guard that recorded the answer. An answer that lands
 * while a reload starts is settled through the new guard; its notes went to
 * the old, fenced guard's journal, which writes nothing, so the audit trail
 * said nothing of the detail dropped from an approval.
 */
import { describe, expect, it } from 'vitest';
import type { JournalEntry, SubmitResult } from '../../src/index.js';
import { heldSubmit, journalOf, landed, reloadWhile, reloadingTill, timedOutCharge } from '../helpers/reload.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk31-notes-secret-0123456789abc';
const sale = { amount: 4200, currency: 'CNY', card: { token: 'tok_atk31_notes' } };
const { tempFile, keep } = scratch('atk31-notes-');
/** An approval whose auth code is no text (an object): kept an approval, the code dropped, and a note says so. */
const oddApproval = { approved: true, authCode: { code: 'A42' } } as unknown as SubmitResult;

const dropNote = (entries: JournalEntry[], attemptId: string) =>
  entries.filter((entry) => entry.type === 'settle' && entry.attemptId === attemptId && /authCode dropped/.test(entry.detail ?? ''));

describe('atk31: an answer settled through the guard that took over journals its notes there', () => {
  it('a timely answer landing while a reload starts', async () => {
    const path = tempFile();
    const { open } = reloadingTill(path, SECRET, { pendingTimeout: '2m' });
    const running = keep(await open());
    const processor = heldSubmit();
    const charging = running.charge(sale, processor.submit, { timeout: '60s' });
    await landed();
    const reloaded = keep(await reloadWhile(open, () => processor.answer(oddApproval)));
    const result = await charging;
    expect(result).toMatchObject({ status: 'approved' });
    await landed();
    await reloaded.close();
    expect(dropNote(await journalOf(path), result.attempt!.id)).toHaveLength(1);
  });

  it('a late answer (after the charge timed out) landing while a reload starts', async () => {
    const path = tempFile();
    const { time, open } = reloadingTill(path, SECRET, { pendingTimeout: '2m' });
    const { result, processor } = await timedOutCharge(keep(await open()), time, sale);
    expect(result).toMatchObject({ status: 'unknown', cause: 'timeout' });
    const reloaded = keep(await reloadWhile(open, () => processor.answer(oddApproval)));
    await landed();
    expect((await reloaded.get(result.attempt!.id))?.status).toBe('approved');
    await reloaded.close();
    expect(dropNote(await journalOf(path), result.attempt!.id)).toHaveLength(1);
  });
});
