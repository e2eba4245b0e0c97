/**
 * atk14: the start-up's journal entries (buffered in ctx.starting, flushed by journalStarted) on a
 * shared store, when the guard closes (or the process dies) right after its start, cut off or
 * not, and the first append fails (SPEC §12: seq gap-free per terminal, nothing lost or doubled).
 *
 * P18 'a start cut off, closed (or killed) at once, then a start back on the database: each start's
 *     entries land once, in order, on one chain that verifies' — for close/kill × cut off or not.
 * P19 'the first journal append of a start fails: the rest of its entries still land, once'.
 *     (On a memoryStore the failed entry is lost and a storage-error says so: the journal is not
 *     the write-ahead record. Pinned: no entry is doubled and the chain still verifies.)
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, verifyJournal, type GuardStore, type JournalEntry } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { flush, lanes } from '../helpers/lanes.js';

const SECRET = 'shared-lanes-test-secret-0123456789ab';
const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk14_journal' } };

describe('atk14: a start’s journal entries when the guard closes or dies at once', () => {
  for (const end of ['close', 'kill'] as const) {
    for (const cutOff of [true, false]) {
      it(`P18: ${cutOff ? 'cut off' : 'connected'}, ${end} right after the start: each start's entries land once, on one chain`, async () => {
        const { time, db, open } = lanes();
        await open(time.terminal(), 'T1');
        const t2 = time.terminal();
        const local = memoryStore();
        const crashed = await open(t2, 'T2', { store: sharedStore(db.remote('T2'), { local }) });
        const d = await crashed.begin(sale); // then the process dies mid-charge
        await flush();
        t2.restart();
        if (cutOff) db.disconnect('T2');
        const store2 = sharedStore(db.remote('T2'), { local });
        const g2 = await createGuard({
          merchantId: 'M1',
          terminalId: 'T2',
          secret: SECRET,
          store: store2,
          clock: t2.clock,
          scheduler: t2.scheduler,
        });
        if (end === 'close') await g2.close();
        else await flush();
        // Next start, the database back.
        db.reconnect('T2');
        t2.restart();
        const store3 = sharedStore(db.remote('T2'), { local });
        const g3 = await createGuard({
          merchantId: 'M1',
          terminalId: 'T2',
          secret: SECRET,
          store: store3,
          clock: t2.clock,
          scheduler: t2.scheduler,
        });
        await store3.settled();
        await time.advance(5_000);
        await flush();
        await g3.close();
        const entries: JournalEntry[] = db
          .journal('M1')
          .filter(({ terminalId }) => terminalId === 'T2')
          .map(({ entry }) => entry);
        expect(verifyJournal(entries, { secret: SECRET })).toMatchObject({ ok: true });
        const starts = entries.filter((e) => e.type === 'start');
        expect(starts).toHaveLength(3); // the crashed process's, g2's, g3's
        // Each start reports the charge it found in flight (the stored record stays `pending`: every
        // start finds it so, by design), g2's and g3's: once each.
        const unknowns = entries.filter((e) => e.type === 'settle' && e.attemptId === d.attempt!.id && e.to === 'unknown');
        expect(unknowns).toHaveLength(2);
        expect(new Set(entries.map((e) => e.seq)).size).toBe(entries.length);
      });
    }
  }
});

describe('atk14: a start whose first journal append fails', () => {
  it('P19: the rest of its entries land once, and the chain verifies', async () => {
    const inner = memoryStore();
    let failNext = false;
    const store: GuardStore = {
      ...inner,
      appendJournal: (entry, seal) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('disk full'));
        }
        return inner.appendJournal(entry, seal);
      },
    };
    const crashed = await createGuard({ merchantId: 'M1', secret: SECRET, store });
    const d = await crashed.begin(sale);
    await crashed.begin({ ...sale, amount: 2_000 });
    const before = inner.journal().length;
    failNext = true;
    const g = await createGuard({ merchantId: 'M1', secret: SECRET, store });
    const errors: unknown[] = [];
    g.on('storage-error', (e) => void errors.push(e.operation));
    await flush();
    await new Promise((r) => setTimeout(r, 5));
    const added = inner.journal().slice(before);
    expect(errors).toEqual(['appendJournal']);
    // Three entries were started (two in flight, the start): the first is lost, the others land once.
    expect(added.map((e) => e.type)).toEqual(['settle', 'start']);
    expect(added[0]!.attemptId).not.toBe(d.attempt!.id);
    expect(verifyJournal(inner.journal(), { secret: SECRET })).toMatchObject({ ok: true });
    await g.close();
  });
});
