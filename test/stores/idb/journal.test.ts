/**
 * SPEC §12 on IndexedDB: one database is one journal, whichever tabs write
 * to it. Each entry is sealed against the head read in its own transaction,
 * and the head written in it, so two tabs make one gap-free chain; and every
 * way of tampering with the entries behind the store's back is named.
 */
import { describe, expect, it } from 'vitest';
import { parseJournalFrom, parseJournalHead, verifyJournal, type JournalEntry, type JournalVerification } from '../../../src/index.js';
import { indexedDbStore } from '../../../src/idb.js';
import { journalSeal } from '../../../src/journal/chain.js';
import { SECRET } from '../../helpers/guard.js';
import { asPromise, dump, rawPut, type Db } from '../../helpers/raw-idb.js';
import { freshDb, tab, type Tab } from '../../helpers/tabs.js';

async function sell(t: Tab, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const sale = { amount: 100 + i, currency: 'CNY', card: { token: `tok_${i}` } };
    await (await t.guard.begin(sale)).attempt?.approve();
    expect((await t.guard.begin(sale)).verdict).not.toBe('allow');
  }
}

async function verify(db: Db): Promise<JournalVerification> {
  const store = indexedDbStore(db);
  try {
    const head = parseJournalHead(await store.getMeta('journal-head'));
    return verifyJournal(await store.journal(), { secret: SECRET, head });
  } finally {
    await store.close();
  }
}

/** The journal's keys in order, as the store lists them. */
async function journalKeys(db: Db): Promise<string[]> {
  return [...(await dump(db)).keys()].filter((key) => key.startsWith('j:')).sort();
}

async function rawDelete(db: Db, key: string): Promise<void> {
  const connection = await asPromise(db.indexedDB.open(db.name));
  try {
    const tx = connection.transaction('guard', 'readwrite');
    tx.objectStore('guard').delete(key);
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    connection.close();
  }
}

/** Two tabs selling at the same time, then closed: an honest journal. */
async function twoTabs(): Promise<Db> {
  const db = freshDb();
  const [a, b] = [await tab(db), await tab(db)];
  await Promise.all([sell(a, 0, 4), sell(b, 10, 4)]);
  await Promise.all([a.guard.close(), b.guard.close()]);
  return db;
}

