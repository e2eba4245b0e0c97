/**
 * atk17: the journal head kept beside the rows (Remote.appendJournal's `journal-head:<terminal>`, SharedStoreImpl
 * #readHead going on from it when the rows end before it), on the in-memory database and on real PostgreSQL.
 *
 * Findings (F = fails on the current code, P = passes: a guarantee pinned):
 *
 * F1 'a till restarted cut off goes on from a head past its rows and says so nowhere'. The rows of T1's chain end
 *    before the head kept beside them (a cut tail, or a head someone wrote: here seq 10^12). Started while the
 *    database answers, the start entry names the problem (warnings(), read once at start). Started cut off, the
 *    head is read only in the first catch-up, after the start: #readHead adds the problem to #problems, which
 *    only the NEXT start's warnings() would read; the till seals its entries at seq 10^12 + n and nothing in the
 *    journal, no event, no storage-error says why. Should: the problem found by a catch-up's #readHead reaches the
 *    journal (or a storage-error event) at once, as at start. At a till: the audit finds a chain that jumps or has
 *    a hole, with no entry from the till that noticed it at the time. (src/shared/store.ts #readHead: `#problems`
 *    read only by warnings(), called by start.ts load() only.)
 *
 * P2 (PostgreSQL) a head someone overwrote with non-JSON does not block journaling: the chain goes on from its last
 *    row, verifies, and the head kept beside it is a real head again.
 * P3 (PostgreSQL) terminal ids holding ':' and unicode ('T:1', 'T', '收银台①'): each keeps its own head, each
 *    chain verifies against it; a tail cut from one is reported not ok by verifyJournal, the others stay ok.
 * P4 a restart online with the rows cut: the start entry names the problem, and the chain is not sealed over the
 *    cut (verifyJournal over the rows: not ok).
 */
import { describe, expect, it } from 'vitest';
import { parseJournalHead, verifyJournal, type Guard, type JournalEntry } from '../../src/index.js';
import { DEFAULT_SCHEMA } from '../../src/postgres.js';
import { flush, lanes } from '../helpers/lanes.js';
import { pgTerminals } from '../helpers/pg-terminals.js';

const LANES_SECRET = 'shared-lanes-test-secret-0123456789ab';
const SECRET = 'atk17-journal-head-secret-0123456789';
const MERCHANT = 'M-ATK17';
const card = { token: 'tok_atk17_head' };

async function someSales(guard: Guard, n: number, base = 1_000) {
  for (let i = 0; i < n; i++) {
    const d = await guard.begin({ amount: base + i, currency: 'CNY', card });
    await d.attempt!.approve();
  }
}

describe('atk17: a head past the rows, found by a catch-up', () => {
  it('F1: a till restarted cut off goes on from a head past its rows and says so nowhere', async () => {
    const { time, db, open } = lanes();
    const t1 = time.terminal();
    const first = await open(t1, 'T1');
    await someSales(first, 2);
    await first.close();
    await flush();
    const rows = db.journal('M1').filter((l) => l.terminalId === 'T1');
    expect(rows.length).toBeGreaterThan(2);
    // A head beside the rows far past them (someone wrote it; or the rows' tail was lost in a restore).
    const admin = db.remote('admin');
    await admin.setMeta('M1', 'journal-head:T1', JSON.stringify({ seq: 1_000_000_000_000, hash: 'f'.repeat(64) }));

    db.disconnect('T1');
    const second = await open(t1, 'T1');
    const events: string[] = [];
    second.on('storage-error', (e) => events.push(JSON.stringify(e)));
    await someSales(second, 1, 5_000);
    db.reconnect('T1');
    await time.advance(60_000);
    await flush();
    await someSales(second, 1, 6_000);
    await time.advance(60_000);
    await flush();
    await second.close();
    await flush();

    const after = db
      .journal('M1')
      .filter((l) => l.terminalId === 'T1')
      .map((l) => l.entry);
    const sealedPast = after.filter((e) => (e.seq ?? 0) > 1_000_000_000_000);
    expect(sealedPast.length).toBeGreaterThan(0); // the chain went on from the head, never over it: as designed
    // ...but the till must say why its chain jumps: in the journal, or to the app.
    const said = after.some((e) => /before the head kept beside it/.test(e.detail ?? '')) || events.length > 0;
    expect(said).toBe(true);
  });

  it('P4: a restart online with the rows cut: the start entry names the problem, and the chain is not sealed over the cut', async () => {
    const { time, db, open } = lanes();
    const t1 = time.terminal();
    const first = await open(t1, 'T1');
    await someSales(first, 3);
    await first.close();
    await flush();
    const rows = db.journal('M1').filter((l) => l.terminalId === 'T1');
    const head = parseJournalHead(await db.remote('admin').getMeta('M1', 'journal-head:T1'));
    expect(head?.seq).toBe(rows.at(-1)!.entry.seq);
    // The rows' tail is lost (a restore from an older backup): the memory database keeps rows in an array.
    const all = db.journal('M1') as { terminalId: string | undefined; entry: JournalEntry }[];
    const cutAt = all.findIndex((l) => l.terminalId === 'T1' && l.entry.seq === head!.seq - 1);
    all.splice(cutAt, 2);
    const second = await open(t1, 'T1');
    await someSales(second, 1, 5_000);
    await second.close();
    await flush();
    const after = db
      .journal('M1')
      .filter((l) => l.terminalId === 'T1')
      .map((l) => l.entry);
    expect(after.some((e) => e.type === 'start' && /before the head kept beside it/.test(e.detail ?? ''))).toBe(true);
    expect(verifyJournal(after, { secret: LANES_SECRET }).ok).toBe(false);
  });
});

