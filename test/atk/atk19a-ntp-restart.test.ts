/**
 * atk19a: a till that boots with its clock days behind (a flat RTC battery,
 * common on POS boxes) until NTP corrects it mid-session. The guard sees the
 * jump (CLOCK_ANOMALY) and, within the process, still holds a charge begun
 * before it. But the charge's `pendingSince` keeps the pre-jump wall time,
 * so after a restart the "7 days" limit on an open outcome (SPEC §2) reads it
 * as 9 days old: start-up prunes it ("unreconciled after 7 days") and a retry
 * of the sale, seconds after the timeout, is allowed with no reason at all.
 * A charge whose outcome is unknown must block its retry (SPEC §1, field
 * failures 2 and 3) until settled; it is 40 seconds old.
 */
import { describe, expect, it } from 'vitest';
import { virtualTime } from '../../src/testing.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk19a-ntp-secret-0123456789abcdef';
const { tempFile, fileGuard } = scratch('atk19a-ntp-restart-');
const sale = { amount: 1_250, currency: 'CNY', card: { token: 'tok_ntp' } };

describe('atk19a: an NTP correction forward, then a restart', () => {
  for (const ending of ['unknown', 'pending'] as const) {
    it(`a charge begun 40 s before the restart, ${ending === 'unknown' ? 'timed out (unknown) after the correction' : 'still pending when the till died'}: its retry is blocked (UNKNOWN_OUTCOME) after the restart, not allowed`, async () => {
      const path = tempFile();
      const time = virtualTime(Date.parse('2026-02-20T09:00:00Z')); // 9 days behind
      const open = () => fileGuard(path, time, { secret: SECRET });
      const g = await open();
      const charge = await g.begin(sale);
      await time.advance(5_000);
      time.jump(9 * 24 * 3_600_000); // NTP sets the clock right
      await time.advance(30_000);
      if (ending === 'unknown') await charge.attempt!.markUnknown(); // the processor timed out
      await time.advance(5_000);
      expect((await g.peek(sale)).verdict).toBe('block'); // held, within the process
      time.restart(); // the till restarts (or crashes)
      const after = await open();
      const retry = await after.begin(sale);
      expect(retry.verdict).toBe('block');
      expect(retry.reasons.map((r) => r.code)).toContain('UNKNOWN_OUTCOME');
    });
  }
});
