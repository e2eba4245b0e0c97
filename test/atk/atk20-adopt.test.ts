/**
 * atk20: tabs.ts adopt now takes another tab's `approved` (or `refunded`)
 * version of an attempt this tab is charging. But the `charging` entry is
 * kept, so a later version from the other tab (a void: the reversal of
 * that approval) is refused again by the old branch (charging.set, return):
 * the charging tab keeps "approved" while the database says "voided", the
 * processor's approval then lands as a retried settle (settledThere: no
 * change), and the charging entry is never cleared.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Sale, SubmitResult } from '../../src/index.js';
import { deferred, sale } from '../helpers/guard.js';
import { freshDb, settle, tab, type Tab } from '../helpers/tabs.js';
import { ManualClock } from '../helpers/guard.js';

const open: Tab[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.guard.close().catch(() => undefined)));
  vi.unstubAllGlobals();
});

/**
 * Tab A charging `s` (its processor's answer held back) and tab B opened
 * meanwhile, which reports A's pending unknown: the attempt's id and both
 * tabs, on one clock.
 */
async function chargingInA(channel: boolean, s: Sale) {
  if (!channel) vi.stubGlobal('BroadcastChannel', undefined);
  const db = freshDb();
  const clock = new ManualClock();
  const a = await tab(db, clock);
  open.push(a);
  const answer = deferred<SubmitResult>();
  let id: string | undefined;
  const charging = a.guard.charge(s, (attempt) => ((id = attempt.id), answer.promise));
  for (let i = 0; i < 50 && id === undefined; i++) await settle(2);
  expect(id).toBeDefined();
  const b = await tab(db, clock);
  open.push(b);
  return { a, b, clock, answer, charging, id: id as string };
}

for (const channel of [true, false]) {
  describe(`atk20 adopt while charging (${channel ? 'with' : 'without'} BroadcastChannel)`, () => {
    it("tab B (which took A for dead) settles the attempt approved and then voids it; A's processor then answers approved: the attempt the charge returns reads voided, and A reads voided like the database", async () => {
      const s = sale({ amount: 7300, orderId: 'ORD-20-ADOPT' });
      // Tab B opens meanwhile: it reports A's pending unknown; its supervisor checks by hand and records what it finds.
      const { a, b, answer, charging, id } = await chargingInA(channel, s);
      await b.guard.settle(id, { status: 'approved', authCode: 'INQ1' });
      await settle(20);
      await b.guard.settle(id, { status: 'voided' });
      await settle(20);
      answer.resolve({ approved: true, authCode: 'A1' });
      const result = await charging;
      await settle(20);
      expect.soft(result.attempt?.status).toBe('voided'); // ChargeResult status 'declined'
      expect.soft((await a.guard.get(id))?.status).toBe('voided');
      // Voided is as if it never happened: the customer pays again in tab A, not "already charged".
      expect.soft((await a.guard.begin(s)).verdict).toBe('allow');
      expect((await b.guard.get(id))?.status).toBe('voided');
    });

    it("tab B settles the attempt approved by hand, A's processor agrees (approved), then B voids it: A adopts the void and lets the order be paid again (no charging entry left behind)", async () => {
      const s = sale({ amount: 7400, orderId: 'ORD-20-ADOPT2' });
      const { a, b, clock, answer, charging, id } = await chargingInA(channel, s);
      await b.guard.settle(id, { status: 'approved', authCode: 'INQ1' });
      await settle(20);
      answer.resolve({ approved: true, authCode: 'INQ1' });
      expect((await charging).status).toBe('approved');
      await settle(20);
      clock.advance(60_000);
      await b.guard.settle(id, { status: 'voided' });
      await settle(20);
      clock.advance(20_000);
      // Without BroadcastChannel, A learns of the void at its next reservation (docs/idb-store.md).
      expect((await a.guard.begin(s)).verdict).toBe('allow');
      expect((await a.guard.get(id))?.status).toBe('voided');
    });
    it("tab B settles the attempt approved by hand; A's processor then declines: the approval stands, and the decline is journaled and emitted as late-answer", async () => {
      const s = sale({ amount: 7500, orderId: 'ORD-20-ADOPT3' });
      const { a, b, answer, charging, id } = await chargingInA(channel, s);
      const late: unknown[] = [];
      a.guard.on('late-answer', (e) => late.push(e));
      await b.guard.settle(id, { status: 'approved', authCode: 'INQ1' });
      await settle(20);
      answer.resolve({ approved: false, code: '05' });
      const result = await charging;
      await settle(20);
      expect(result.attempt?.status).toBe('approved');
      expect((await b.guard.get(id))?.status).toBe('approved');
      expect(late.length).toBe(1);
    });
  });
}
