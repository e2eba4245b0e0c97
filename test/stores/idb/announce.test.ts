/**
 * docs/idb-store.md: a hostile page of the origin that posts an `unpersisted`
 * record "can make tabs block or prompt a sale that nobody is charging (a
 * nuisance a supervisor can lift once it is `unknown`)". #adoptAnnounced
 * (src/guard.ts) checks the shape and that the status is live, but takes the
 * record's times as given: a `pending` whose `pendingSince` lies years ahead
 * never goes stale (statusAt: now - pendingSince is negative), so the sale is
 * IN_FLIGHT, which no supervisor can override, for as long as the tab lives.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HOUR, sale } from '../../helpers/guard.js';
import { freshDb, settle, tab, type Tab } from '../../helpers/tabs.js';

const tabs: Tab[] = [];
afterEach(async () => {
  await Promise.all(tabs.splice(0).map((t) => t.guard.close()));
});

describe('a forged announcement from another page of the origin', () => {
  it('becomes liftable (unknown) after pendingTimeout, however its times are forged', async () => {
    const db = freshDb();
    const till = await tab(db);
    tabs.push(till);
    const paid = await till.guard.begin(sale());
    await paid.attempt?.approve();
    till.clock.advance(HOUR); // yesterday's sale is long out of window
    expect((await till.guard.peek(sale())).verdict).toBe('allow');

    // The hostile page read the fingerprint from IndexedDB (same origin) and announces a charge "in flight".
    const [known] = await till.store.load();
    const now = till.clock.wall;
    const forged = {
      ...known,
      id: 'pdg_forged0000000000',
      idempotencyKey: 'pdg_forged0000000000',
      status: 'pending',
      approvedAt: undefined,
      createdAt: now,
      updatedAt: now,
      pendingSince: now + 10 * 365 * 24 * HOUR,
    };
    const channel = new BroadcastChannel(`pos-duplicate-guard:${db.name}`);
    channel.postMessage({ from: 'evil', unpersisted: forged });
    channel.close();
    await settle(50);
    expect((await till.guard.peek(sale())).reasons.map((r) => r.code)).toContain('IN_FLIGHT');

    till.clock.advance(3 * HOUR); // long past pendingTimeout (2m)
    const later = await till.guard.peek(sale());
    expect(later.reasons.map((r) => r.code)).not.toContain('IN_FLIGHT');
  });
});
