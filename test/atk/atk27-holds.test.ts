/**
 * atk27 (holds): what held against a40e153 (clock watch every 15 min while an
 * open attempt is held; recover lease across tabs).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createGuard, memoryStore, type GuardStore } from '../../src/index.js';
import { virtualTime, type VirtualTime } from '../../src/testing.js';
import { SECRET } from '../helpers/guard.js';
import { countedScheduler, heldRecoverTabs } from '../helpers/tabs.js';

const sale = { amount: 990, currency: 'CNY', card: { token: 'tok_atk27_holds' } };
const other = (n: number) => ({ amount: 100 + n, currency: 'CNY', card: { token: `tok_atk27_h_${n}` } });
const flush = () => new Promise((r) => setTimeout(r, 20));

afterEach(() => vi.unstubAllGlobals());

function memory(store: GuardStore = memoryStore()) {
  const time: VirtualTime = virtualTime(Date.parse('2026-02-20T09:00:00Z'));
  const { live, scheduler } = countedScheduler(time);
  const open = () => createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler });
  return { time, live, store, open };
}

describe('atk27 holds: the clock watch', () => {
  it('charges made during the 15-min cadence: one watch timer at a time, the 15-min one after', async () => {
    const { time, live, open } = memory();
    const g = await open();
    const held = await g.begin(other(0));
    await held.attempt!.markUnknown();
    await time.advance(10 * 60_000);
    for (let i = 1; i <= 4; i++) {
      const d = await g.begin(other(i));
      expect(live.size).toBe(1);
      await d.attempt!.approve();
      await time.advance(20 * 60_000);
      expect(live.size).toBe(1);
    }
    await g.close();
    expect(live.size).toBe(0);
  });

  it("restart and hot-reload take-overs with an unknown held: one watch timer, the fenced guard's stopped", async () => {
    const { time, live, open } = memory();
    const g = await open();
    const held = await g.begin(other(0));
    await held.attempt!.markUnknown();
    await time.advance(3 * 60_000);
    const h = await open(); // hot reload
    expect(live.size).toBe(1);
    const i = await open();
    expect(live.size).toBe(1);
    await time.advance(60 * 60_000);
    expect(live.size).toBe(1);
    await i.close();
    await g.close().catch(() => undefined);
    await h.close().catch(() => undefined);
    expect(live.size).toBe(0);
  });

  it('a take-over whose load fails while an unknown is held and a charge is out: one watch timer in the guard handed back', async () => {
    const { time, live, store, open } = memory();
    const g = await open();
    const held = await g.begin(other(0));
    await held.attempt!.markUnknown();
    await time.advance(20 * 60_000);
    await g.begin(other(1));
    await time.advance(1_000);
    const load = store.load.bind(store);
    store.load = () => Promise.reject(new Error('EIO'));
    await open().catch(() => undefined);
    store.load = load;
    expect(live.size).toBe(1);
    await time.advance(30 * 60_000);
    expect(live.size).toBe(1);
    await g.close();
    expect(live.size).toBe(0);
  });

  it("the last open attempt settled in another tab: the first tab's 15-min looks stop", async () => {
    const { time, hold, tab } = heldRecoverTabs('2026-04-01T10:00:00Z');
    const c = countedScheduler(time);
    const a = await tab({ scheduler: c.scheduler, recover: undefined });
    const b = await tab({ recover: undefined });
    const d = await a.begin(sale);
    await d.attempt!.markUnknown();
    await time.advance(10 * 60_000);
    await flush();
    await b.settle(d.attempt!.id, { status: 'declined' });
    await flush();
    await time.advance(16 * 60_000);
    await flush();
    expect(c.live.size).toBe(0);
    hold.resolve({ status: 'cancelled' });
    await Promise.all([a.close(), b.close()]);
  });
});

describe('atk27 holds: the recover lease across tabs', () => {
  async function inquiryOut() {
    const env = heldRecoverTabs('2026-04-01T10:00:00Z');
    const a = await env.tab();
    const b = await env.tab();
    const d = await a.begin(sale);
    await d.attempt!.markUnknown();
    await env.time.advance(3 * 60_000);
    await flush();
    return { ...env, a, b, id: d.attempt!.id };
  }

  async function askEvery10s(
    b: { recoverNow(id: string): Promise<unknown> },
    id: string,
    time: VirtualTime,
    between?: (s: number) => void,
  ) {
    for (let s = 0; s < 11; s++) {
      between?.(s);
      await time.advance(10_000);
      await flush();
      await Promise.race([b.recoverNow(id).catch(() => undefined), flush()]);
      await flush();
    }
  }

  it('clock set back an hour before A takes its lease (no forward step stored): B asks every 10 s, one call', async () => {
    const { time, hold, calls, a, b, id } = await inquiryOut();
    time.jump(-60 * 60_000);
    await time.advance(5_000);
    const first = a.recoverNow(id).catch(() => undefined);
    await flush();
    await askEvery10s(b, id, time);
    const most = calls.most;
    hold.resolve({ status: 'cancelled' });
    await first;
    await Promise.all([a.close(), b.close()]);
    expect(most).toBe(1);
  });

  it("clock set back an hour 30 s into A's call (lease reads an hour long; first-seen rule): B asks every 10 s, one call", async () => {
    const { time, hold, calls, a, b, id } = await inquiryOut();
    const first = a.recoverNow(id).catch(() => undefined);
    await flush();
    await askEvery10s(b, id, time, (s) => s === 3 && time.jump(-60 * 60_000));
    const most = calls.most;
    hold.resolve({ status: 'cancelled' });
    await first;
    await Promise.all([a.close(), b.close()]);
    expect(most).toBe(1);
  });

  it("clock set back an hour, then set right (forward) during A's call: B asks every 10 s, one call", async () => {
    const { time, hold, calls, a, b, id } = await inquiryOut();
    time.jump(-60 * 60_000);
    await time.advance(5_000);
    const first = a.recoverNow(id).catch(() => undefined);
    await flush();
    await askEvery10s(b, id, time, (s) => s === 2 && time.jump(60 * 60_000));
    const most = calls.most;
    hold.resolve({ status: 'cancelled' });
    await first;
    await Promise.all([a.close(), b.close()]);
    expect(most).toBe(1);
  });

  it('double taps on recoverNow in both tabs, no BroadcastChannel: one call', async () => {
    vi.stubGlobal('BroadcastChannel', undefined);
    const { time, hold, calls, a, b, id } = await inquiryOut();
    const taps = [a.recoverNow(id), a.recoverNow(id), a.recoverNow(), b.recoverNow(id), b.recoverNow()].map((p) =>
      p.catch(() => undefined),
    );
    await flush();
    await time.advance(30_000);
    await flush();
    taps.push(
      b.recoverNow(id).catch(() => undefined),
      a.recoverNow(id).catch(() => undefined),
    );
    await flush();
    const most = calls.most;
    hold.resolve({ status: 'cancelled' });
    await Promise.all(taps);
    await Promise.all([a.close(), b.close()]);
    expect(most).toBe(1);
  });

  it("close() while A's call is out, and after the answer: no timer left in A", async () => {
    const { time, hold, tab } = heldRecoverTabs('2026-04-01T10:00:00Z');
    const c = countedScheduler(time);
    const a = await tab({ scheduler: c.scheduler });
    const d = await a.begin(sale);
    await d.attempt!.markUnknown();
    await time.advance(3 * 60_000);
    await flush();
    const first = a.recoverNow(d.attempt!.id).catch(() => undefined);
    await flush();
    const closing = a.close();
    await time.advance(5_000);
    hold.resolve({ status: 'cancelled' });
    await first;
    await closing;
    expect(c.live.size).toBe(0);
  });
});
