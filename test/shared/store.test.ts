import { describe, expect, test, vi } from 'vitest';
import { createGuard, verifyJournal, type Guard, type GuardEvent } from '../../src/index.js';
import { sharedMemoryDatabase } from '../../src/shared/memory-remote.js';
import type { RemoteListener } from '../../src/shared/remote.js';
import type { GuardStore, StoreChange } from '../../src/types.js';
import { sharedStore } from '../../src/shared/store.js';
import { memoryStore } from '../../src/stores/memory.js';

const secret = 'shared-store-secret-0123456789';
const sale = { amount: 1250, currency: 'CNY', card: { token: 'tok_shared_1' } };

async function lanes(options: { local?: boolean; clockOffsets?: Record<string, number> } = {}) {
  const db = sharedMemoryDatabase(() => Date.now());
  const stores = new Map<string, ReturnType<typeof sharedStore>>();
  const guards = new Map<string, Guard>();
  const events: GuardEvent[] = [];
  for (const terminalId of ['T1', 'T2']) {
    const store = sharedStore(db.remote(terminalId), { ...(options.local ? { local: memoryStore() } : {}), retryMs: 20 });
    stores.set(terminalId, store);
    const offset = options.clockOffsets?.[terminalId] ?? 0;
    const guard = await createGuard({
      merchantId: 'M1',
      terminalId,
      secret,
      store,
      clock: { now: () => Date.now() + offset, monotonic: () => performance.now() },
    });
    guard.on('conflict', (e) => events.push(e));
    guards.set(terminalId, guard);
  }
  return { db, stores, events, t1: guards.get('T1') as Guard, t2: guards.get('T2') as Guard };
}

describe('sharedStore over the in-memory database', () => {
  test('two terminals beginning one sale at once: one allow, one IN_FLIGHT', async () => {
    const { t1, t2 } = await lanes();
    const [a, b] = await Promise.all([t1.begin(sale), t2.begin(sale)]);
    expect([a.verdict, b.verdict].sort()).toEqual(['allow', 'block']);
    expect([...a.reasons, ...b.reasons].map((r) => r.code)).toContain('IN_FLIGHT');
  });

  test('approved on T1, begun on T2 at once after: DUPLICATE_CHARGE without any notice', async () => {
    const { t1, t2 } = await lanes();
    const a = await t1.begin(sale);
    await a.attempt?.approve();
    const b = await t2.begin(sale);
    expect(b.verdict).toBe('prompt');
    expect(b.reasons.map((r) => r.code)).toContain('DUPLICATE_CHARGE');
  });

  test('another terminal whose clock is 5 minutes behind: its pending stays IN_FLIGHT here', async () => {
    const { t1, t2 } = await lanes({ clockOffsets: { T1: -300_000 } });
    await t1.begin(sale);
    const b = await t2.begin(sale);
    expect(b.reasons.map((r) => r.code)).toEqual(['IN_FLIGHT']);
  });

  test('cut off with local: SHARED_UNAVAILABLE, then the catch-up reports the double charge', async () => {
    const { db, stores, events, t1, t2 } = await lanes({ local: true });
    db.disconnect('T2');
    const b = await t2.begin(sale);
    expect(b.verdict).toBe('allow');
    expect(b.reasons.map((r) => r.code)).toEqual(['SHARED_UNAVAILABLE']);
    await b.attempt?.approve();
    const a = await t1.begin(sale);
    expect(a.verdict).toBe('allow');
    await a.attempt?.approve();
    db.reconnect('T2');
    await new Promise((r) => setTimeout(r, 60));
    await stores.get('T2')?.settled();
    expect(events).toEqual([{ type: 'conflict', code: 'DUPLICATE_CHARGE', attempts: [b.attempt?.id, a.attempt?.id] }]);
    // And T1 now sees T2's approval.
    const c = await t1.begin(sale);
    expect(c.reasons.map((r) => r.code)).toContain('DUPLICATE_CHARGE');
  });

  test('cut off without local: STORAGE_UNAVAILABLE, retried until it lands', async () => {
    const { db, t1, t2 } = await lanes();
    db.disconnect('T2');
    const b = await t2.begin(sale);
    expect(b.reasons.map((r) => r.code)).toContain('STORAGE_UNAVAILABLE');
    const allowed = await t2.override(b, { operator: 'op', reason: 'customer waiting' });
    expect(allowed.verdict).toBe('allow');
    db.reconnect('T2');
    await new Promise((r) => setTimeout(r, 80));
    const a = await t1.begin(sale);
    expect(a.reasons.map((r) => r.code)).toContain('IN_FLIGHT');
  });
});

