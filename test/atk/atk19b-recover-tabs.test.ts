/**
 * atk19b: SPEC §10 across tabs (one IndexedDB, one machine clock): never two
 * `recover` calls for one attempt at once, whatever the wall clock does
 * while one is out.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, type RecoverAnswer } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { virtualTime } from '../../src/scenarios/virtual-time.js';
import { deferred } from '../helpers/guard.js';
import { deadTabThenSetBack, freshDb, heldRecoverTabs, OPTIONS, untilSecondCall } from '../helpers/tabs.js';

const sale = { amount: 990, currency: 'CNY', card: { token: 'tok_19b_tabs' } };
const flush = () => new Promise((r) => setTimeout(r, 20));

describe('atk19b recover across tabs and a clock correction', () => {
  it('tab A’s inquiry is out; the machine clock is corrected 10 minutes forward (NTP); tab B’s "Check with the processor" does not call recover while A’s call is still out', async () => {
    const { time, hold, calls, tab } = heldRecoverTabs('2026-04-01T10:00:00Z');
    const a = await tab();
    const b = await tab();
    const decision = await a.begin(sale);
    await decision.attempt!.markUnknown();
    const id = decision.attempt!.id;
    await flush();
    const first = a.recoverNow(id);
    await flush();
    expect(calls.out).toBe(1);
    time.jump(10 * 60_000);
    const second = b.recoverNow(id);
    await flush();
    expect(calls.most).toBe(1);
    hold.resolve({ status: 'cancelled' });
    await Promise.all([first, second]);
    await a.close();
    await b.close();
  });
});

describe('atk19b recover: a tab opened after a forward correction no tab noticed', () => {
  it('tab A’s inquiry is out, the clock steps 10 minutes forward, tab B opens before any tab noticed: B’s "Check with the processor" does not call recover', async () => {
    const { time, hold, calls, tab } = heldRecoverTabs('2026-04-01T10:00:00Z');
    const a = await tab();
    const decision = await a.begin(sale);
    await decision.attempt!.markUnknown();
    const id = decision.attempt!.id;
    const first = a.recoverNow(id);
    await flush();
    time.jump(10 * 60_000);
    const b = await tab();
    const second = b.recoverNow(id);
    await flush();
    hold.resolve({ status: 'cancelled' });
    await Promise.all([first, second]);
    await a.close();
    await b.close();
    expect(calls.most).toBe(1);
  });
});

describe('atk19b recover: a tab opened after a forward correction, while the call stays out', () => {
  it('tab A’s inquiry stays out 100 s after a 10-minute forward step; tab B opened right after the step asks again and again: recover is called once', async () => {
    const { time, hold, calls, tab } = heldRecoverTabs('2026-04-01T10:00:00Z');
    const a = await tab();
    const decision = await a.begin(sale);
    await decision.attempt!.markUnknown();
    const id = decision.attempt!.id;
    // Past pendingTimeout (2 min): the watch its charge started is over, only the call's own is left.
    await time.advance(3 * 60_000);
    const first = a.recoverNow(id);
    await flush();
    time.jump(10 * 60_000);
    const b = await tab();
    const asks: Promise<unknown>[] = [];
    for (let s = 0; s < 10; s++) {
      asks.push(b.recoverNow(id));
      await time.advance(10_000);
      await flush();
    }
    expect(calls.most).toBe(1);
    hold.resolve({ status: 'cancelled' });
    await Promise.all([first, ...asks]);
    await flush();
    expect([(await a.get(id))?.status, (await b.get(id))?.status]).toEqual(['cancelled', 'cancelled']);
    await a.close();
    await b.close();
  });

  it('tab A dies with its inquiry out: tab B takes the lease over once it has run out, and asks the processor itself', async () => {
    const { time, calls, tab } = heldRecoverTabs('2026-04-01T10:00:00Z');
    // A's page is gone mid-call: none of its timers ever fires (it never gives its lease back).
    const a = await tab({ scheduler: { after: () => () => undefined } });
    const decision = await a.begin(sale);
    await decision.attempt!.markUnknown();
    const id = decision.attempt!.id;
    void a.recoverNow(id);
    await flush();
    const b = await tab();
    const waited = await untilSecondCall(time, calls, () => b.recoverNow(id).catch(() => undefined));
    expect(calls.most).toBe(2);
    // Not before the lease ran out (120 s); soon after it (B has been open 70 s by then), with slack
    // for a loaded machine whose IndexedDB calls land a few asks late.
    expect(waited).toBeGreaterThan(120_000);
    expect(waited).toBeLessThanOrEqual(170_000);
  });
});

describe('atk19b recover of another live tab’s charge', () => {
  it('a tab that opens while another tab is charging does not call recover on that charge before it is stale (pendingTimeout), and a charge of the same sale in the new tab is not let through', async () => {
    const db = freshDb();
    const time = virtualTime(Date.parse('2026-04-01T10:00:00Z'));
    const asked: string[] = [];
    const recover = (attempt: { id: string }): RecoverAnswer => {
      asked.push(attempt.id);
      // The processor has not finished the charge (the customer is entering a PIN): "not found".
      return { status: 'cancelled' };
    };
    const tab = () =>
      createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: time.clock, scheduler: time.scheduler, recover, recoverAfter: '5s' });
    const a = await tab();
    const answer = deferred<{ approved: true }>();
    const submits: string[] = [];
    const charging = a.charge(sale, (attempt) => {
      submits.push(attempt.id);
      return answer.promise;
    });
    await flush();
    expect(submits.length).toBe(1);
    // Another tab opens (a second window of the web POS), 20 s into tab A's charge.
    await time.advance(20_000);
    const b = await tab();
    await time.advance(10_000);
    await flush();
    const again = await b.charge(
      sale,
      async (attempt) => {
        submits.push(attempt.id);
        return { approved: true };
      },
      { confirm: () => true },
    );
    answer.resolve({ approved: true });
    await charging;
    expect({ secondApproved: again.status === 'approved', submits: submits.length }).toEqual({ secondApproved: false, submits: 1 });
    expect(asked).toEqual([]);
    await a.close();
    await b.close();
  });
});

describe('atk19b recover of a dead tab’s charge dated ahead by a clock set back', () => {
  it('tab A dies mid-charge, the clock is set back an hour, tab B opens: B asks the processor once the charge is stale (pendingTimeout after B saw it), not an hour later', async () => {
    const asked: string[] = [];
    const recover = (attempt: { id: string }): RecoverAnswer => {
      asked.push(attempt.id);
      return { status: 'cancelled' };
    };
    const { time, b, id } = await deadTabThenSetBack(sale, recover);
    await time.advance(60_000);
    await flush();
    expect(asked).toEqual([]);
    await time.advance(2 * 60_000);
    await flush();
    expect(asked).toEqual([id]);
    expect((await b.get(id))?.status).toBe('cancelled');
    await b.close();
  });
});
