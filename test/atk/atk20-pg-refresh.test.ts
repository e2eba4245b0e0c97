/**
 * atk20: decide.ts `refreshed` now reads, by id, the attempts memory holds
 * against the sale: one settled elsewhere (voided, declined) is no longer
 * filed under the sale's keys. Two terminals of one merchant over
 * postgresStore (passing pins unless a case fails).
 */
import { describe, expect, it } from 'vitest';
import { pgTerminals } from '../helpers/pg-terminals.js';
import { VISA } from '../helpers/guard.js';

const SECRET = 'atk20-pg-secret-0123456789abcdef';

describe('atk20: postgres, what another terminal settled since', () => {
  const t = pgTerminals('atk20_refresh', 'M-PG20', SECRET);
  const codes = (d: { reasons: { code: string }[] }) => d.reasons.map((r) => r.code);

  it('T1 approves, T2 is prompted; T1 voids: T2 begins the same sale again and is allowed', async () => {
    const { guard: t1 } = await t.open('T1');
    const { guard: t2 } = await t.open('T2');
    const s = { amount: 5100, currency: 'CNY', card: { pan: VISA } };
    const first = await t1.begin(s);
    await first.attempt!.approve({ authCode: 'A1' });
    expect((await t2.begin(s)).verdict).toBe('prompt');
    await first.attempt!.void();
    const again = await t2.begin(s);
    expect(codes(again)).toEqual([]);
    expect(again.verdict).toBe('allow');
  });

  it('T1 in flight, T2 blocked IN_FLIGHT; T1 declined: T2 is allowed', async () => {
    const { guard: t1 } = await t.open('T3');
    const { guard: t2 } = await t.open('T4');
    const s = { amount: 5200, currency: 'CNY', card: { pan: VISA }, orderId: 'PG20-O2' };
    const first = await t1.begin(s);
    expect(codes(await t2.begin(s))).toContain('IN_FLIGHT');
    await first.attempt!.decline({ code: '51' });
    const again = await t2.begin(s);
    expect(codes(again)).toEqual([]);
    expect(again.verdict).toBe('allow');
  });
});
