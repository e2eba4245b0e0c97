/**
 * atk5: at start-up a guard over a shared store turns "its own" pendings
 * into unknown (SPEC §6: the process that wrote it died mid-charge), and
 * leaves another live terminal's pending IN_FLIGHT until pendingTimeout by
 * the database's clock (SPEC §9).
 *
 * Mechanism (src/guard/start.ts, `ofAnotherTerminal`): "own" is decided by
 * the record's `terminalId` alone, and a record's terminalId is the SALE's
 * `terminalId` when given (src/sale.ts: `sale.terminalId ?? defaults.terminalId`),
 * and nothing at all when neither the sale nor the guard names one. So:
 * - two back-end instances sharing one history without a `terminalId`
 *   (optional; SPEC §9 "a POS back end runs several instances"): a restart
 *   of one takes every live pending of the other for its own;
 * - a lane whose sale names another lane's id (a handheld paying through the
 *   counter names the handheld): that lane's restart takes it for its own.
 * The live charge is then UNKNOWN_OUTCOME on the restarted lane at once
 * (a supervisor may override it and charge the sale again while the first
 * charge is still on its way), and its `recover` runs on a charge still in
 * flight (an inquiry finding nothing yet settles it `cancelled`, freeing the
 * sale everywhere).
 *
 * Fixed: on a store several terminals share, only a record under this
 * guard's own terminalId is its own at start-up (one without, or a guard
 * without one: left to pendingTimeout), and a sale naming another
 * terminal is refused (INVALID_SALE on terminalId), so every record there
 * carries the terminal that charges it.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore, type RecoverAnswer } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { flush, lanes } from '../helpers/lanes.js';

const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);

describe('atk5: whose pending is it, after a restart', () => {
  it('two instances without terminalId: a restart of one leaves the other’s live pending IN_FLIGHT', async () => {
    const { time, db, open } = lanes();
    const a = await open(time.terminal(), 'A', { terminalId: undefined });
    const tb = time.terminal();
    const b = await open(tb, 'B', { terminalId: undefined });
    const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk5_noterm' } };
    const d = await a.begin(sale); // instance A is charging it now
    expect(d.verdict).toBe('allow');
    await time.advance(1_000);
    await b.close();
    tb.restart();
    const b2 = await open(tb, 'B', { terminalId: undefined, store: sharedStore(db.remote('B'), { local: memoryStore() }) });
    await flush();
    const there = await b2.begin(sale);
    expect(codes(there)).toEqual(['IN_FLIGHT']); // actual: UNKNOWN_OUTCOME (a supervisor may override)
  });

  it('a sale naming another lane’s terminalId is refused (INVALID_SALE, terminalId) and records nothing: that lane’s restart cannot take it for its own', async () => {
    const calls: string[] = [];
    const recover = async (attempt: { id: string }): Promise<RecoverAnswer> => {
      calls.push(attempt.id);
      return { status: 'cancelled' }; // an inquiry that finds nothing yet
    };
    const { time, db, open } = lanes();
    const counter = await open(time.terminal(), 'T1');
    const th = time.terminal();
    const handheld = await open(th, 'T2', { recover, recoverAfter: '1s' });
    const sale = { amount: 2_000, currency: 'CNY', card: { token: 'tok_atk5_named' }, terminalId: 'T2' };
    await expect(counter.begin(sale)).rejects.toMatchObject({ name: 'GuardInputError', code: 'INVALID_SALE', field: 'terminalId' });
    expect(await db.remote('observer').load('M1', undefined)).toEqual([]);
    // Its own id, or none, is fine: the record carries the counter's.
    const d = await counter.begin({ ...sale, terminalId: 'T1' });
    expect(d.verdict).toBe('allow');
    await time.advance(1_000);
    await handheld.close();
    th.restart();
    const again = await open(th, 'T2', { recover, recoverAfter: '1s', store: sharedStore(db.remote('T2'), { local: memoryStore() }) });
    await flush();
    await time.advance(5_000); // 6 s into a charge whose timeout is 2 min
    await flush();
    expect(calls).toEqual([]); // the counter's live charge is not the handheld's to recover
    const there = await again.begin({ ...sale, terminalId: undefined });
    expect(codes(there)).toEqual(['IN_FLIGHT']);
  });
});
