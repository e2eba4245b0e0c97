/**
 * atk7: #readOutbox (src/shared/store.ts, 0755604) takes the per-record skew
 * kept in `local`'s metadata (`shared-outbox`) as it is: `[id, skew]` with any
 * JSON value. A mangled skew (a string, or 1e400 which JSON.parse reads as
 * Infinity) is handed to HeldTimes.write on the catch-up, whose
 * `held + skew` / `database - skew` turns every time of the record into NaN
 * (a string concatenation, or Infinity - Infinity): the approval lands in the
 * shared database with createdAt/updatedAt/approvedAt null. Every lane then
 * reads an approved sale with no approval time, outside any window: the same
 * sale on lane 1 a few seconds later is `allow` (no DUPLICATE_CHARGE), a double
 * charge. Expected: an unreadable skew read as unknown (the reconnect's skew),
 * as `null` already is, or the store refusing to start.
 *
 * Fixed: a stored skew that is no safe integer is taken as unknown (the
 * skew measured on reconnecting), as a bare id is.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { flush, lanes } from '../helpers/lanes.js';

const card = { token: 'tok_atk7_meta' };

describe('atk7: an outbox meta value with a mangled skew', () => {
  it.each([['"x"'], ['1e400']])('skew %s: the approval still lands with its time', async (bad) => {
    const { time, db, open } = lanes();
    const g1 = await open(time.terminal(), 'T1');
    const t2 = time.terminal();
    const local = memoryStore();
    const g2 = await open(t2, 'T2', { store: sharedStore(db.remote('T2'), { local }) });
    db.disconnect('T2');
    const approvedAt = time.now();
    const s = await g2.begin({ amount: 1_000, currency: 'CNY', card });
    await g2.settle(s.attempt!.id, { status: 'approved', authCode: '123456' });
    const raw = await local.getMeta('shared-outbox');
    const mangled = raw!.replace(/,(-?\d+)\]/, `,${bad}]`);
    await local.setMeta('shared-outbox', mangled);
    t2.restart();
    db.reconnect('T2');
    const g3 = await open(t2, 'T2', { store: sharedStore(db.remote('T2'), { local }) });
    expect(mangled).not.toBe(raw);
    await time.advance(5_000);
    await flush();
    const [row] = await db.remote('observer').get('M1', [s.attempt!.id]);
    const again = await g1.peek({ amount: 1_000, currency: 'CNY', card });
    expect(again.reasons.map((x) => x.code)).toContain('DUPLICATE_CHARGE');
    expect(row?.record.status).toBe('approved');
    expect(Math.abs(row!.record.approvedAt! + row!.skew - approvedAt)).toBeLessThan(5_000);
    void g3;
  });
});
