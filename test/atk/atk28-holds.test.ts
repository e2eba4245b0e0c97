/**
 * atk28 (holds): what held against 1b99ed8 — the clock watch and the recover
 * lease under close(), take-overs and a second store object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGuard, type RecoverAnswer } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { fileStore } from '../../src/node.js';
import { virtualTime } from '../../src/testing.js';
import { SECRET, deferred } from '../helpers/guard.js';
import { OPTIONS, codes, countedScheduler, freshDb, settle } from '../helpers/tabs.js';

const DAY = 86_400_000;
const sale = { amount: 3_770, currency: 'CNY', card: { token: 'tok_atk28_holds' } };

describe('atk28 holds', () => {
  it('close() while a recover call is out, then a take-over of the store: the late answer settles the attempt in the successor, and no timer is left once both closed', async () => {
    const db = freshDb();
    const time = virtualTime(Date.parse('2026-04-01T10:00:00Z'));
    const { live, scheduler } = countedScheduler(time);
    const hold = deferred<RecoverAnswer>();
    const store = indexedDbStore(db);
    const base = { ...OPTIONS, clock: time.clock, scheduler, recover: () => hold.promise, recoverAfter: '1h' };
    const a = await createGuard({ ...base, store });
    const d = await a.begin(sale);
    await d.attempt!.markUnknown();
    await time.advance(3 * 60_000);
    const first = a.recoverNow(d.attempt!.id);
    await settle();
    const closing = a.close();
    await settle();
    const b = await createGuard({ ...base, store });
    await time.advance(30_000);
    hold.resolve({ status: 'approved' });
    await first;
    await closing;
    await settle();
    const status = (await b.get(d.attempt!.id))?.status;
    await b.close();
    await settle();
    expect({ status, live: live.size }).toEqual({ status: 'approved', live: 0 });
  });

  it('fileStore opened again over the same file (a hot reload): the superseded guard’s 15-min watch stops, it is fenced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atk28-'));
    try {
      const path = join(dir, 'guard.json');
      const time = virtualTime(Date.parse('2026-04-01T10:00:00Z'));
      const first = countedScheduler(time);
      const base = { merchantId: 'M1', secret: SECRET, clock: time.clock };
      const g1 = await createGuard({
        ...base,
        store: fileStore(path),
        scheduler: first.scheduler,
        recover: async () => undefined,
        recoverAfter: '1h',
      });
      const d = await g1.begin(sale);
      await d.attempt!.markUnknown();
      await settle();
      await time.advance(5 * 60_000);
      expect(first.live.size).toBeGreaterThan(0);
      const g2 = await createGuard({ ...base, store: fileStore(path), scheduler: time.scheduler });
      await settle();
      await time.advance(3 * 60 * 60_000);
      await settle();
      const left = first.live.size;
      const g1get = await g1.get(d.attempt!.id).then(
        (r) => r?.status,
        (e: Error) => e.name,
      );
      await g2.close();
      await g1.close().catch(() => undefined);
      expect({ left, g1get }).toEqual({ left: 0, g1get: 'GuardStateError' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('contrast to the first finding: a tab opened after the holder’s 15-min look wrote the 9-day step keeps the unknown outcome, and the retry is held', async () => {
    const db = freshDb();
    const time = virtualTime(Date.parse('2026-04-01T10:00:00Z'));
    const open = () => createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: time.clock, scheduler: time.scheduler });
    const a = await open();
    const d = await a.begin(sale);
    await d.attempt!.markUnknown();
    await time.advance(3 * 60_000);
    await settle();
    time.jump(9 * DAY);
    await time.advance(16 * 60_000);
    await settle();
    const b = await open();
    const retry = await b.begin(sale);
    await a.close();
    await b.close();
    expect(codes(retry)).toContain('UNKNOWN_OUTCOME');
  });
});
