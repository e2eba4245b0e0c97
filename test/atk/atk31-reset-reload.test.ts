/**
 * atk31: a hot reload with `resetOnSecretChange: true` and a new secret while
 * the running till has a charge out (its getMeta now read through the running
 * store, 9e3c328; the reset then takes the file over and wipes it).
 */
import { describe, expect, it } from 'vitest';
import { heldSubmit, landed, reloadingTill } from '../helpers/reload.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk31-reset-secret-0123456789abcdef';
const { tempFile, keep } = scratch('atk31-reset-reload-');

describe('atk31: a reset reload while a charge is out', () => {
  // What happens: the app is reconfigured with a new secret and
  // `resetOnSecretChange: true` (a key rotation done as documented: "starts
  // anew") and hot-reloads while a charge is out. The reload wipes the
  // history, and its guard takes the file over; the processor's approval of
  // the charge out is then routed to the new guard (the running one is
  // fenced), which has no such attempt: charge() rejects UNKNOWN_ATTEMPT,
  // and the approval is recorded nowhere (not in the new history, not in the
  // journal as an answer it could not apply).
  // Why: src/guard/charge.ts:175-186 (settleAnswer sends the answer to the
  // successor, whatever it holds) and src/guard/start.ts:183-186 (the reset
  // deletes every record, the one of a charge still out included).
  // Cost at a till: the cashier sees an error for a sale the customer paid;
  // the retry is allowed (the history is new): charged twice. Narrow (a
  // reset reload mid-charge), but the reset is the documented way to change
  // the secret, and nothing says to wait for the charges out.
  // Fixed: the reset keeps the attempts still out with the processor (isSubmitting), so the answer is recorded.
  it('the approval of the charge out is not lost: charge() resolves approved', async () => {
    const path = tempFile();
    const { open } = reloadingTill(path, SECRET, { pendingTimeout: '2m' });
    const running = keep(await open());
    const processor = heldSubmit();
    const charging = running
      .charge({ amount: 4200, currency: 'CNY', card: { token: 'tok_atk31_reset' } }, processor.submit, { timeout: '60s' })
      .catch((error: unknown) => error);
    await landed();
    keep(await open(undefined, { secret: 'atk31-rotated-secret-0123456789abcd', resetOnSecretChange: true }));
    processor.answer({ approved: true, authCode: 'A42' });
    expect(await charging).toMatchObject({ status: 'approved' });
  });
});