describe('sharedStore, rows a notice carries', () => {
  test('name rows to read back, never rows to take: a notice is no proof (any role may NOTIFY), and a stale version reads nothing', async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    let listener: RemoteListener | undefined;
    const remote = db.remote('T2');
    const store = sharedStore({
      ...remote,
      listen: (merchantId, heard, options) => ((listener = heard), remote.listen(merchantId, heard, options)),
    });
    const t1 = await createGuard({ merchantId: 'M1', terminalId: 'T1', secret, store: sharedStore(db.remote('T1')) });
    await createGuard({ merchantId: 'M1', terminalId: 'T2', secret, store });
    const heard: StoreChange[] = [];
    store.subscribe?.((change) => heard.push(change));
    const { attempt } = await t1.begin(sale);
    await attempt?.approve();
    const told = () => heard.flatMap((c) => (c.type === 'record' ? [c.record.status] : []));
    await vi.waitFor(() => expect(told().at(-1)).toBe('approved'));
    const before = told().length;
    // The reservation's notice, late: its version is no longer the row's, and reads nothing.
    listener?.changed({ versions: [1], ids: [] });
    // A forged notice naming the row (by id, as an older store did) or a version nobody wrote: read back, it is what the database holds.
    listener?.changed({ versions: [Number.MAX_SAFE_INTEGER], ids: [attempt?.id as string] });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(told().slice(before)).toEqual(['approved']);
    // A real void is heard.
    await t1.settle(attempt?.id as string, { status: 'voided' });
    await vi.waitFor(() => expect(told().at(-1)).toBe('voided'));
  });
});

