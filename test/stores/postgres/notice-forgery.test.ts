/**
 * From the adversarial review of postgresStore's notices (schema version 2):
 * NOTIFY needs no privilege in PostgreSQL, so any role that can connect to
 * the database can send on the channel. A notice's row was handed to the
 * guard as fact, so a forged one could let a card be charged twice or make a
 * terminal deaf to real changes. A terminal now reads the rows a notice names
 * back from the database. And LISTEN needs no privilege either: a notice
 * carried the rows, so a role without SELECT read every attempt by
 * listening. A notice now names the version written, nothing of the row.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGuard, type Guard, type Sale } from '../../../src/index.js';
import { postgresStore } from '../../../src/postgres.js';
import type { AttemptRecord, StoreChange } from '../../../src/types.js';
import { adminQuery, freshDatabase, testServer, type FreshDatabase } from '../../helpers/postgres.js';

const SECRET = 'attack-notices-secret-0123456789';
const sale = (token: string, amount = 1250): Sale => ({ amount, currency: 'CNY', card: { token } });

let db: FreshDatabase;
const guards: Guard[] = [];
const ROLE = `reporter_${process.pid}`;
beforeAll(async () => {
  db = await freshDatabase('attack_notices');
  // A role with no grant at all on the guard's schema: it may only connect.
  await adminQuery(testServer(), `DROP ROLE IF EXISTS ${ROLE}`).catch(() => undefined);
  await adminQuery(testServer(), `CREATE ROLE ${ROLE} LOGIN PASSWORD 'reporter'`);
});
afterAll(async () => {
  await Promise.all(guards.splice(0).map((guard) => guard.close().catch(() => undefined)));
  await db.drop();
  await adminQuery(testServer(), `DROP ROLE IF EXISTS ${ROLE}`).catch(() => undefined);
});

async function terminal(terminalId: string) {
  const pool = db.pool({ max: 3 });
  const store = postgresStore({ pool, retry: '100ms' });
  const guard = await createGuard({ merchantId: 'M1', terminalId, secret: SECRET, store });
  guards.push(guard);
  const heard: StoreChange[] = [];
  store.subscribe?.((change) => heard.push(change));
  return { pool, store, guard, heard };
}

const statusHeard = (heard: readonly StoreChange[], id: string | undefined) =>
  heard.flatMap((change) => (change.type === 'record' && change.record.id === id ? [change.record.status] : []));

/** pg_notify as the unprivileged role. */
async function forge(payload: unknown): Promise<void> {
  const client = new pg.Client({ ...db.config, user: ROLE, password: 'reporter' });
  await client.connect();
  try {
    await client.query(`SELECT pg_notify('pos_duplicate_guard', $1)`, [JSON.stringify(payload)]);
  } finally {
    await client.end();
  }
}

