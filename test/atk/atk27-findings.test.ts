/**
 * atk27 (findings): what broke against a40e153 (clock watch every 15 min
 * while an open attempt is held; recover lease read through stored steps,
 * first-seen rule, 70 s rule). Each test fails on that code.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CLOCK_STEPS } from '../../src/clock-steps.js';
import { createGuard, memoryStore, type Scheduler } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { virtualTime } from '../../src/scenarios/virtual-time.js';
import { SECRET } from '../helpers/guard.js';
import { OPTIONS, freshDb, heldRecoverTabs } from '../helpers/tabs.js';

const DAY = 86_400_000;
const sale = { amount: 990, currency: 'CNY', card: { token: 'tok_atk27_findings' } };
const other = (n: number) => ({ amount: 100 + n, currency: 'CNY', card: { token: `tok_atk27_other_${n}` } });
const flush = () => new Promise((r) => setTimeout(r, 20));

afterEach(() => vi.unstubAllGlobals());

describe('atk27 findings', () => {
  it('a tablet wakes from a 30 s sleep (step noticed and written), a minute later its clock is set back an hour (it ran an hour fast); tab A asks the processor; tab B, open all along, asks every 10 s: one call at once', async () => {
    const { time, hold, calls, tab } = heldRecoverTabs('2026-04-01T10:00:00Z');
    const a = await tab();
    const b = await tab();
    const d = await a.begin(sale);
    await d.attempt!.markUnknown();
    const id = d.attempt!.id;
    await time.advance(3 * 60_000);
    await flush();
    time.jump(30_000); // woke from a 30 s sleep: the wall clock moved on, the monotonic did not
    const o = await a.begin(other(1)); // A notices the step and writes it
    await o.attempt!.approve();
    await time.advance(60_000);
    await flush();
    time.jump(-60 * 60_000); // set back an hour
    await time.advance(60_000);
    await flush();
    const first = a.recoverNow(id).catch(() => undefined);
    await flush();
    let secondAt = -1;
    for (let s = 1; s <= 11; s++) {
      await time.advance(10_000);
      await flush();
      const before = calls.most;
      await Promise.race([b.recoverNow(id).catch(() => undefined), flush()]);
      await flush();
      if (calls.most > before && secondAt < 0) secondAt = s * 10; // seconds into A's call
    }
    const most = calls.most;
    hold.resolve({ status: 'cancelled' });
    await first;
    await Promise.all([a.close(), b.close()]);
    expect({ most, secondAt }).toEqual({ most: 1, secondAt: -1 });
  });

  it('an unknown outcome learnt from another tab, which is then closed: NTP sets the clock 9 days right, the browser dies 16 min later; after the restart the retry is still held', async () => {
    const db = freshDb();
    const time = virtualTime(Date.parse('2026-04-01T10:00:00Z'));
    const open = () => createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: time.clock, scheduler: time.scheduler });
    const b = await open(); // open before the charge, no open attempt: no watch
    const a = await open();
    const d = await a.begin(sale);
    await d.attempt!.markUnknown();
    await flush();
    await time.advance(60 * 60_000);
    await flush();
    await a.close(); // the tab that charged is closed; B holds the unknown outcome (BroadcastChannel)
    await flush();
    expect((await b.get(d.attempt!.id))?.status).toBe('unknown');
    time.jump(9 * DAY);
    await time.advance(16 * 60_000);
    await flush();
    const steps = await indexedDbStore(db).getMeta(CLOCK_STEPS);
    time.restart();
    const c = await open();
    const retry = await c.begin(sale);
    await c.close();
    expect({ steps: steps !== undefined, codes: retry.reasons.map((r) => r.code) }).toEqual({ steps: true, codes: ['UNKNOWN_OUTCOME'] });
  });

  it('a scheduler whose after() hands back a timer handle (no cancel): each charge made while an unknown is held starts one more 15-min chain, for good', async () => {
    const time = virtualTime(Date.parse('2026-02-20T09:00:00Z'));
    let set = 0;
    const scheduler: Scheduler = {
      after(ms, task) {
        set++;
        time.scheduler.after(ms, task);
        return 42 as unknown as () => void;
      },
    };
    const g = await createGuard({ merchantId: 'M1', secret: SECRET, store: memoryStore(), clock: time.clock, scheduler });
    const held = await g.begin(other(0));
    await held.attempt!.markUnknown();
    await time.advance(10 * 60_000);
    let base = set;
    await time.advance(60 * 60_000);
    const before = set - base; // 4: one look every 15 min
    for (let i = 1; i <= 4; i++) {
      const d = await g.begin(other(i));
      await d.attempt!.approve();
      await time.advance(20 * 60_000);
    }
    base = set;
    await time.advance(60 * 60_000);
    const after = set - base;
    await g.close();
    expect(before).toBe(4);
    expect(after).toBeLessThanOrEqual(5);
  });
});
