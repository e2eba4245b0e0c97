/**
 * From the adversarial review of postgresStore's per-terminal journal chain
 * (SPEC §12, docs/journal.md "Several terminals"): the head is read at
 * attach from the database's last entry of the terminal, and each terminal
 * seals alone. A till restarted while its previous run's last batch was on
 * its way sealed that batch's seqs again; two tills with one terminalId (or
 * none) sealed one chain from two heads, silently. Now a seq is taken once
 * per terminal (journal_seq: the loser seals again on the database's head),
 * a store holds its terminal (a session lock on its listening connection)
 * and a second till with the id is refused, and postgresStore requires a
 * terminalId.
 */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  createGuard,
  GuardConfigError,
  GuardStorageError,
  verifyJournal,
  type Guard,
  type GuardEvent,
  type JournalEntry,
  type Sale,
} from '../../../src/index.js';
import { DEFAULT_SCHEMA, postgresStore, type PostgresStore } from '../../../src/postgres.js';
import { memoryStore } from '../../../src/stores/memory.js';
import { databaseBehindProxy } from '../../helpers/postgres-fixture.js';

const SECRET = 'attack-journal-secret-0123456789';
const MERCHANT = 'M-ATTACK-J';

const database = databaseBehindProxy('terminal_chain');

const sale = (token: string): Sale => ({ amount: 1250, currency: 'CNY', card: { token } });

async function terminal(
  terminalId: string | undefined,
  pool: pg.Pool = database.db.pool({ max: 3 }),
): Promise<{ guard: Guard; store: PostgresStore; pool: pg.Pool }> {
  const store = postgresStore({ pool, local: memoryStore(), timeout: '1s', retry: '100ms' });
  const guard = await createGuard({ merchantId: MERCHANT, ...(terminalId === undefined ? {} : { terminalId }), secret: SECRET, store });
  return { store, guard, pool };
}

async function charge(guard: Guard, token: string): Promise<void> {
  await (await guard.begin(sale(token))).attempt?.approve();
  expect((await guard.begin(sale(token))).verdict).toBe('prompt');
}

async function chain(terminalId: string | null): Promise<JournalEntry[]> {
  const { rows } = await database.db
    .pool({ max: 1 })
    .query<{ entry: string }>(
      `SELECT entry FROM ${DEFAULT_SCHEMA}.journal WHERE merchant_id = $1 AND terminal_id IS NOT DISTINCT FROM $2 ORDER BY id`,
      [MERCHANT, terminalId],
    );
  return rows.map((r) => JSON.parse(r.entry) as JournalEntry);
}

