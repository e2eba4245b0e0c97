/**
 * atk32: another tab upgrades (a newer release) or deletes the database at
 * every task of a tab's start-up (createGuard: open, instance read, load,
 * key check, journal). The till should start, or fail in a way it can retry;
 * never hang.
 */
import { describe, expect, it } from 'vitest';
import { createGuard } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { asPromise } from '../helpers/raw-idb.js';
import { OPTIONS, deleteDatabase, freshDb } from '../helpers/tabs.js';
import { ManualClock, sale } from '../helpers/guard.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const within = <T>(p: Promise<T>, ms = 3000): Promise<T | 'hung'> =>
  Promise.race([p, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms).unref())]);

async function upgrade(db: { name: string; indexedDB: IDBFactory }): Promise<void> {
  const current = await asPromise(db.indexedDB.open(db.name));
  const version = current.version;
  current.close();
  (await asPromise(db.indexedDB.open(db.name, version + 1))).close();
}

describe('start-up while another tab changes the database', () => {
  for (const [what, change] of [
    ['upgrade', upgrade],
    ['delete', deleteDatabase],
  ] as const) {
    it(`${what} at every task: createGuard settles, and a started guard works`, async () => {
      const outcomes: string[] = [];
      for (let at = 0; at <= 60; at += 3) {
        const db = freshDb();
        const seed = indexedDbStore(db);
        await seed.load();
        await seed.close();
        const starting = createGuard({ ...OPTIONS, store: indexedDbStore(db), clock: new ManualClock() }).then(
          (g) => g,
          (e: { code?: string }) => e.code ?? 'error',
        );
        for (let t = 0; t < at; t++) await tick();
        await change(db);
        const guard = await within(starting);
        expect(guard, `at ${at}`).not.toBe('hung');
        if (typeof guard === 'string') {
          outcomes.push(`${at}:${guard}`);
          continue;
        }
        expect((await guard.begin(sale())).verdict, `at ${at}`).toBe('allow');
        await guard.close();
      }
      console.log(what, 'start-ups that failed:', outcomes.join(' ') || 'none');
    });
  }
});