describe('atk17: the head on PostgreSQL (pins)', () => {
  const { pool, open, rows } = pgTerminals('atk17_head', MERCHANT, SECRET);
  const metaHead = async (terminalId: string) => {
    const { rows: found } = await pool().query<{ value: string }>(
      `SELECT value FROM ${DEFAULT_SCHEMA}.meta WHERE merchant_id = $1 AND key = $2`,
      [MERCHANT, `journal-head:${terminalId}`],
    );
    return found[0]?.value;
  };

  it('P2: a head overwritten with non-JSON does not block journaling; the chain goes on from its rows and verifies', async () => {
    const first = await open('TP');
    await someSales(first.guard, 2);
    await first.guard.close();
    await pool().query(`UPDATE ${DEFAULT_SCHEMA}.meta SET value = $3 WHERE merchant_id = $1 AND key = $2`, [
      MERCHANT,
      'journal-head:TP',
      'not json {{{',
    ]);
    const second = await open('TP');
    await someSales(second.guard, 2, 3_000);
    await second.guard.close();
    const chain = await rows('TP');
    const head = parseJournalHead(await metaHead('TP'));
    expect(head?.seq).toBe(chain.at(-1)!.seq);
    expect(chain.map((e) => e.seq)).toEqual(chain.map((_, i) => i + 1));
    expect(verifyJournal(chain, { secret: SECRET, head })).toMatchObject({ ok: true });
  });

  it("P3: terminal ids with ':' and unicode keep their own heads; a tail cut from one is not ok, the others are", async () => {
    const ids = ['T:1', 'T', '收银台①'];
    for (const [i, id] of ids.entries()) {
      const { guard } = await open(id);
      await someSales(guard, 2 + i, 10_000 * (i + 1));
      await guard.close();
    }
    const heads = await Promise.all(ids.map(async (id) => parseJournalHead(await metaHead(id))));
    for (const [i, id] of ids.entries()) {
      const chain = await rows(id);
      expect(heads[i]?.seq).toBe(chain.at(-1)!.seq);
      expect(verifyJournal(chain, { secret: SECRET, head: heads[i] })).toMatchObject({ ok: true });
    }
    // The tail of 'T:1' is deleted; 'T' (a prefix of it) is untouched.
    await pool().query(`DELETE FROM ${DEFAULT_SCHEMA}.journal WHERE merchant_id = $1 AND terminal_id = $2 AND seq >= $3`, [
      MERCHANT,
      'T:1',
      (heads[0]?.seq ?? 2) - 1,
    ]);
    const { guard, store } = await open('T:1');
    await someSales(guard, 1, 90_000);
    const kept = parseJournalHead(await store.getMeta('journal-head'));
    await guard.close();
    expect(verifyJournal(await rows('T:1'), { secret: SECRET, ...(kept ? { head: kept } : {}) }).ok).toBe(false);
    expect(verifyJournal(await rows('T'), { secret: SECRET, head: heads[1] })).toMatchObject({ ok: true });
    expect(verifyJournal(await rows('收银台①'), { secret: SECRET, head: heads[2] })).toMatchObject({ ok: true });
  });
});
