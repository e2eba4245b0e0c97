/**
 * A till whose network died while the server was sending to it: its Wi-Fi
 * dropped, or it lost power, just as another lane's settle was being
 * announced. Packets vanish, nothing is reset. The server's session of the
 * till's listening connection holds the till's terminal id (a session lock):
 * until the server gives that session up, the till, restarted or replaced,
 * is refused its own id (LOCKED).
 *
 * Keepalives do not help here: the kernel sends them only on an idle
 * connection, and this one has a notice unacknowledged, so it is
 * retransmitted instead for tcp_retries2 (some 15 minutes). The store sets
 * `tcp_user_timeout` on that session for this (remote.ts): the server drops
 * it about 20 s after the first unacknowledged send. A proxy in user space
 * cannot show this (it acknowledges what the server sends); the till here is
 * a process in a network namespace of the test's own, whose link the test
 * pulls.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkNamespace, type NetworkNamespace } from '../../helpers/netns.js';
import { privateServer, type FreshDatabase, type PrivateServer } from '../../helpers/postgres.js';
import { dbConfig, killAll, startTerminal, until } from './terminals.js';

const SECRET = 'dead-link-test-secret-0123456789';
const MERCHANT = 'M-DEAD-LINK';
/** The server gives the session up about 20 s after its first unacknowledged send; keepalives (10 s + 2 × 5 s) would not, for 15 minutes. */
const LET_GO_WITHIN_MS = 40_000;

let ns: NetworkNamespace;
let server: PrivateServer;
let db: FreshDatabase;
let admin: pg.Pool;

beforeAll(async () => {
  ns = networkNamespace(100 + (process.pid % 150));
  server = await privateServer({ alsoListenOn: [ns.hostAddress] });
  db = await server.freshDatabase('dead_link');
  admin = db.pool({ max: 1 });
}, 30_000);

afterAll(async () => {
  await killAll();
  await db?.drop();
  await server?.close();
  ns?.remove();
});

/**
 * The server's sessions of the till that hold an advisory lock: its
 * listening session, which holds its terminal id. (Its query connection is
 * idle, with nothing unacknowledged and no lock: the server keeps it until
 * its own keepalives give up, and it holds nothing the till needs back.)
 */
async function holdsOfTheTill(): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    `SELECT DISTINCT a.pid FROM pg_stat_activity AS a JOIN pg_locks AS l ON l.pid = a.pid AND l.locktype = 'advisory'
      WHERE a.client_addr = $1`,
    [ns.address],
  );
  return rows.map((r) => r.pid);
}

describe('a till whose network died while a notice was on its way to it', () => {
  it('lets its terminal id go within about 20 s: a till started again with that id is not refused for 15 minutes', async () => {
    const wifi = { merchantId: MERCHANT, terminalId: 'WIFI', secret: SECRET, timeout: '1s', retry: '200ms' };
    const till = await startTerminal({ ...wifi, db: dbConfig({ ...db.config, host: ns.hostAddress }) }, ns.exec);
    const lane2 = await startTerminal({ db: dbConfig(db.config), merchantId: MERCHANT, terminalId: 'LANE-2', secret: SECRET });
    const sale = { amount: 1_250, currency: 'CNY', card: { token: 'tok_dead_link_1' } };
    const first = await till.begin(sale);
    await till.settle(first.attemptId!, { status: 'approved', authCode: '111111' });
    expect(await holdsOfTheTill()).toHaveLength(1); // its listening session holds 'WIFI'

    ns.pull();
    // Another lane's settle: the server announces it, and sends the notice to the till that can no longer hear.
    const other = await lane2.begin({ ...sale, card: { token: 'tok_dead_link_2' } });
    await lane2.settle(other.attemptId!, { status: 'approved', authCode: '222222' });
    const pulled = Date.now();
    // The id is held meanwhile: a till started with it now is refused.
    await expect(startTerminal({ ...wifi, db: dbConfig(db.config) })).rejects.toThrow(/LOCKED/);

    await until(
      async () => ((await holdsOfTheTill()).length === 0 ? true : undefined),
      LET_GO_WITHIN_MS,
      'the server to give up the dead till',
      500,
    );
    const lettingGoMs = Date.now() - pulled;
    const replacement = await startTerminal({ ...wifi, db: dbConfig(db.config) });
    const third = await replacement.begin({ ...sale, card: { token: 'tok_dead_link_3' } });
    expect(third.verdict).toBe('allow');
    expect(lettingGoMs).toBeGreaterThan(5_000); // given up by the timeout, not by a reset
    await replacement.close();
    await lane2.close();
    await till.kill();
  }, 90_000);
});