describe('forged notices (any role that can connect may NOTIFY)', () => {
  it('a role with no grant cannot tell a terminal an approved sale was declined: the notice is read back, the repeat stays DUPLICATE_CHARGE', async () => {
    const t1 = await terminal('T1');
    const t2 = await terminal('T2');
    const first = await t1.guard.begin(sale('tok-forge-1'));
    const id = first.attempt?.id as string;
    await first.attempt?.approve({ authCode: 'A1' });
    await vi.waitFor(() => expect(statusHeard(t2.heard, id)).toContain('approved'), { timeout: 3_000 });
    const approved = t2.heard.flatMap((c) => (c.type === 'record' && c.record.id === id ? [c.record] : [])).at(-1) as AttemptRecord;
    // The forger only needs the row as any terminal heard it (or as a SELECT-only reporting role reads it).
    const forged = { ...approved, status: 'declined', updatedAt: approved.updatedAt + 1 };
    await forge(['M1', [[id, 9_007_199_254_740_991, 0, Date.now(), forged]], 'w_forged']);
    // Taken as an id to read back, the notice brings the row as the database holds it: approved.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(statusHeard(t2.heard, id).at(-1)).toBe('approved');
    // The same sale on T2: the database still holds it approved.
    const again = await t2.guard.begin(sale('tok-forge-1'));
    // Without the forged notice T2 answers DUPLICATE_CHARGE (remote.test.ts, 'notices'); with it: allow, a second charge.
    expect({ verdict: again.verdict, codes: again.reasons.map((r) => r.code) }).toMatchObject({ codes: ['DUPLICATE_CHARGE'] });
  });

  it('a role with no grant on the schema reads nothing of an attempt by listening (LISTEN needs no privilege): a notice names a version', async () => {
    const t1 = await terminal('T5');
    const spy = new pg.Client({ ...db.config, user: ROLE, password: 'reporter' });
    await spy.connect();
    const overheard: string[] = [];
    spy.on('notification', (message) => overheard.push(message.payload ?? ''));
    await spy.query('LISTEN pos_duplicate_guard');
    // It cannot SELECT the table ...
    await expect(spy.query('SELECT record FROM pos_duplicate_guard.attempts')).rejects.toThrow(/permission denied/);
    const first = await t1.guard.begin(sale('tok-spy-1', 4321));
    await first.attempt?.approve({ authCode: 'SECRET-AUTH' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await spy.end();
    // ... and is told nothing of the row: not the attempt, its amount, its fingerprint, its card's BIN/last 4, not even its id.
    expect(overheard.length, 'it did hear the notices').toBeGreaterThan(0);
    const told = overheard.filter((payload) => payload.includes(first.attempt?.id as string));
    expect(told, 'notices a role without SELECT can read').toEqual([]);
    for (const payload of overheard) expect(payload).toMatch(/^\["M1", ?\[\d+(,\d+)*\], ?"w_[\w-]+"\]$/);
  });

  it('a forged notice at a huge version does not make a terminal deaf to the real changes of that row', async () => {
    const t1 = await terminal('T3');
    const t2 = await terminal('T4');
    const first = await t1.guard.begin(sale('tok-forge-2'));
    const id = first.attempt?.id as string;
    // A timeout: announced (a new sale's reservation is not).
    await first.attempt?.markUnknown({ code: 'TIMEOUT' });
    await vi.waitFor(() => expect(statusHeard(t2.heard, id)).toEqual(['unknown']), { timeout: 3_000 });
    const unknown = t2.heard.flatMap((c) => (c.type === 'record' && c.record.id === id ? [c.record] : [])).at(-1) as AttemptRecord;
    // The same record, unchanged: only its version is forged.
    await forge(['M1', [[id, 9_007_199_254_740_991, 0, Date.now(), unknown]], 'w_forged']);
    await vi.waitFor(() => expect(statusHeard(t2.heard, id)).toEqual(['unknown', 'unknown']), { timeout: 3_000 });
    // The real approval on T1 (the processor's late answer): T2 must hear it (SPEC §9: within 1 s).
    await first.attempt?.approve({ authCode: 'A2' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(statusHeard(t2.heard, id)).toEqual(['unknown', 'unknown', 'approved']);
  });

  it('a forged changedAt in the future does not make a terminal miss the changes made while its LISTEN connection was down', async () => {
    const t1 = await terminal('T6');
    const t2 = await terminal('T7');
    const first = await t1.guard.begin(sale('tok-forge-3'));
    const id = first.attempt?.id as string;
    await first.attempt?.markUnknown({ code: 'TIMEOUT' });
    await vi.waitFor(() => expect(statusHeard(t2.heard, id)).toEqual(['unknown']), { timeout: 3_000 });
    // A row nobody has: only its changedAt matters (the day after tomorrow).
    const fake = { v: 1, id: 'pdg_forged_row_0001', merchantId: 'M1', kind: 'sale', status: 'declined', amount: 1, currency: 'CNY' };
    await forge(['M1', [['pdg_forged_row_0001', 1, 0, Date.now() + 2 * 86_400_000, fake]], 'w_forged']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // T2's LISTEN connection drops (a network blip, a pgbouncer restart); T1 approves meanwhile.
    const admin = db.pool({ max: 1 });
    const pids = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
    );
    expect(pids.rows.length).toBeGreaterThan(0);
    for (const { pid } of pids.rows) await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await first.attempt?.approve({ authCode: 'A3' });
    // Once listening again, T2 reads what changed since the last change it saw (SPEC §9: within 1 s).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(statusHeard(t2.heard, id)).toEqual(['unknown', 'approved']);
  });
});