describe('IndexedDB journal chain', () => {
  it('two tabs writing at once make one gap-free chain, and the head is its last entry', async () => {
    const db = await twoTabs();
    const store = indexedDbStore(db);
    const entries = await store.journal();
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: entries.length }, (_, i) => i + 1));
    expect(entries.filter((e) => e.type === 'decision')).toHaveLength(8);
    expect(parseJournalHead(await store.getMeta('journal-head'))).toStrictEqual({ seq: entries.length, hash: entries.at(-1)?.hash });
    await store.close();
    expect(await verify(db)).toMatchObject({ ok: true, entries: entries.length, from: 1, unsealed: 0 });
  });

  it('names an edited entry', async () => {
    const db = await twoTabs();
    const key = (await journalKeys(db))[4] as string;
    await rawPut(db, key, { ...((await dump(db)).get(key) as JournalEntry), operator: 'someone-else' });
    expect(await verify(db)).toStrictEqual({ ok: false, seq: 5, problem: 'edited' });
  });

  it('names a missing entry', async () => {
    const db = await twoTabs();
    await rawDelete(db, (await journalKeys(db))[2] as string);
    expect(await verify(db)).toStrictEqual({ ok: false, seq: 3, problem: 'missing' });
  });

  it('names two entries swapped', async () => {
    const db = await twoTabs();
    const [k1, k2] = (await journalKeys(db)).slice(1, 3) as [string, string];
    const data = await dump(db);
    await rawPut(db, k1, data.get(k2));
    await rawPut(db, k2, data.get(k1));
    expect(await verify(db)).toStrictEqual({ ok: false, seq: 2, problem: 'reordered' });
  });

  it('names an inserted entry, even one sealed with the wrong key', async () => {
    const db = await twoTabs();
    const keys = await journalKeys(db);
    const data = await dump(db);
    // Every entry from the fourth on moves one key up; a forgery takes the fourth's place, sealed under another secret.
    for (let i = keys.length - 1; i >= 3; i--) await rawPut(db, `j:~${(i + 2).toString(36).padStart(9, '0')}`, data.get(keys[i] as string));
    const previous = data.get(keys[2] as string) as { seq: number; hash: string };
    const forged = journalSeal('another-secret-0123456789')({ at: 1, type: 'override', reason: 'forged' }, previous);
    await rawPut(db, keys[3] as string, forged);
    expect(await verify(db)).toStrictEqual({ ok: false, seq: 4, problem: 'edited' });
  });

  it('names a cut tail against the head', async () => {
    const db = await twoTabs();
    const keys = await journalKeys(db);
    for (const key of keys.slice(-2)) await rawDelete(db, key);
    expect(await verify(db)).toStrictEqual({ ok: false, seq: keys.length - 1, problem: 'truncated' });
  });

  it('reads the entries of a release before the chain first, unsealed, then the chain from seq 1', async () => {
    const db = freshDb();
    const created = indexedDbStore(db);
    await created.getMeta('x');
    await created.close();
    await rawPut(db, 'j:00000000a-abc1', { at: 10, type: 'start', detail: 'loaded 0' });
    const t = await tab(db);
    await sell(t, 0, 1);
    await t.guard.close();
    expect(await verify(db)).toMatchObject({ ok: true, unsealed: 1, from: 1 });
  });

  it('trimmed past journalLimit, verifies from the first entry kept, with `rotated`', async () => {
    const { kept, head } = await trimmed();
    expect(kept.length).toBeLessThan(40);
    expect(verifyJournal(kept, { secret: SECRET, head, rotated: true })).toMatchObject({ ok: true, from: kept[0]?.seq, last: head });
    expect(verifyJournal(kept, { secret: SECRET, head })).toStrictEqual({ ok: false, seq: 1, problem: 'missing' });
  });

  it('trimmed past journalLimit, keeps journal-from: the first entries kept dropped by hand read as missing, not as trimmed', async () => {
    const { kept, head, from } = await trimmed();
    expect(from).toBe(kept[0]?.seq);
    expect(verifyJournal(kept, { secret: SECRET, head, from })).toMatchObject({ ok: true, from, last: head });
    // Someone deletes the first three entries the trim kept: with journal-from that is a gap, not a trim.
    expect(verifyJournal(kept.slice(3), { secret: SECRET, head, from })).toStrictEqual({ ok: false, seq: from, problem: 'missing' });
  });

  it('trimmed past journalLimit, then written to by a tab of a release before the chain, still verifies with `rotated`', async () => {
    // An old tab's unsealed entries sort before the chain's keys, so a
    // trimmed journal reads [unsealed…, anchor at seq k > 1, …]: honest.
    // No seal: a tab of a release before the chain.
    const { kept, head } = await trimmed((store) => store.appendJournal({ at: 41, type: 'settle', detail: 'from an old tab' }));
    expect(kept[0]).toMatchObject({ detail: 'from an old tab' });
    expect(verifyJournal(kept, { secret: SECRET, head, rotated: true })).toMatchObject({
      ok: true,
      unsealed: 1,
      from: kept[1]?.seq,
      last: head,
    });
  });
});

/** 40 sealed entries in a store of `journalLimit` 10, trimmed by a load; `then` writes more before it is read back. */
async function trimmed(then?: (store: ReturnType<typeof indexedDbStore>) => Promise<void>) {
  const db = freshDb();
  const t = await tab(db, undefined, {});
  await t.guard.close();
  const store = indexedDbStore({ ...db, journalLimit: 10 });
  const seal = journalSeal(SECRET);
  for (let i = 0; i < 40; i++) await store.appendJournal({ at: i, type: 'settle', detail: `e${i}` }, seal);
  await store.load(); // trims to the limit
  await then?.(store);
  const kept = await store.journal();
  const head = parseJournalHead(await store.getMeta('journal-head'));
  const from = parseJournalFrom(await store.getMeta('journal-from'));
  await store.close();
  return { kept, head, from };
}