describe('sharedStore, the journal: each terminal its own chain (SPEC §12)', () => {
  const till = async (db: ReturnType<typeof sharedMemoryDatabase>, terminalId: string, local: GuardStore) => {
    const store = sharedStore(db.remote(terminalId), { local, retryMs: 20 });
    return { store, guard: await createGuard({ merchantId: 'M1', terminalId, secret, store }) };
  };
  /** A sale approved, then begun again (a held decision): two entries. */
  const charge = async (guard: Guard, token: string) => {
    const s = { ...sale, card: { token } };
    await (await guard.begin(s)).attempt?.approve();
    expect((await guard.begin(s)).verdict).toBe('prompt');
  };
  const verified = async (db: ReturnType<typeof sharedMemoryDatabase>, terminalId: string) =>
    verifyJournal(await db.remote('check').journal('M1', terminalId), { secret });

  test('both chains verify after normal work, a cut-off and its catch-up, and restarts (online, and cut off with a backlog)', async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    const [local1, local2] = [memoryStore(), memoryStore()];
    let t1 = await till(db, 'T1', local1);
    const t2 = await till(db, 'T2', local2);
    await charge(t1.guard, 'tok_j_1');
    await charge(t2.guard, 'tok_j_2');
    db.disconnect('T1');
    await charge(t1.guard, 'tok_j_3');
    expect(local1.journal().length).toBeGreaterThan(0);
    db.reconnect('T1');
    await t1.store.sync();
    await charge(t1.guard, 'tok_j_4');
    // Restarted online: the head comes from the database.
    await t1.guard.close();
    t1 = await till(db, 'T1', local1);
    await charge(t1.guard, 'tok_j_5');
    // Restarted while cut off, with entries kept in local: the head comes from them.
    db.disconnect('T1');
    await charge(t1.guard, 'tok_j_6');
    await t1.guard.close();
    t1 = await till(db, 'T1', local1);
    await charge(t1.guard, 'tok_j_7');
    db.reconnect('T1');
    await t1.store.sync();
    await Promise.all([t1.store.settled(), t2.store.settled()]);
    const [v1, v2] = [await verified(db, 'T1'), await verified(db, 'T2')];
    expect(v1).toMatchObject({ ok: true, unsealed: 0, from: 1 });
    expect(v2).toMatchObject({ ok: true, unsealed: 0, from: 1 });
    // Every entry on the chain, none twice: 7 sales of 2 entries on T1 (and what its restarts journal), 2 on T2.
    expect(v1.ok && [v1.last?.seq, v1.entries >= 14]).toEqual([v1.ok && v1.entries, true]);
    expect(v2.ok && [v2.last?.seq, v2.entries >= 2]).toEqual([v2.ok && v2.entries, true]);
  });

  test('cut off from start-up with nothing kept: entries wait for the head (and the seal, restarted), and go on from the database after it', async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    const local = memoryStore();
    const first = await till(db, 'T1', local);
    await charge(first.guard, 'tok_j_8');
    await first.guard.close();
    db.disconnect('T1');
    let t1 = await till(db, 'T1', local);
    await charge(t1.guard, 'tok_j_9');
    db.reconnect('T1');
    await t1.store.sync();
    await charge(t1.guard, 'tok_j_10');
    // Again, and restarted once the database is back, before the entries kept unsealed were sent:
    // they wait for the restarted guard's seal.
    db.disconnect('T1');
    await t1.guard.close();
    t1 = await till(db, 'T1', local);
    await charge(t1.guard, 'tok_j_11');
    await t1.guard.close();
    db.reconnect('T1');
    t1 = await till(db, 'T1', local);
    await charge(t1.guard, 'tok_j_12');
    await t1.store.sync();
    await t1.store.settled();
    const v = await verified(db, 'T1');
    expect(v).toMatchObject({ ok: true, unsealed: 0 });
    expect(v.ok && v.last?.seq).toBe(v.ok ? v.entries : -1);
  });
});

describe('sharedStore, the outbox an older release left in `local`', () => {
  test('bare ids (no skew kept with them) are still sent on reconnecting, with the skew measured then', async () => {
    const db = sharedMemoryDatabase(() => Date.now());
    const local = memoryStore();
    const clock = { now: () => Date.now(), monotonic: () => performance.now() };
    const first = await createGuard({ merchantId: 'M1', terminalId: 'T1', secret, clock, store: sharedStore(db.remote('T1'), { local }) });
    db.disconnect('T1');
    const { attempt } = await first.begin(sale);
    await attempt!.approve();
    // The outbox as a release before per-record skews wrote it: the ids alone.
    const saved = JSON.parse((await local.getMeta('shared-outbox')) ?? '[]') as unknown[];
    expect(saved).toEqual([[attempt!.id, expect.any(Number)]]);
    await local.setMeta('shared-outbox', JSON.stringify([attempt!.id]));
    db.reconnect('T1');
    const store = sharedStore(db.remote('T1'), { local, retryMs: 20 });
    const restarted = await createGuard({ merchantId: 'M1', terminalId: 'T1', secret, clock, store });
    await store.settled();
    const [row] = await db.remote('observer').get('M1', [attempt!.id]);
    expect(row?.record.status).toBe('approved');
    expect(Math.abs(row!.record.approvedAt! + row!.skew - Date.now())).toBeLessThan(5_000);
    expect(await local.getMeta('shared-outbox')).toBe('[]');
    await restarted.close();
  });
});