describe('postgresStore: one sealer per terminal chain', () => {
  it('a terminal restarted while its last journal batch is still in flight seals its entries after that batch: nothing lost, the chain verifies', async () => {
    const first = await terminal('TR');
    await charge(first.guard, 'tok-jr-1');
    await first.store.settled();
    // Something holds the journal for a moment (a VACUUM FULL, a DBA's LOCK, a slow disk): inserts wait, reads do not.
    const locker = await database.db.pool({ max: 1 }).connect();
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${DEFAULT_SCHEMA}.journal IN SHARE MODE`);
    // The till's last sale: its journal batch is sent and waits on the lock.
    void charge(first.guard, 'tok-jr-2').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The till dies (power cut): the server still runs the INSERT it was sent, and commits it once the lock goes.
    // Its process is gone: its sockets are cut and it never reaches the database again.
    const dead = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const pool = first.pool as unknown as { connect: unknown; query: unknown; _clients: { connection: { stream: { destroy(): void } } }[] };
    pool.connect = () => Promise.reject(dead);
    pool.query = () => Promise.reject(dead);
    for (const client of pool._clients) client.connection.stream.destroy();
    // The till restarts and reads its head meanwhile.
    const restarted = await terminal('TR');
    await locker.query('COMMIT');
    locker.release();
    await charge(restarted.guard, 'tok-jr-3');
    await restarted.store.settled().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await restarted.store.settled().catch(() => undefined);
    const entries = await chain('TR');
    const seqs = entries.map((e) => e.seq);
    expect({ seqs, verified: verifyJournal(entries, { secret: SECRET }) }).toMatchObject({ verified: { ok: true } });
    // Both runs' start-ups and the restarted till's own sale are on the chain, after the batch that landed late: nothing lost.
    expect(entries.filter((e) => e.type === 'start')).toHaveLength(2);
    expect(entries.at(-1)).toMatchObject({ type: 'decision', verdict: 'prompt' });
    await Promise.all([restarted.guard.close(), first.guard.close().catch(() => undefined)]);
  });

  it('a second till with the same terminalId is refused at start (GuardStorageError LOCKED, naming the id and what to do)', async () => {
    const a = await terminal('TWIN');
    let refused: unknown;
    const b = await terminal('TWIN').catch((error: unknown) => {
      refused = error;
      return undefined;
    });
    if (b) {
      await charge(a.guard, 'tok-twin-1');
      await charge(b.guard, 'tok-twin-2');
      await Promise.all([a.store.settled(), b.store.settled()]);
    }
    const entries = await chain('TWIN');
    const verified = verifyJournal(entries, { secret: SECRET });
    // Either the second one is refused at start (the database knows a live chain under that id), or the chain holds.
    expect({ refused: refused !== undefined, verified }).toMatchObject(b ? { verified: { ok: true } } : { refused: true });
    expect(refused).toBeInstanceOf(GuardStorageError);
    expect(refused).toMatchObject({
      code: 'LOCKED',
      field: 'terminalId',
      message: expect.stringMatching(/"TWIN".*Give each till its own terminalId/),
    });
    await Promise.all([a.guard.close(), b?.guard.close()]);
  });

  it('a refused till starts on the same store once the id is free (the other closed), and then holds the id itself', async () => {
    const a = await terminal('FREE');
    const store = postgresStore({ pool: database.db.pool({ max: 3 }), local: memoryStore(), timeout: '1s', retry: '100ms' });
    const options = { merchantId: MERCHANT, terminalId: 'FREE', secret: SECRET, store };
    await expect(createGuard(options)).rejects.toMatchObject({ name: 'GuardStorageError', code: 'LOCKED' });
    await charge(a.guard, 'tok-free-1');
    await a.guard.close();
    const b = await createGuard(options);
    await charge(b, 'tok-free-2');
    await store.settled();
    expect(verifyJournal(await chain('FREE'), { secret: SECRET })).toMatchObject({ ok: true });
    await expect(terminal('FREE')).rejects.toMatchObject({ name: 'GuardStorageError', code: 'LOCKED' });
    // One store, one terminal: a guard re-created over it under another id is refused.
    await expect(createGuard({ ...options, terminalId: 'OTHER' })).rejects.toMatchObject({ name: 'GuardConfigError', field: 'store' });
    await b.close();
  });

  it('a till without a terminalId is refused (GuardConfigError): tills without one shared one chain and broke it, silently', async () => {
    const started: { guard: Guard; store: PostgresStore }[] = [];
    let refused: unknown;
    for (let i = 0; i < 2; i++) {
      try {
        started.push(await terminal(undefined));
      } catch (error) {
        refused = error;
      }
    }
    if (started.length === 2) {
      await charge((started[0] as { guard: Guard }).guard, 'tok-none-1');
      await charge((started[1] as { guard: Guard }).guard, 'tok-none-2');
      await Promise.all(started.map((t) => t.store.settled()));
    }
    const entries = await chain(null);
    const verified = verifyJournal(entries, { secret: SECRET });
    expect({ refused: refused !== undefined, verified }).toMatchObject(
      started.length === 2 ? { verified: { ok: true } } : { refused: true },
    );
    expect(refused).toBeInstanceOf(GuardConfigError);
    expect(refused).toMatchObject({ code: 'INVALID_OPTION', field: 'terminalId' });
    await Promise.all(started.map((t) => t.guard.close()));
  });

  it('a till whose connection dropped while another took its terminalId stops sending its journal, says so, and sends it all once it holds the id again', async () => {
    // A reaches the database through the proxy: its connections can be cut and come back.
    const a = await terminal('AWAY', database.db.pool({ max: 3, port: database.proxy.port }));
    const errors: unknown[] = [];
    a.guard.on('storage-error', (event: Extract<GuardEvent, { type: 'storage-error' }>) => errors.push(event.error));
    await charge(a.guard, 'tok-away-1');
    await a.store.settled();
    database.proxy.cut();
    // While A is away (its sessions gone, its lock with them), another till starts with A's id.
    const b = await terminal('AWAY');
    await charge(b.guard, 'tok-away-2');
    await b.store.settled();
    database.proxy.restore();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // A is back on the database but cannot hold its id: its journal is kept, not sealed onto B's chain, and it says so.
    const before = (await chain('AWAY')).length;
    await charge(a.guard, 'tok-away-3');
    await a.store.settled().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(errors.some((e) => e instanceof GuardStorageError && e.code === 'LOCKED')).toBe(true);
    const during = await chain('AWAY');
    expect(verifyJournal(during, { secret: SECRET })).toMatchObject({ ok: true });
    expect(during.length).toBe(before);
    // B goes: A takes its id again and sends what it kept, sealed after B's entries.
    await b.guard.close();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await a.store.settled();
    const after = await chain('AWAY');
    expect(verifyJournal(after, { secret: SECRET })).toMatchObject({ ok: true });
    expect(after.length).toBeGreaterThanOrEqual(before + 2);
    await a.guard.close();
  });
  it("a till whose listening connection died silently (asleep: the server gave up on it, the till never heard) while another took its id is told LOCKED and seals nothing onto the other till's chain", async () => {
    const a = await terminal('SLEEP');
    const errors: unknown[] = [];
    a.guard.on('storage-error', (event: Extract<GuardEvent, { type: 'storage-error' }>) => errors.push(event.error));
    await charge(a.guard, 'tok-sleep-1');
    await a.store.settled();
    // A sleeps: the server's keepalives give up on its listening connection (its lock goes), and A, asleep, hears nothing of it.
    type Listening = {
      listenerCount(event: string): number;
      removeAllListeners(event: string): void;
      on(event: string, f: () => void): void;
    };
    const clients = (a.pool as unknown as { _clients: Listening[] })._clients;
    const listening = clients.find((c) => c.listenerCount('notification') > 0);
    expect(listening).toBeDefined();
    listening?.removeAllListeners('end');
    listening?.removeAllListeners('error');
    listening?.on('error', () => undefined);
    const admin = database.db.pool({ max: 1 });
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
        AND pid IN (SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_try_advisory_lock%')`,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Meanwhile B starts with A's id, and charges.
    const b = await terminal('SLEEP');
    await charge(b.guard, 'tok-sleep-2');
    await b.store.settled();
    const before = await chain('SLEEP');
    // A wakes and charges: it must not seal onto B's chain as if it still held the id, and must say so.
    await charge(a.guard, 'tok-sleep-3');
    await a.store.settled().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await chain('SLEEP');
    expect(verifyJournal(after, { secret: SECRET })).toMatchObject({ ok: true });
    expect(after.length).toBe(before.length);
    expect(errors.some((e) => e instanceof GuardStorageError && e.code === 'LOCKED')).toBe(true);
    // B goes: A takes its id again and sends what it kept, sealed after B's entries.
    await b.guard.close();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await a.store.settled();
    const back = await chain('SLEEP');
    expect(verifyJournal(back, { secret: SECRET })).toMatchObject({ ok: true });
    expect(back.length).toBeGreaterThan(after.length);
    await a.guard.close();
  });
  it('a till closed while it is taking its terminal again (started cut off) lets the id go: no connection kept, pool.end() returns', async () => {
    const pool = database.db.pool({ max: 3, port: database.proxy.port });
    // The listening connection is slow to come (a slow network): the store asks for it, and is closed meanwhile.
    let asked: () => void = () => undefined;
    const listening = new Promise<void>((resolve) => (asked = resolve));
    const original = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
    (pool as unknown as { connect: (...args: unknown[]) => unknown }).connect = (...args: unknown[]) => {
      if (args.length > 0 || !/listen/.test(new Error().stack ?? '')) return original(...args);
      asked();
      return new Promise((resolve) => setTimeout(resolve, 800)).then(() => original());
    };
    database.proxy.cut();
    // Cut off at start (with local): the store listens, and takes its terminal, on a retry once the database is back.
    const store = postgresStore({ pool, local: memoryStore(), timeout: '3s', retry: '100ms' });
    const guard = await createGuard({ merchantId: MERCHANT, terminalId: 'CLOSING', secret: SECRET, store });
    database.proxy.restore();
    await listening;
    await guard.close();
    await guard.close().catch(() => undefined);
    // Long enough for the slow connection to have landed.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    // Closed (once close() resolved): the id is free for the next till, and the app's pool ends.
    const next = await terminal('CLOSING').catch((error: unknown) => error);
    const ended = await Promise.race([pool.end().then(() => 'ended'), new Promise((resolve) => setTimeout(resolve, 3_000, 'hung'))]);
    expect({ next: next instanceof Error ? next.message : 'started', ended }).toEqual({ next: 'started', ended: 'ended' });
    if (!(next instanceof Error)) await (next as { guard: Guard }).guard.close();
  });
  it('two tills with one id started at the same instant: exactly one starts, the other is refused LOCKED', async () => {
    const started = await Promise.allSettled([terminal('SAME'), terminal('SAME')]);
    const won = started.filter((r) => r.status === 'fulfilled');
    const lost = started.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost[0]?.reason).toMatchObject({ name: 'GuardStorageError', code: 'LOCKED', field: 'terminalId' });
    for (const r of won) await r.value.guard.close();
  });

  it('hostile terminal ids (quotes, a semicolon, the longest allowed, alike up to their last character) each hold their own id', async () => {
    const long = 'L'.repeat(127); // ids are at most 128 characters
    const ids = [`T'; SELECT pg_sleep(10); --`, 'T\\"\'$$x$$', `${long}1`, `${long}2`, 'Ω-终端-🙂'];
    const tills = [];
    for (const id of ids) tills.push(await terminal(id));
    for (const id of ids) await expect(terminal(id)).rejects.toMatchObject({ code: 'LOCKED' });
    const [first] = tills;
    if (first) await charge(first.guard, 'tok-hostile-1');
    for (const t of tills) await t.store.settled();
    expect(verifyJournal(await chain(ids[0] as string), { secret: SECRET })).toMatchObject({ ok: true });
    for (const t of tills) await t.guard.close();
  });
  it('re-takes that fail (connection refused, then a network that swallows packets) give every connection back, and the till holds its id again once the network is back', async () => {
    const pool = database.db.pool({ max: 3, port: database.proxy.port });
    const a = await terminal('RETAKE', pool);
    await charge(a.guard, 'tok-retake-1');
    await a.store.settled();
    database.proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 800));
    database.proxy.pause();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(pool.totalCount).toBeLessThanOrEqual(3);
    database.proxy.restore();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const before = (await chain('RETAKE')).length;
    await charge(a.guard, 'tok-retake-2');
    await a.store.settled();
    const after = await chain('RETAKE');
    expect(verifyJournal(after, { secret: SECRET })).toMatchObject({ ok: true });
    expect(after.length).toBeGreaterThan(before);
    // The id is held again: a second till is refused.
    await expect(terminal('RETAKE')).rejects.toMatchObject({ code: 'LOCKED' });
    await a.guard.close();
    const ended = await Promise.race([pool.end().then(() => 'ended'), new Promise((resolve) => setTimeout(resolve, 3_000, 'hung'))]);
    expect(ended).toBe('ended');
  });
});
