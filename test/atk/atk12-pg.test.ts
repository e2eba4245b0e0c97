/**
 * atk12 on real PostgreSQL: refunds outside the guard with a processorRef on
 * two terminals, and the journal's terminal hold check (pg_stat_get_activity)
 * with the listening connection killed while journal writes are under way.
 */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createGuard, verifyJournal, type Guard, type JournalEntry } from '../../src/index.js';
import { DEFAULT_SCHEMA, postgresStore, type PostgresStore } from '../../src/postgres.js';
import { memoryStore } from '../../src/stores/memory.js';
import type { GuardStore } from '../../src/types.js';
import { databaseBehindProxy } from '../helpers/postgres-fixture.js';

const SECRET = 'atk12-pg-secret-0123456789abcdef';
const MERCHANT = 'M-ATK12';
const database = databaseBehindProxy('atk12');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function terminal(terminalId: string, local: GuardStore = memoryStore(), pool: pg.Pool = database.db.pool({ max: 4 })) {
  const store = postgresStore({ pool, local, timeout: '2s', retry: '100ms' });
  const guard = await createGuard({ merchantId: MERCHANT, terminalId, secret: SECRET, store });
  return { guard, store, pool, local };
}

async function chain(terminalId: string): Promise<JournalEntry[]> {
  const { rows } = await database.db
    .pool({ max: 1 })
    .query<{ entry: string }>(`SELECT entry FROM ${DEFAULT_SCHEMA}.journal WHERE merchant_id = $1 AND terminal_id = $2 ORDER BY id`, [
      MERCHANT,
      terminalId,
    ]);
  return rows.map((r) => JSON.parse(r.entry) as JournalEntry);
}

async function allJournal(): Promise<{ terminal: string; entry: JournalEntry }[]> {
  const { rows } = await database.db
    .pool({ max: 1 })
    .query<{ terminal_id: string; entry: string }>(
      `SELECT terminal_id, entry FROM ${DEFAULT_SCHEMA}.journal WHERE merchant_id = $1 ORDER BY id`,
      [MERCHANT],
    );
  return rows.map((r) => ({ terminal: r.terminal_id, entry: JSON.parse(r.entry) as JournalEntry }));
}

async function approved(guard: Guard, token: string, amount = 1_000): Promise<string> {
  const d = await guard.begin({ amount, currency: 'CNY', card: { token } });
  await d.attempt!.approve();
  return d.attempt!.id;
}

async function settledAll(...stores: PostgresStore[]) {
  for (const s of stores) await s.settled().catch(() => undefined);
  await sleep(300);
}

describe('atk12: processorRef on PostgreSQL', () => {
  it('two terminals tap the same reference at once, then again after a restart: counted once, one refund in the journal', async () => {
    const t1 = await terminal('PG-A');
    const t2 = await terminal('PG-B');
    const saleId = await approved(t1.guard, 'tok-atk12-pg-1');
    await settledAll(t1.store, t2.store);
    expect((await t2.guard.get(saleId))?.status).toBe('approved');
    const o = { status: 'refunded', amount: 400, processorRef: 'pi_3PgRefund' } as const;
    await Promise.all([t1.guard.settle(saleId, o), t2.guard.settle(saleId, o), t1.guard.settle(saleId, o), t2.guard.settle(saleId, o)]);
    await settledAll(t1.store, t2.store);
    await t2.guard.close();
    const t3 = await terminal('PG-B');
    expect((await t3.guard.settle(saleId, o)).refunded).toBe(400);
    await settledAll(t1.store, t3.store);
    for (const g of [t1.guard, t3.guard]) expect((await g.get(saleId))?.refunded).toBe(400);
    const refunds = (await allJournal()).filter(
      ({ entry }) =>
        entry.attemptId === saleId && entry.type === 'settle' && entry.amount !== undefined && !entry.detail?.startsWith('over-refund'),
    );
    expect(refunds.map(({ entry }) => entry.amount)).toEqual([400]);
    for (const id of ['PG-A', 'PG-B']) expect(verifyJournal(await chain(id), { secret: SECRET })).toMatchObject({ ok: true });
    await t1.guard.close();
    await t3.guard.close();
  });

  it('two terminals record two references at once: the journal says 300 and 200, not 300 and 500', async () => {
    const t1 = await terminal('PG-C');
    const t2 = await terminal('PG-D');
    const saleId = await approved(t1.guard, 'tok-atk12-pg-2');
    await settledAll(t1.store, t2.store);
    expect((await t2.guard.get(saleId))?.status).toBe('approved');
    await Promise.all([
      t1.guard.settle(saleId, { status: 'refunded', amount: 300, processorRef: 'ref-c' }),
      t2.guard.settle(saleId, { status: 'refunded', amount: 200, processorRef: 'ref-d' }),
    ]);
    await settledAll(t1.store, t2.store);
    for (const g of [t1.guard, t2.guard]) expect((await g.get(saleId))?.refunded).toBe(500);
    const amounts = (await allJournal())
      .filter(({ entry }) => entry.attemptId === saleId && entry.type === 'settle' && entry.amount !== undefined)
      .map(({ entry }) => entry.amount as number)
      .sort((a, b) => a - b);
    expect(amounts).toEqual([200, 300]);
    await t1.guard.close();
    await t2.guard.close();
  });
});

