/**
 * atk32: the journal trim with a tiny journalLimit, two tabs appending to
 * one chain, each trimming at every append (trimEvery is 1 below 11), and a
 * full load() trimming too: the chain kept must verify with the journal-from
 * the store wrote, whichever tab trimmed last.
 */
import { describe, expect, it } from 'vitest';
import { parseJournalFrom, parseJournalHead, verifyJournal } from '../../src/index.js';
import { indexedDbStore } from '../../src/idb.js';
import { freshDb, closedAfterEach, OPTIONS } from '../helpers/tabs.js';
import { createGuard } from '../../src/index.js';
import { ManualClock, SECRET, sale, VISA, MASTERCARD } from '../helpers/guard.js';

const open = closedAfterEach();

describe('tiny journalLimit, two tabs', () => {
  for (const limit of [1, 2, 3, 7]) {
    it(`journalLimit ${limit}: the kept chain verifies against journal-from and the head`, async () => {
      const db = freshDb();
      const stores = [indexedDbStore({ ...db, journalLimit: limit }), indexedDbStore({ ...db, journalLimit: limit })];
      const guards = [];
      for (const store of stores) {
        const guard = await createGuard({ ...OPTIONS, store, clock: new ManualClock() });
        open.push({ guard, store, clock: new ManualClock() });
        guards.push(guard);
      }
      // Interleaved begins in both tabs, some at once.
      for (let i = 0; i < 6; i++) {
        await Promise.all(
          guards.map((g, t) => g.begin(sale({ amount: 100 + i * 2 + t, card: { pan: t ? VISA : MASTERCARD } })).catch(() => undefined)),
        );
        if (i % 2) await stores[0]!.load();
      }
      await new Promise((r) => setTimeout(r, 30));
      const kept = await stores[1]!.journal();
      const head = parseJournalHead(await stores[1]!.getMeta('journal-head'));
      const from = parseJournalFrom(await stores[1]!.getMeta('journal-from'));
      expect(kept.length).toBeLessThanOrEqual(limit + 1);
      expect(verifyJournal(kept, { secret: SECRET, head, from })).toMatchObject({ ok: true, last: head });
    });
  }
});
