/**
 * atk13: double taps on every button of the guard API (memoryStore, IndexedDB tabs),
 * and a reload (a new guard over the same store) between the two taps.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createGuard, GuardError, memoryStore, type Guard, type MemoryStore, type RecoverAnswer } from '../../src/index.js';
import type { ReconcileReport } from '../../src/reconcile.js';
import { virtualTime } from '../../src/scenarios/virtual-time.js';
import { deferred, VISA } from '../helpers/guard.js';
import { deleteDatabase, freshDb, settle as wait, tab } from '../helpers/tabs.js';

const SECRET = 'atk13-taps-secret-0123456789abcdef';
const START = Date.parse('2026-03-01T09:00:00Z');
const sale = (amount = 1_000, pan = VISA) => ({ amount, currency: 'CNY', card: { pan } });

async function all<T>(ps: Promise<T>[]): Promise<(T | Error)[]> {
  return Promise.all(ps.map((p) => p.catch((e: unknown) => e as Error)));
}
function guardErrorsOnly(rs: unknown[]) {
  for (const r of rs) {
    if (r instanceof Error) {
      expect(r).toBeInstanceOf(GuardError);
      expect((r as GuardError).field).toBeDefined();
    }
  }
}

function setup(opts: { recover?: (a: { id: string }) => RecoverAnswer | Promise<RecoverAnswer> } = {}) {
  const time = virtualTime(START);
  const store = memoryStore();
  const make = (extra: Record<string, unknown> = {}) =>
    createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler, ...opts, ...extra });
  return { time, store, make };
}
const entries = (store: MemoryStore, id: string, type: string) => store.journal().filter((e) => e.attemptId === id && e.type === type);

const dbs: ReturnType<typeof freshDb>[] = [];
afterEach(async () => {
  for (const db of dbs.splice(0)) await deleteDatabase(db).catch(() => undefined);
});

describe('atk13: double taps, one guard over memoryStore', () => {
  it('override of the same prompt twice at once: one attempt, one override entry', async () => {
    const { store, make } = setup();
    const g = await make();
    const first = await g.begin(sale());
    await first.attempt!.approve();
    const p = await g.begin(sale());
    expect(p.verdict).toBe('prompt');
    const req = { operator: 'ann', reason: 'two coffees' };
    const rs = await all([g.override(p, req), g.override(p, req)]);
    guardErrorsOnly(rs);
    const allowed = rs.filter((r) => !(r instanceof Error) && r.verdict === 'allow');
    expect(allowed).toHaveLength(1);
    expect((await g.attempts({})).filter((a) => a.status === 'pending')).toHaveLength(1);
    expect(store.journal().filter((e) => e.type === 'override')).toHaveLength(1);
  });

  it('override, reload, the same (old) decision overridden on the new guard: no second attempt', async () => {
    const { make } = setup();
    const g1 = await make();
    const first = await g1.begin(sale());
    await first.attempt!.approve();
    const p = await g1.begin(sale());
    const req = { operator: 'ann', reason: 'two coffees' };
    const d1 = await g1.override(p, req);
    expect(d1.verdict).toBe('allow');
    const g2 = await make();
    const r = await all([g2.override(p, req)]);
    guardErrorsOnly(r);
    const open = (await g2.attempts({})).filter((a) => a.status === 'pending' || a.status === 'unknown');
    expect(open).toHaveLength(1);
  });

  it('settle approved twice at once, and again after a reload: one settle entry, one settle event', async () => {
    const { store, make } = setup();
    const g1 = await make();
    const d = await g1.begin(sale());
    const id = d.attempt!.id;
    const events: unknown[] = [];
    g1.on('settle', (e) => events.push(e));
    await Promise.all([g1.settle(id, { status: 'approved' }), g1.settle(id, { status: 'approved' })]);
    const g2 = await make();
    await g2.settle(id, { status: 'approved' });
    expect(events).toHaveLength(1);
    expect(entries(store, id, 'settle').filter((e) => e.to === 'approved')).toHaveLength(1);
  });

  it('resume twice at once: one pending, one GuardStateError; one resume entry', async () => {
    const { store, make } = setup();
    const g = await make();
    const d = await g.begin(sale());
    const id = d.attempt!.id;
    await d.attempt!.markUnknown();
    const rs = await all([g.resume(id), g.resume(id)]);
    guardErrorsOnly(rs);
    expect(rs.filter((r) => !(r instanceof Error))).toHaveLength(1);
    expect(entries(store, id, 'resume')).toHaveLength(1);
  });

  it('recoverNow twice at once, and during a scheduled try: recover is asked once per try, never twice at once', async () => {
    let running = 0;
    let most = 0;
    let calls = 0;
    const gate = deferred<RecoverAnswer>();
    const { time, make, store } = setup({
      recover: async () => {
        calls++;
        running++;
        most = Math.max(most, running);
        try {
          return await gate.promise;
        } finally {
          running--;
        }
      },
    });
    const g = await make({ recoverAfter: '5s' });
    const d = await g.begin(sale());
    const id = d.attempt!.id;
    await d.attempt!.markUnknown();
    await time.advance(5_000); // the scheduled try is now in progress (gate open)
    expect(calls).toBe(1);
    const taps = [g.recoverNow(id), g.recoverNow(id), g.recoverNow()];
    await time.advance(10);
    gate.resolve({ status: 'cancelled' });
    const rs = await all(taps);
    guardErrorsOnly(rs);
    expect(most).toBe(1);
    expect((await g.get(id))?.status).toBe('cancelled');
    expect(entries(store, id, 'settle').filter((e) => e.to === 'cancelled')).toHaveLength(1);
  });

  it('charge twice for one sale at once: submit called once', async () => {
    const { make } = setup();
    const g = await make();
    let submits = 0;
    const submit = async () => {
      submits++;
      await new Promise((r) => setTimeout(r, 5));
      return { approved: true as const, authCode: 'A1' };
    };
    const rs = await all([g.charge(sale(), submit), g.charge(sale(), submit)]);
    guardErrorsOnly(rs);
    expect(submits).toBe(1);
  });

  it('charge, reload, charge the same sale on the new guard: no second submit without a confirmation', async () => {
    const { make } = setup();
    const g1 = await make();
    let submits = 0;
    const submit = async () => {
      submits++;
      return { approved: true as const, authCode: 'A1' };
    };
    await g1.charge(sale(), submit);
    const g2 = await make();
    const r = await all([g2.charge(sale(), submit)]);
    guardErrorsOnly(r);
    expect(submits).toBe(1);
  });

  it('applyReconciliation twice at once, then again after a reload: applied once, one reconcile entry', async () => {
    const { store, make } = setup();
    const g1 = await make();
    const d = await g1.begin(sale());
    const id = d.attempt!.id;
    await d.attempt!.markUnknown();
    const report = {
      findings: [
        {
          code: 'UNKNOWN_NOT_CHARGED',
          attempts: [id],
          transactions: [],
          amount: 1_000,
          currency: 'CNY',
          action: 'settle-cancelled',
          match: 'exact',
        },
      ],
      totals: [],
    } as unknown as ReconcileReport;
    const rs = await all([g1.applyReconciliation(report), g1.applyReconciliation(report)]);
    guardErrorsOnly(rs);
    const g2 = await make();
    const r3 = await g2.applyReconciliation(report);
    const applied = [...rs, r3].filter((r): r is Awaited<ReturnType<Guard['applyReconciliation']>> => Array.isArray(r)).flat();
    expect(applied).toHaveLength(1);
    expect(store.journal().filter((e) => e.type === 'reconcile')).toHaveLength(1);
  });
});

describe('atk13: double taps across two IndexedDB tabs', () => {
  it('settle approved on both tabs at once (twice each): one settle entry from pending', async () => {
    const db = freshDb();
    dbs.push(db);
    const a = await tab(db);
    const b = await tab(db, a.clock);
    const d = await a.guard.begin(sale());
    const id = d.attempt!.id;
    await wait();
    await Promise.all([
      a.guard.settle(id, { status: 'approved' }),
      b.guard.settle(id, { status: 'approved' }),
      a.guard.settle(id, { status: 'approved' }),
      b.guard.settle(id, { status: 'approved' }),
    ]);
    await wait();
    const settles = (await a.store.journal()).filter((e) => e.attemptId === id && e.type === 'settle' && e.to === 'approved');
    expect(settles.map((e) => e.from)).toEqual(['pending']);
    await a.guard.close();
    await b.guard.close();
  });

  it('resume on both tabs at once: one pending, the rest GuardErrors with a field; one resume entry', async () => {
    const db = freshDb();
    dbs.push(db);
    const a = await tab(db);
    const b = await tab(db, a.clock);
    const d = await a.guard.begin(sale());
    const id = d.attempt!.id;
    await d.attempt!.markUnknown();
    await wait();
    const rs = await all([a.guard.resume(id), b.guard.resume(id), a.guard.resume(id), b.guard.resume(id)]);
    guardErrorsOnly(rs);
    expect(rs.filter((r) => !(r instanceof Error))).toHaveLength(1);
    await wait();
    expect((await a.store.journal()).filter((e) => e.attemptId === id && e.type === 'resume')).toHaveLength(1);
    await a.guard.close();
    await b.guard.close();
  });
});