describe('atk12: the journal hold check on PostgreSQL', () => {
  it('the listening backend terminated in the middle of a burst of journal writes, another till takes the id at once: no fork, nothing lost', async () => {
    const a = await terminal('HOLD-1');
    a.guard.on('storage-error', () => undefined);
    await approved(a.guard, 'tok-hold-0');
    await a.store.settled();
    const admin = database.db.pool({ max: 2 });
    // A's burst: 8 charges, each journaling several entries.
    const burst = (async () => {
      for (let i = 1; i <= 8; i++) {
        await approved(a.guard, `tok-hold-${i}`).catch(() => undefined);
        await sleep(5);
      }
    })();
    await sleep(30);
    // Kill the session holding HOLD-1's lock (A's listening connection) while A is journaling.
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query LIKE '%pg_try_advisory_lock%' AND datname = current_database()`,
    );
    // B grabs the id as soon as it can.
    let b: Awaited<ReturnType<typeof terminal>> | undefined;
    for (let i = 0; i < 40 && !b; i++) {
      b = await terminal('HOLD-1').catch(() => undefined);
      if (!b) await sleep(50);
    }
    await burst;
    expect(b).toBeDefined();
    if (b) {
      for (let i = 0; i < 4; i++) await approved(b.guard, `tok-hold-b-${i}`);
      await b.store.settled();
    }
    const during = await chain('HOLD-1');
    expect(verifyJournal(during, { secret: SECRET })).toMatchObject({ ok: true });
    // B goes: A holds the id again and sends everything it kept.
    await b?.guard.close();
    await sleep(1_500);
    await a.store.settled().catch(() => undefined);
    await sleep(1_000);
    await a.store.settled().catch(() => undefined);
    const after = await chain('HOLD-1');
    expect(verifyJournal(after, { secret: SECRET })).toMatchObject({ ok: true });
    // Every sale A charged (9) is journaled on the chain.
    const approvedOfA = new Set(after.filter((e) => e.type === 'settle' && e.to === 'approved').map((e) => e.attemptId));
    expect(approvedOfA.size).toBeGreaterThanOrEqual(9 + (b ? 4 : 0));
    await a.guard.close();
    await admin.end();
  });

  it('the till paused (its network stalls) while another takes its id after the server drops it: it seals nothing on the other’s chain', async () => {
    const a = await terminal('HOLD-2', memoryStore(), database.db.pool({ max: 4, port: database.proxy.port }));
    a.guard.on('storage-error', () => undefined);
    await approved(a.guard, 'tok-pause-0');
    await a.store.settled();
    database.proxy.pause();
    // A keeps working while stalled (its writes hang, its local keeps them).
    const stalled = approved(a.guard, 'tok-pause-1').catch(() => undefined);
    await sleep(200);
    const admin = database.db.pool({ max: 1 });
    // The server gives up on A's sessions (as keepalives would): all of them.
    await admin
      .query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database() AND client_port IS NOT NULL AND application_name = ''`,
      )
      .catch(() => undefined);
    const b = await terminal('HOLD-2').catch(() => undefined);
    expect(b).toBeDefined();
    if (b) {
      for (let i = 0; i < 3; i++) await approved(b.guard, `tok-pause-b-${i}`);
      await b.store.settled();
    }
    database.proxy.restore();
    await stalled;
    await approved(a.guard, 'tok-pause-2').catch(() => undefined);
    await a.store.settled().catch(() => undefined);
    await sleep(500);
    expect(verifyJournal(await chain('HOLD-2'), { secret: SECRET })).toMatchObject({ ok: true });
    await b?.guard.close();
    await sleep(1_500);
    await a.store.settled().catch(() => undefined);
    await sleep(500);
    const after = await chain('HOLD-2');
    expect(verifyJournal(after, { secret: SECRET })).toMatchObject({ ok: true });
    const approvedIds = new Set(after.filter((e) => e.type === 'settle' && e.to === 'approved').map((e) => e.attemptId));
    expect(approvedIds.size).toBeGreaterThanOrEqual(3 + (b ? 3 : 0));
    await a.guard.close();
    await admin.end();
  });
  it('A’s journal insert waits on a table lock while its listening backend is terminated and B takes the id: no fork, nothing lost', async () => {
    const a = await terminal('HOLD-3');
    a.guard.on('storage-error', () => undefined);
    await approved(a.guard, 'tok-lock-0');
    await a.store.settled();
    const locker = await database.db.pool({ max: 1 }).connect();
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${DEFAULT_SCHEMA}.journal IN SHARE MODE`);
    const pending = approved(a.guard, 'tok-lock-1').catch(() => undefined);
    await sleep(300);
    const admin = database.db.pool({ max: 1 });
    await admin.query(
      `SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_stat_activity s USING (pid)
        WHERE l.locktype = 'advisory' AND l.granted AND s.query LIKE '%pg_try_advisory_lock%' AND s.datname = current_database()`,
    );
    const starting = terminal('HOLD-3').catch(() => undefined);
    await sleep(500);
    await locker.query('COMMIT');
    locker.release();
    const b = await starting;
    expect(b).toBeDefined();
    await pending;
    if (b) {
      for (let i = 0; i < 2; i++) await approved(b.guard, `tok-lock-b-${i}`);
      await b.store.settled();
    }
    expect(verifyJournal(await chain('HOLD-3'), { secret: SECRET })).toMatchObject({ ok: true });
    await b?.guard.close();
    await sleep(1_500);
    await a.store.settled().catch(() => undefined);
    await sleep(500);
    await a.store.settled().catch(() => undefined);
    const after = await chain('HOLD-3');
    expect(verifyJournal(after, { secret: SECRET })).toMatchObject({ ok: true });
    const approvedIds = new Set(after.filter((e) => e.type === 'settle' && e.to === 'approved').map((e) => e.attemptId));
    expect(approvedIds.size).toBe(4);
    await a.guard.close();
    await admin.end();
  });
});
