/**
 * SPEC §9 under real faults, with terminals as Node processes of their own:
 * a terminal SIGKILLed mid-charge, tills whose wall clocks are 5 minutes
 * wrong, the PostgreSQL server stopped with `pg_ctl stop -m immediate` and
 * started again, one terminal's connection cut and paused by a TCP proxy,
 * and the notices (LISTEN/NOTIFY) that carry one terminal's changes to the
 * others, lost and caught up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuard, type AttemptRecord, type JournalEntry, type Sale } from '../../../src/index.js';
import { DEFAULT_SCHEMA, postgresStore, type PgPool } from '../../../src/postgres.js';
import { freshDatabase, privateServer, tcpProxy, type FreshDatabase, type PrivateServer, type TcpProxy } from '../../helpers/postgres.js';
import type { TerminalConfig } from './terminal-process.js';
import { dbConfig, killAll, prestart, startTerminal, until, type DecisionView, type Terminal } from './terminals.js';

const SECRET = 'faults-test-secret-0123456789';
const MINUTE = 60_000;
/** The pendingTimeout of the tills whose holds are timed here: short, so that the tests are. */
const PENDING_TIMEOUT = '2s';
const PENDING_TIMEOUT_MS = 2_000;
/** How far a till's reading of the database's clock may be off: half a round trip on a busy 2-core box. */
const SKEW_ERROR_MS = 40;

// The private server the server tests stop and start (initdb takes seconds) and the first
// terminals boot while the tests before them run.
let server: Promise<PrivateServer>;
beforeAll(() => {
  prestart();
  server = privateServer();
  // Not awaited here: a failure is the server tests' to report.
  server.catch(() => undefined);
});
afterAll(async () => {
  await killAll();
  await (await server.catch(() => undefined))?.close();
});

/**
 * What one test makes (databases, servers, proxies, temp dirs, terminals),
 * undone when it finishes, whatever its outcome: the tests of this file run
 * at the same time (most of their time is spent waiting: for
 * pendingTimeout, a reconnect, a process to boot), so each cleans up only
 * what it made.
 */
