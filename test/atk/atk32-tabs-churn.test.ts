/**
 * atk32: two tabs begin one sale at once while a third tab upgrades the
 * database (a newer release) or deletes it, at every task of the race.
 * Upgrades lose nothing: at most one tab may be allowed. A deletion is a
 * wipe: both tabs hear it and write back; then a new tab is still blocked.
 */
import { describe, expect, it, vi } from 'vitest';
import { asPromise } from '../helpers/raw-idb.js';
import { closedAfterEach, codes, deleteDatabase, freshDb, settle, tab } from '../helpers/tabs.js';
import { sale } from '../helpers/guard.js';

const open = closedAfterEach();
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function upgrade(db: { name: string; indexedDB: IDBFactory }): Promise<void> {
  const current = await asPromise(db.indexedDB.open(db.name));
  const version = current.version;
  current.close();
  (await asPromise(db.indexedDB.open(db.name, version + 1))).close();
}

describe('two tabs, one sale, a third tab changes the database', () => {
  for (const broadcast of [true, false]) {
    it(`upgrade at every task: never two allows (BroadcastChannel ${broadcast ? 'on' : 'off'})`, async () => {
      if (!broadcast) vi.stubGlobal('BroadcastChannel', undefined);
      for (let at = 0; at <= 30; at += 3) {
        const db = freshDb();
        const a = await tab(db);
        const b = await tab(db);
        open.push(a, b);
        const race = Promise.all([a.guard.begin(sale()), b.guard.begin(sale())]);
        for (let t = 0; t < at; t++) await tick();
        await upgrade(db);
        const verdicts = (await race).map((d) => d.verdict);
        expect(verdicts.filter((v) => v === 'allow').length, `at ${at}: ${verdicts.join()}`).toBeLessThanOrEqual(1);
        await settle(5);
        // A third tab opened now still sees the sale held, if one was allowed.
        if (verdicts.includes('allow')) {
          const c = await tab(db);
          open.push(c);
          expect((await c.guard.begin(sale())).verdict, `at ${at}`).toBe('block');
        }
      }
    });

    it(`deletion at every task: a tab opened afterwards is still blocked (BroadcastChannel ${broadcast ? 'on' : 'off'})`, async () => {
      if (!broadcast) vi.stubGlobal('BroadcastChannel', undefined);
      for (let at = 0; at <= 30; at += 3) {
        const db = freshDb();
        const a = await tab(db);
        const b = await tab(db);
        open.push(a, b);
        const race = Promise.all([a.guard.begin(sale()), b.guard.begin(sale())]);
        for (let t = 0; t < at; t++) await tick();
        await deleteDatabase(db);
        const decisions = await race;
        const verdicts = decisions.map((d) => d.verdict);
        await settle(30);
        if (verdicts.includes('allow')) {
          const c = await tab(db);
          open.push(c);
          const d = await c.guard.begin(sale());
          expect(d.verdict, `at ${at}: ${verdicts.join()} then ${codes(d).join()}`).toBe('block');
        }
      }
    });
  }
});