function lab(onTestFinished: (fn: () => Promise<void>) => void) {
  const cleanups: (() => Promise<unknown>)[] = [];
  onTestFinished(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  return {
    async database(name: string, server?: PrivateServer): Promise<FreshDatabase> {
      const db = server ? await server.freshDatabase(name) : await freshDatabase(name);
      cleanups.push(() => db.drop());
      return db;
    },
    tempDir(): string {
      const dir = mkdtempSync(join(tmpdir(), 'pdg-pg-faults-'));
      cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
      return dir;
    },
    async proxyTo(port: number): Promise<TcpProxy> {
      const proxy = await tcpProxy(port);
      cleanups.push(() => proxy.close());
      return proxy;
    },
    async terminal(db: FreshDatabase, terminalId: string, extra: Partial<TerminalConfig> = {}): Promise<Terminal> {
      const t = await startTerminal({ db: dbConfig(db.config), merchantId: 'M-FAULT', terminalId, secret: SECRET, ...extra });
      cleanups.push(() => t.kill());
      return t;
    },
  };
}

const sale = (token: string, extra: Partial<Sale> = {}): Sale => ({ amount: 1250, currency: 'CNY', card: { token }, ...extra });
const codes = (d: DecisionView) => d.codes.join('+') || d.verdict;

async function rows(pool: pg.Pool): Promise<{ record: AttemptRecord; version: number }[]> {
  const { rows: found } = await pool.query<{ record: string; version: string }>(
    `SELECT record, version FROM ${DEFAULT_SCHEMA}.attempts WHERE merchant_id = 'M-FAULT' ORDER BY id`,
  );
  return found.map((r) => ({ record: JSON.parse(r.record) as AttemptRecord, version: Number(r.version) }));
}

/**
 * Begins `s` on `t` every 100 ms until the answer is no longer IN_FLIGHT;
 * each answer with when it was asked and when it came back (this process's
 * clock, the database's: one machine).
 */
async function watchHold(t: Terminal, s: Sale, timeoutMs: number) {
  const answers: { asked: number; answered: number; codes: string }[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const asked = Date.now();
    const d = await t.begin(s);
    answers.push({ asked, answered: Date.now(), codes: codes(d) });
    if (!d.codes.includes('IN_FLIGHT') || Date.now() > deadline) return answers;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a terminal killed mid-charge', () => {
  it('leaves a pending the others see IN_FLIGHT, then UNKNOWN_OUTCOME after pendingTimeout; restarted, it sees its own as unknown', async ({
    onTestFinished,
  }) => {
    const { database, terminal } = lab(onTestFinished);
    const db = await database('killed');
    const [t1, t2] = await Promise.all([
      terminal(db, 'T1', { pendingTimeout: PENDING_TIMEOUT }),
      terminal(db, 'T2', { pendingTimeout: PENDING_TIMEOUT }),
    ]);
    const charged = sale('tok-killed');
    const asked = Date.now();
    const begun = await t1.begin(charged);
    expect(begun.verdict).toBe('allow');
    const id = begun.attemptId as string;
    // The charge is at the processor when the till dies.
    await t1.kill();
    const answers = await watchHold(t2, charged, 5_000);
    const held = answers.filter((a) => a.codes === 'IN_FLIGHT');
    const freed = answers.at(-1) as (typeof answers)[number];
    expect(held.length).toBeGreaterThan(0);
    expect(freed.codes).toBe('UNKNOWN_OUTCOME');
    // IN_FLIGHT for pendingTimeout after the begin, not less, and no hold that outlives it by much.
    expect(freed.answered - asked).toBeGreaterThanOrEqual(PENDING_TIMEOUT_MS);
    expect((held.at(-1) as (typeof answers)[number]).asked - asked).toBeLessThan(PENDING_TIMEOUT_MS + 500);
    expect((await t2.get(id))?.status).toBe('unknown');

    // The killed till comes back: its own pending is an unknown outcome at once (SPEC §6), whatever the timeout.
    const again = await terminal(db, 'T1', { pendingTimeout: '2m' });
    expect((await again.get(id))?.status).toBe('unknown');
    expect(codes(await again.begin(charged))).toBe('UNKNOWN_OUTCOME');
    await Promise.all([again.close(), t2.close()]);
  });
});

describe('a till whose wall clock is wrong', () => {
  it('holds its pending on the others until pendingTimeout by the database clock: not earlier (5 min behind), not later (5 min ahead)', async ({
    onTestFinished,
  }) => {
    const { database, proxyTo, terminal } = lab(onTestFinished);
    const db = await database('clocks');
    // Each till's first round trip to the database is slow and lopsided, as
    // it is on a real network (a new connection, TLS, the schema checked):
    // its connection is held 400 ms before anything goes through. Reading
    // the database's clock on that trip alone would be 200 ms off.
    const slowStart = async (terminalId: string, clockOffsetMs: number) => {
      const proxy = await proxyTo(Number(db.config.port));
      proxy.pause();
      const starting = terminal(db, terminalId, { pendingTimeout: PENDING_TIMEOUT, clockOffsetMs, db: dbConfig(db.config, proxy.port) });
      await until(async () => (proxy.connections > 0 ? true : undefined), 10_000, `${terminalId} to connect`);
      await new Promise((resolve) => setTimeout(resolve, 400));
      proxy.restore();
      return starting;
    };
    const [behind, ahead, right] = await Promise.all([
      slowStart('T-BEHIND', -5 * MINUTE),
      slowStart('T-AHEAD', 5 * MINUTE),
      slowStart('T-RIGHT', 0),
    ]);
    // Each till begins a sale; another till watches it.
    const cases = [
      { name: 'behind, watched by right', owner: behind, watcher: right },
      { name: 'ahead, watched by right', owner: ahead, watcher: right },
      { name: 'right, watched by behind', owner: right, watcher: behind },
      { name: 'ahead, watched by behind', owner: ahead, watcher: behind },
    ];
    const results = await Promise.all(
      cases.map(async ({ name, owner, watcher }, i) => {
        const s = sale(`tok-clock-${i}`);
        const asked = Date.now();
        expect((await owner.begin(s)).verdict).toBe('allow');
        const answers = await watchHold(watcher, s, 6_000);
        const held = answers.filter((a) => a.codes === 'IN_FLIGHT');
        const freed = answers.at(-1) as (typeof answers)[number];
        return {
          name,
          held: held.length,
          lastHeld: (held.at(-1)?.asked ?? asked) - asked,
          freedAfter: freed.answered - asked,
          freed: freed.codes,
        };
      }),
    );
    for (const r of results) {
      expect(r, r.name).toMatchObject({ freed: 'UNKNOWN_OUTCOME' });
      expect(r.held, r.name).toBeGreaterThan(0);
      // Not before pendingTimeout, give or take how exactly a till can read the database's clock (half a round trip).
      expect(r.freedAfter, r.name).toBeGreaterThanOrEqual(PENDING_TIMEOUT_MS - SKEW_ERROR_MS);
      expect(r.lastHeld, r.name).toBeLessThan(PENDING_TIMEOUT_MS + 500);
    }
    await Promise.all([behind.close(), ahead.close(), right.close()]);
  });
});

describe('a till whose wall clock jumps while it runs', () => {
  it('5 minutes back or ahead: the pending it begins afterwards is held on the others until pendingTimeout by the database clock', async ({
    onTestFinished,
  }) => {
    const { database, terminal } = lab(onTestFinished);
    const db = await database('jump');
    const [back, ahead, watcher] = await Promise.all([
      terminal(db, 'T-BACK', { pendingTimeout: PENDING_TIMEOUT }),
      terminal(db, 'T-AHEAD', { pendingTimeout: PENDING_TIMEOUT }),
      terminal(db, 'T-WATCH', { pendingTimeout: PENDING_TIMEOUT }),
    ]);
    const results = await Promise.all(
      [
        { jumper: back, jump: -5 * MINUTE },
        { jumper: ahead, jump: 5 * MINUTE },
      ].map(async ({ jumper, jump }) => {
        await jumper.ok('clock', { offsetMs: jump });
        const s = sale(`tok-jump-${jump}`);
        const asked = Date.now();
        expect((await jumper.begin(s)).codes).toEqual(['CLOCK_ANOMALY']);
        const answers = await watchHold(watcher, s, 6_000);
        const held = answers.filter((a) => a.codes === 'IN_FLIGHT');
        const freed = answers.at(-1) as (typeof answers)[number];
        return {
          jump,
          held: held.length,
          lastHeld: (held.at(-1)?.asked ?? asked) - asked,
          freedAfter: freed.answered - asked,
          freed: freed.codes,
        };
      }),
    );
    for (const r of results) {
      expect(r, String(r.jump)).toMatchObject({ freed: 'UNKNOWN_OUTCOME' });
      expect(r.held, String(r.jump)).toBeGreaterThan(0);
      expect(r.freedAfter, String(r.jump)).toBeGreaterThanOrEqual(PENDING_TIMEOUT_MS - SKEW_ERROR_MS);
      expect(r.lastHeld, String(r.jump)).toBeLessThan(PENDING_TIMEOUT_MS + 500);
    }
    await Promise.all([back.close(), ahead.close(), watcher.close()]);
  });
});

describe('notices', () => {
  it("carry a settle on one terminal to the other's index within 1 s, and are caught up after its listener was cut", async ({
    onTestFinished,
  }) => {
    const { database, proxyTo, terminal } = lab(onTestFinished);
    const db = await database('notices');
    const listenProxy = await proxyTo(Number(db.config.port));
    // T2's queries go straight to the database; its LISTEN connection through the proxy.
    const [t1, t2] = await Promise.all([
      terminal(db, 'T1'),
      terminal(db, 'T2', { listenDb: dbConfig(db.config, listenProxy.port), retry: '300ms' }),
    ]);
    const heardAt = async (id: string, status: string) =>
      until(async () => t2.changes.find((c) => c.id === id && c.status === status), 5_000, `T2 to hear ${id} ${status}`, 5);

    for (let i = 0; i < 5; i++) {
      const begun = await t1.begin(sale(`tok-notice-${i}`));
      const id = begun.attemptId as string;
      await t1.settle(id, { status: 'approved' });
      const settledAt = Date.now();
      const change = await heardAt(id, 'approved');
      expect(change.at - settledAt).toBeLessThan(1_000);
      // In its index: T2 reports it without reading the database (it is in memory), and a begin is a duplicate.
      expect((await t2.get(id))?.status).toBe('approved');
      expect(codes(await t2.begin(sale(`tok-notice-${i}`)))).toBe('DUPLICATE_CHARGE');
    }

    // T2's listener is cut: what T1 settles meanwhile reaches T2 once it listens again.
    listenProxy.cut();
    const missed: string[] = [];
    for (let i = 0; i < 3; i++) {
      const begun = await t1.begin(sale(`tok-missed-${i}`));
      await t1.settle(begun.attemptId as string, { status: 'approved' });
      missed.push(begun.attemptId as string);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(t2.changes.filter((c) => missed.includes(c.id) && c.status === 'approved')).toEqual([]);
    listenProxy.restore();
    for (const id of missed) await heardAt(id, 'approved');
    // And it listens again: the next settle arrives as a notice.
    const next = await t1.begin(sale('tok-after'));
    await t1.settle(next.attemptId as string, { status: 'approved' });
    const settledAt = Date.now();
    expect((await heardAt(next.attemptId as string, 'approved')).at - settledAt).toBeLessThan(1_000);
    await Promise.all([t1.close(), t2.close()]);
  });
  it('a guard closed while its listener reconnects hands every connection back: the app can end its pool', async ({ onTestFinished }) => {
    const { database, proxyTo } = lab(onTestFinished);
    const db = await database('listen_close');
    const proxy = await proxyTo(Number(db.config.port));
    // In this process: queries straight to the database, the LISTEN connection through the proxy.
    const direct = db.pool({ max: 4 });
    const listens = db.pool({ max: 2, port: proxy.port, connectionTimeoutMillis: 0 });
    const pool: PgPool = { query: (q) => (direct as unknown as PgPool).query(q), connect: () => (listens as unknown as PgPool).connect() };
    const guard = await createGuard({
      merchantId: 'M-FAULT',
      terminalId: 'T1',
      secret: SECRET,
      store: postgresStore({ pool, retry: '100ms' }),
    });
    // The LISTEN connection drops; its reconnection hangs (packets go nowhere) while the till shuts down.
    proxy.cut();
    proxy.pause();
    await until(async () => (proxy.connections > 0 ? true : undefined), 5_000, 'the listener to reconnect');
    await guard.close();
    // The network comes back after the close: the late connection must not stay checked out of the app's pool.
    proxy.restore();
    const ended = await Promise.race([
      listens.end().then(() => 'ended'),
      new Promise((resolve) => setTimeout(() => resolve('still holding a connection'), 3_000)),
    ]);
    expect(ended).toBe('ended');
  });
});

describe('the server stopped (pg_ctl stop -m immediate) and started again', () => {
  // One private server for both (made when the file starts): stopped and started again by each.
  it('keeps a till with local deciding (SHARED_UNAVAILABLE, each begin < 5 s), across a restart of the till, and lands every write once', async ({
    onTestFinished,
  }) => {
    const { database, tempDir, terminal } = lab(onTestFinished);
    const pg = await server;
    const db = await database('stopped', pg);
    const check = db.pool({ max: 1 });
    const dir = tempDir();
    const local = join(dir, 't1.jsonl');
    const till = (terminalId: string) => terminal(db, terminalId, { local, retry: '500ms' });
    const [first, observer] = await Promise.all([till('T1'), terminal(db, 'T2')]);
    let t1 = first;

    // Before the outage: a sale approved, in the database.
    const before = await t1.begin(sale('tok-before'));
    await t1.settle(before.attemptId as string, { status: 'approved' });

    await pg.stopImmediate();
    const timed = async (s: Sale, t = t1) => {
      const started = Date.now();
      const d = await t.begin(s);
      expect(Date.now() - started).toBeLessThan(5_000);
      return d;
    };
    const a1 = await timed(sale('tok-a1'));
    expect(a1.verdict).toBe('allow');
    expect(a1.codes).toEqual(['SHARED_UNAVAILABLE']);
    const a2 = await timed(sale('tok-a2'));
    const a3 = await timed(sale('tok-a3', { orderId: 'ORD-CUT' }));
    for (const d of [a2, a3]) expect([d.verdict, d.codes]).toEqual(['allow', ['SHARED_UNAVAILABLE']]);
    await t1.settle(a1.attemptId as string, { status: 'approved' });
    await t1.settle(a2.attemptId as string, { status: 'declined', code: '05' });
    // A record from before the outage, changed during it.
    await t1.settle(before.attemptId as string, { status: 'voided' });
    // What this till knows still holds: its own sale, charged while cut off, is a duplicate.
    expect(codes(await timed(sale('tok-a1')))).toBe('DUPLICATE_CHARGE+SHARED_UNAVAILABLE');

    // The till process is killed and started again while the server is still down. (Once its
    // journal entries are written: the guard journals without awaiting it, for every store.)
    await t1.ok('settled');
    await t1.kill();
    t1 = await till('T1');
    const a4 = await timed(sale('tok-a4'));
    expect(a4.codes).toEqual(['SHARED_UNAVAILABLE']);
    await t1.settle(a4.attemptId as string, { status: 'approved' });
    await t1.settle(a3.attemptId as string, { status: 'approved' });
    // Declined before the restart: free to charge again.
    const again = await timed(sale('tok-a2'));
    expect([again.verdict, again.codes]).toEqual(['allow', ['SHARED_UNAVAILABLE']]);
    await t1.settle(again.attemptId as string, { status: 'cancelled' });

    await pg.start();
    // Back: the till reconnects by itself (every 500 ms here) and sends what it wrote meanwhile.
    await until(async () => ((await t1.call('sync')).ok ? true : undefined), 10_000, 'T1 to catch up');
    const expected = new Map([
      [before.attemptId, 'voided'],
      [a1.attemptId, 'approved'],
      [a2.attemptId, 'declined'],
      [a3.attemptId, 'approved'],
      [a4.attemptId, 'approved'],
      [again.attemptId, 'cancelled'],
    ]);
    const landed = await rows(check);
    expect(new Map(landed.filter(({ record }) => record.terminalId === 'T1').map(({ record }) => [record.id, record.status]))).toEqual(
      expected,
    );
    // The journal too: every settle made while cut off, before the restart and after it, once.
    const journal = await check.query<{ entry: string }>(
      `SELECT entry FROM ${DEFAULT_SCHEMA}.journal WHERE merchant_id = 'M-FAULT' AND terminal_id = 'T1' ORDER BY id`,
    );
    const settles = journal.rows
      .map((r) => JSON.parse(r.entry) as JournalEntry)
      .filter((e) => e.type === 'settle')
      .map((e) => `${e.attemptId} ${e.to}`);
    expect(settles).toEqual([
      `${before.attemptId} approved`,
      `${a1.attemptId} approved`,
      `${a2.attemptId} declined`,
      `${before.attemptId} voided`,
      // The restart found a3 still pending (its charge out when the till stopped) and journaled it unknown.
      `${a3.attemptId} unknown`,
      `${a4.attemptId} approved`,
      `${a3.attemptId} approved`,
      `${again.attemptId} cancelled`,
    ]);
    // The observer hears of them and holds the sales.
    expect(codes(await observer.begin(sale('tok-a1')))).toBe('DUPLICATE_CHARGE');

    // Nothing is sent twice: another reconnect, and a restart with the server up, write no row again.
    const versions = new Map(landed.map(({ record, version }) => [record.id, version]));
    await t1.ok('sync');
    await t1.close();
    t1 = await till('T1');
    await t1.ok('settled');
    const after = await rows(check);
    expect(new Map(after.map(({ record, version }) => [record.id, version]))).toEqual(versions);
    await Promise.all([t1.close(), observer.close()]);
  });

  it('without local: STORAGE_UNAVAILABLE (each begin < 5 s), and what the till went on with is retried until it lands', async ({
    onTestFinished,
  }) => {
    const { database, terminal } = lab(onTestFinished);
    const pg = await server;
    const db = await database('nolocal', pg);
    const check = db.pool({ max: 1 });
    const [t3, t4] = await Promise.all([terminal(db, 'T3', { retry: '500ms' }), terminal(db, 'T4')]);

    await pg.stopImmediate();
    const timed = async (s: Sale) => {
      const started = Date.now();
      const d = await t3.begin(s);
      expect(Date.now() - started).toBeLessThan(5_000);
      return d;
    };
    // onStorageError 'prompt': the cashier confirms, and the till charges on memory alone.
    const held = await timed(sale('tok-x'));
    expect([held.verdict, held.codes]).toEqual(['prompt', ['STORAGE_UNAVAILABLE']]);
    const charged = await t3.ok<DecisionView>('override', { key: held.key, operator: 'amy', reason: 'database down, customer waiting' });
    expect([charged.verdict, charged.codes]).toEqual(['allow', ['STORAGE_UNAVAILABLE']]);
    const x = charged.attemptId as string;
    await t3.settle(x, { status: 'approved' });
    // Another sale is prompted, and the cashier gives up on it: nothing of it may ever reach the database.
    const dropped = await timed(sale('tok-y'));
    expect(dropped.codes).toEqual(['STORAGE_UNAVAILABLE']);

    await pg.start();
    // No call needed: the store tries again by itself and the charge lands, approved.
    const landed = await until(
      async () => {
        const found = (await rows(check).catch(() => [])).find(({ record }) => record.id === x);
        return found?.record.status === 'approved' ? found : undefined;
      },
      10_000,
      'the approved charge to land',
    );
    expect(landed.record.terminalId).toBe('T3');
    expect((await rows(check)).map(({ record }) => record.id)).toEqual([x]);
    // T4 sat idle through the outage: once its store is back (it tries every 2 s by itself; sync waits for
    // that, as a slow machine may take longer than T3's landing above), its first begin decides from the
    // database. (The events say why, should it not: a storage error names its cause.)
    await until(async () => ((await t4.call('sync')).ok ? true : undefined), 15_000, 'T4 to be back');
    expect([codes(await t4.begin(sale('tok-x'))), t4.events]).toEqual(['DUPLICATE_CHARGE', []]);
    expect(codes(await t4.begin(sale('tok-y')))).toBe('allow');
    await Promise.all([t3.close(), t4.close()]);
  });
});

describe("one terminal's connection cut or paused, then restored", () => {
  it.for(['cut', 'pause'] as const)(
    '%s: the till keeps deciding, the double charges made meanwhile are reported once back, and replays add nothing',
    async (fault, { onTestFinished }) => {
      const { database, tempDir, proxyTo, terminal } = lab(onTestFinished);
      const db = await database(`net_${fault}`);
      const check = db.pool({ max: 1 });
      const proxy = await proxyTo(Number(db.config.port));
      const local = join(tempDir(), 't1.jsonl');
      // T1 reaches the database through the proxy only, queries and notices alike.
      const till = () => terminal(db, 'T1', { db: dbConfig(db.config, proxy.port), local, retry: '500ms' });
      const [first, t2] = await Promise.all([till(), terminal(db, 'T2')]);
      let t1 = first;
      const conflicts = () => t1.events.filter((e) => e.type === 'conflict');

      // A sale being charged when the network goes: begun again, it is held back, and the read of the
      // store's versions that a held-back decision makes first meets the dead network: IN_FLIGHT from
      // memory, said to be decided cut off.
      const charging = await t1.begin(sale(`tok-${fault}-charging`));
      if (fault === 'cut') proxy.cut();
      else proxy.pause();
      expect(codes(await t1.begin(sale(`tok-${fault}-charging`)))).toBe('IN_FLIGHT+SHARED_UNAVAILABLE');
      const timed = async (s: Sale) => {
        const started = Date.now();
        const d = await t1.begin(s);
        expect(Date.now() - started).toBeLessThan(5_000);
        return d;
      };
      // Eight sales on T1 while it is cut off, each approved: a sale T2 also charges, an order T2
      // also pays with another card, and six others.
      const others = Array.from({ length: 6 }, (_, i) => sale(`tok-${fault}-${i}`, { amount: 100 + i }));
      const same = sale(`tok-${fault}-same`);
      const order = (token: string) => sale(token, { amount: 3000, orderId: `ORD-${fault}` });
      const mine: DecisionView[] = [];
      for (const s of [same, order(`tok-${fault}-a`), ...others]) {
        const d = await timed(s);
        expect([d.verdict, d.codes]).toEqual(['allow', ['SHARED_UNAVAILABLE']]);
        await t1.settle(d.attemptId as string, { status: 'approved' });
        mine.push(d);
      }
      const theirs = [await t2.begin(same), await t2.begin(order(`tok-${fault}-b`))];
      for (const d of theirs) {
        expect(d.verdict).toBe('allow');
        await t2.settle(d.attemptId as string, { status: 'approved' });
      }
      expect(conflicts()).toEqual([]);

      proxy.restore();
      // The till reconnects by itself; sync() waits for its catch-up.
      await until(async () => ((await t1.call('sync')).ok ? true : undefined), 15_000, 'T1 to catch up');
      const [mineSame, mineOrder] = mine as [DecisionView, DecisionView];
      const [theirSame, theirOrder] = theirs as [DecisionView, DecisionView];
      expect(conflicts()).toEqual([
        { type: 'conflict', code: 'DUPLICATE_CHARGE', attempts: [mineSame.attemptId, theirSame.attemptId] },
        { type: 'conflict', code: 'ORDER_ALREADY_PAID', attempts: [mineOrder.attemptId, theirOrder.attemptId] },
      ]);
      const journal = async () =>
        (
          await check.query<{ entry: string }>(
            `SELECT entry FROM ${DEFAULT_SCHEMA}.journal WHERE merchant_id = 'M-FAULT' AND terminal_id = 'T1' ORDER BY id`,
          )
        ).rows.map((r) => JSON.parse(r.entry) as JournalEntry);
      const journaled = async () => (await journal()).filter((e) => e.type === 'conflict').map((e) => [e.codes, e.attempts]);
      // The journal of what T1 did while cut off: each settle once, in order.
      const settles = async () => (await journal()).filter((e) => e.type === 'settle').map((e) => `${e.attemptId} ${e.from}->${e.to}`);
      const settled = mine.map((d) => `${d.attemptId} pending->approved`);
      const blocked = async () => (await journal()).filter((e) => e.type === 'decision' && e.codes?.includes('IN_FLIGHT')).length;
      await until(async () => ((await journaled()).length === 2 ? true : undefined), 5_000, 'the conflicts in the journal');
      expect(await settles()).toEqual(settled);
      expect(await blocked()).toBe(1);
      expect(await journaled()).toEqual([
        [['DUPLICATE_CHARGE'], [mineSame.attemptId, theirSame.attemptId]],
        [['ORDER_ALREADY_PAID'], [mineOrder.attemptId, theirOrder.attemptId]],
      ]);
      // Eight sales on T1 and two on T2 are ten charges in the database, each once and approved.
      const all = await rows(check);
      expect(all.filter(({ record }) => record.id === charging.attemptId).map(({ record }) => record.status)).toEqual(['pending']);
      const landed = all.filter(({ record }) => record.id !== charging.attemptId);
      expect(landed.map(({ record }) => record.status)).toEqual(Array(10).fill('approved'));
      expect(new Set(landed.map(({ record }) => record.id))).toEqual(new Set([...mine, ...theirs].map((d) => d.attemptId)));

      // Replays: the connection cut and restored again, then the till restarted. No new attempt, no row written again.
      const versions = new Map(landed.map(({ record, version }) => [record.id, version]));
      proxy.cut();
      proxy.restore();
      await until(async () => ((await t1.call('sync')).ok ? true : undefined), 15_000, 'T1 to reconnect');
      await t1.close();
      t1 = await till();
      await t1.ok('settled');
      await t1.ok('sync');
      const replayed = (await rows(check)).filter(({ record }) => record.id !== charging.attemptId);
      expect(new Map(replayed.map(({ record, version }) => [record.id, version]))).toEqual(versions);
      expect(conflicts()).toEqual([]);
      expect(await journaled()).toHaveLength(2);
      // The restart journals the sale it was charging as unknown (start-up does, by id): nothing else is new.
      expect(await settles()).toEqual([...settled, `${charging.attemptId} pending->unknown`]);
      expect(await blocked()).toBe(1);
      await Promise.all([t1.close(), t2.close()]);
    },
  );
});

describe('a paused network without local', () => {
  it('a reservation whose write timed out and that the till gave up on never becomes a hold, wherever the write lands', async ({
    onTestFinished,
  }) => {
    const { database, proxyTo, terminal } = lab(onTestFinished);
    const db = await database('paused_ghost');
    const proxy = await proxyTo(Number(db.config.port));
    const [t1, t2] = await Promise.all([terminal(db, 'T1', { db: dbConfig(db.config, proxy.port), retry: '300ms' }), terminal(db, 'T2')]);
    // A read just before: T1's pool has a connection open, and the claim below goes out on it.
    expect(await t1.get('pdg_nothing_here')).toBeNull();
    proxy.pause();
    // The claim is sent and hangs; after the 3 s timeout the till decides on what it has:
    // STORAGE_UNAVAILABLE (onStorageError 'prompt'), and the cashier gives up on the sale.
    const started = Date.now();
    const held = await t1.begin(sale('tok-ghost'));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect([held.verdict, held.codes]).toEqual(['prompt', ['STORAGE_UNAVAILABLE']]);
    // The network comes back: what it held is delivered, the reservation's write included.
    proxy.restore();
    await until(async () => ((await t1.call('sync')).ok ? true : undefined), 10_000, 'T1 to reconnect');
    // Whichever reached the database first, T1's reservation ends up cancelled (no charge was made) …
    const check = db.pool({ max: 1 });
    const mine = await until(
      async () => (await rows(check)).find(({ record }) => record.terminalId === 'T1' && record.status === 'cancelled'),
      5_000,
      "T1's reservation to be cancelled",
    );
    // … and nothing holds the sale anywhere.
    expect(codes(await t2.begin(sale('tok-ghost')))).toBe('allow');
    expect((await rows(check)).filter(({ record }) => record.id === mine.record.id).map(({ record }) => record.status)).toEqual([
      'cancelled',
    ]);
    await Promise.all([t1.close(), t2.close()]);
  });
});

describe('two tills cut off at once', () => {
  it('charging one sale and catching up at the same moment: the double charge is reported, by exactly one of them', async ({
    onTestFinished,
  }) => {
    const { database, tempDir, proxyTo, terminal } = lab(onTestFinished);
    const db = await database('two_cut');
    const proxies = [await proxyTo(Number(db.config.port)), await proxyTo(Number(db.config.port))];
    const dir = tempDir();
    const tills = await Promise.all(
      proxies.map((proxy, i) =>
        terminal(db, `T${i * 2 + 1}`, { db: dbConfig(db.config, proxy.port), local: join(dir, `t${i}.jsonl`), retry: '300ms' }),
      ),
    );
    for (const proxy of proxies) proxy.cut();
    const pairs: string[][] = [];
    for (let round = 0; round < 5; round++) {
      const charged = await Promise.all(
        tills.map(async (t) => {
          const d = await t.begin(sale(`tok-both-${round}`));
          expect(d.codes).toEqual(['SHARED_UNAVAILABLE']);
          await t.settle(d.attemptId as string, { status: 'approved' });
          return d.attemptId as string;
        }),
      );
      pairs.push(charged);
    }
    for (const proxy of proxies) proxy.restore();
    await Promise.all(tills.map((t) => until(async () => ((await t.call('sync')).ok ? true : undefined), 15_000, 'catch-up')));
    const reported = tills.flatMap((t) => t.events.filter((e) => e.type === 'conflict'));
    expect(reported).toHaveLength(pairs.length);
    for (const pair of pairs) {
      const found = reported.filter((e) => (e.attempts as string[]).every((id) => pair.includes(id)));
      expect(found, JSON.stringify(pair)).toHaveLength(1);
      expect(found[0]?.code).toBe('DUPLICATE_CHARGE');
    }
    await Promise.all(tills.map((t) => t.close()));
  });
});
