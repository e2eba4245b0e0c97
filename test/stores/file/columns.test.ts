import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeRecord } from '../../../src/record.js';
import type { FileColumns } from '../../../src/stores/file/columns.js';
import { hashString } from '../../../src/stores/file/hash.js';
import { Replay, deleteLine, fromRecordLine, headerLine, metaLine, recordLine, replay, type Replayed } from '../../../src/stores/file/jsonl.js';
import type { AttemptRecord, AttemptStatus } from '../../../src/types.js';

/*
 * A file's deferred records (FileColumns) are built by `replay`, so they are
 * tested through it: a file written from a random history, replayed, must
 * hold what a plain model of the history holds (the last line per id wins,
 * a delete removes), whether a record went the column way or the JSON.parse
 * way. The columns are what the guard files deferred records by without
 * building them (src/deferred.ts): each must say what the built record says.
 */

/** The whole file, replayed at once (the columns keep the file's buffer unless they copy their lines out). */
const replayAll = (bytes: Buffer): Replayed => replay(bytes);

/** The same file with every record line read by JSON.parse: a space after `[` is JSON, but not a line the column reader takes. */
const parsedOnly = (text: string): string => text.replace(/^\[/gm, '[ ');

const T0 = 1_700_000_000_000;
const STATUSES: AttemptStatus[] = ['pending', 'unknown', 'approved', 'declined', 'cancelled', 'voided', 'refunded'];

/** A record version, in the few fields that decide its line's shape and its columns. */
interface Version {
  id: string;
  status: AttemptStatus;
  kind: 'sale' | 'refund';
  merchant: string;
  t: number;
  approved?: number | undefined;
  order?: string | undefined;
  last4?: string | undefined;
  terminal?: string | undefined;
  /** Flat rare fields (the reader takes the line), or a nested one (it goes the JSON.parse way). */
  rare?: 'flat' | 'nested' | undefined;
}

function build(v: Version): AttemptRecord {
  return makeRecord({
    v: 1, id: v.id, idempotencyKey: v.id, fingerprint: `fp-${v.id}-${v.t % 7}`, merchantId: v.merchant, kind: v.kind, amount: 100 + v.t,
    currency: 'CNY', status: v.status, createdAt: T0 + v.t, updatedAt: T0 + v.t + 5, pendingSince: T0 + v.t + 1, refunded: v.kind === 'sale' ? v.t % 3 : 0,
    approvedAt: v.approved === undefined ? undefined : T0 + v.approved, orderId: v.order, last4: v.last4, terminalId: v.terminal,
    ...(v.rare === 'flat' ? { operator: 'op-1', processorRef: `P-${v.t}` } : {}),
    ...(v.rare === 'nested' ? { refunds: [{ id: `r-${v.t}`, amount: 1 }] } : {}),
  });
}

const liveCount = (deferred: FileColumns): number => {
  let live = 0;
  for (let slot = 0; slot < deferred.slots; slot++) if (deferred.live(slot)) live++;
  return live;
};

/**
 * What each column of `slot` says against the record it decodes to, as a
 * list of disagreements (one `expect` per slot would make 5000 slots slow).
 */
function columnsDisagree(deferred: FileColumns, slot: number, record: AttemptRecord): string[] {
  const wrong: string[] = [];
  const check = (what: string, got: unknown, want: unknown) => {
    if (!Object.is(got, want)) wrong.push(`slot ${slot} (${record.id}): ${what} ${String(got)}, record says ${String(want)}`);
  };
  check('id', deferred.id(slot), record.id);
  check('find', deferred.find(record.id), slot);
  check('status', deferred.status(slot), record.status);
  check('kind', deferred.kind(slot), record.kind);
  check('updatedAt', deferred.updatedAt(slot), record.updatedAt);
  check('approvedAt', deferred.approvedAt(slot), record.approvedAt ?? Number.NaN);
  return wrong;
}

/** `ordersOf` for each merchant + order, against the live deferred records on it (`extra` pairs too, mostly none). */
function ordersDisagree(deferred: FileColumns, decoded: ReadonlyMap<number, AttemptRecord>, extra: readonly [string, string][]): string[] {
  const want = new Map<string, number[]>();
  const key = (merchant: string, order: string) => JSON.stringify([merchant, order]);
  for (const [merchant, order] of extra) want.set(key(merchant, order), []);
  for (const [slot, record] of decoded) {
    if (record.orderId === undefined) continue;
    const k = key(record.merchantId, record.orderId);
    want.set(k, [...(want.get(k) ?? []), slot]);
  }
  const wrong: string[] = [];
  for (const [k, slots] of want) {
    const [merchant, order] = JSON.parse(k) as [string, string];
    const got = [...deferred.ordersOf(merchant, order)].sort((x, y) => x - y);
    if (JSON.stringify(got) !== JSON.stringify(slots)) wrong.push(`ordersOf(${merchant}, ${order}): ${got.join(' ')}, want ${slots.join(' ')}`);
  }
  return wrong;
}

/**
 * Every live record of a replayed file by id, deferred ones decoded, after
 * checking that no id is live twice, that a built record has no deferred
 * slot, and that each deferred slot's columns say what its record says.
 */
function liveRecords(replayed: Replayed, orders: readonly [string, string][] = []): Map<string, AttemptRecord> {
  const { records, deferred } = replayed.live;
  const out = new Map<string, AttemptRecord>();
  const wrong: string[] = [];
  for (const record of records) {
    if (out.has(record.id)) wrong.push(`${record.id} built twice`);
    if (deferred.find(record.id) !== -1) wrong.push(`${record.id} built and deferred`);
    out.set(record.id, record);
  }
  const decoded = new Map<number, AttemptRecord>();
  for (let slot = 0; slot < deferred.slots; slot++) {
    if (!deferred.live(slot)) continue;
    const id = deferred.id(slot);
    if (out.has(id)) wrong.push(`${id} live twice`);
    const record = deferred.decode(slot);
    // The line as kept decodes to the same record (after a copy too).
    const again = fromRecordLine(JSON.parse(deferred.line(slot)) as unknown[]);
    if (typeof again === 'string' || again.id !== record.id) wrong.push(`slot ${slot}: line() reads ${deferred.line(slot)}`);
    wrong.push(...columnsDisagree(deferred, slot, record));
    out.set(id, record);
    decoded.set(slot, record);
  }
  wrong.push(...ordersDisagree(deferred, decoded, orders));
  expect(wrong).toEqual([]);
  return out;
}

/** Pairs to ask `ordersOf` about besides those in use: some no record is on (it must say none), some a history may use. */
const OTHER_ORDERS: [string, string][] = [['m-1', 'o-x'], ['m-x', 'o-1'], ['m-1', 'o-1'], ['m-2', ''], ['', 'o-1']];

/** Checks a replayed file against the model: live records, unknown ids, and the live-id set. */
function expectModel(replayed: Replayed, model: ReadonlyMap<string, AttemptRecord>, otherIds: readonly string[]): void {
  const live = liveRecords(replayed, OTHER_ORDERS);
  expect([...live.keys()].sort()).toEqual([...model.keys()].sort());
  for (const [id, record] of model) expect(live.get(id)).toEqual(record);
  const { records, deferred } = replayed.live;
  const gone = otherIds.filter((id) => !model.has(id));
  expect(gone.filter((id) => deferred.find(id) !== -1)).toEqual([]);
  const ids = deferred.liveIds(records);
  expect(ids.size).toBe(model.size);
  expect([...model.keys()].filter((id) => !ids.has(id))).toEqual([]);
  expect(gone.filter((id) => ids.has(id))).toEqual([]);
}

// ── random histories ────────────────────────────────────────────────────

const IDS = ['a', 'b', 'c', 'd', 'e', 'att-1', 'att-10'];
const MERCHANTS = ['m-1', 'm-2', 'm-10', 'M'];

const version = (id: fc.Arbitrary<string>): fc.Arbitrary<Version> =>
  fc.record({
    id,
    status: fc.constantFrom(...STATUSES),
    kind: fc.constantFrom('sale' as const, 'refund' as const),
    merchant: fc.constantFrom(...MERCHANTS),
    t: fc.nat({ max: 100_000_000 }),
    // Each optional field absent or not, so lines end anywhere from field 12 to 18.
    approved: fc.option(fc.nat({ max: 100_000_000 }), { nil: undefined }),
    order: fc.option(fc.constantFrom('o-1', 'o-2', ''), { nil: undefined }),
    last4: fc.option(fc.constant('4242'), { nil: undefined }),
    terminal: fc.option(fc.constant('T-1'), { nil: undefined }),
    rare: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('flat' as const, 'nested' as const) }),
  });

/** Lines that are reported and skipped, and leave the id's earlier version live. */
const BAD = {
  // Taken by the column reader, refused when filed: an unknown status.
  status: (id: string) => `[1,"${id}","fp","paid","sale",1,"CNY","m-1",1,2,3,0]`,
  // An array that is not a version 1 layout.
  layout: (id: string) => `[2,"${id}","fp","approved","sale",1,"CNY","m-1",1,2,3,0]`,
  // A torn line in the middle of the file.
  json: (id: string) => `[1,"${id}","fp","appr`,
};

type Op =
  | { op: 'put'; v: Version }
  | { op: 'delete'; id: string }
  | { op: 'meta'; key: string; value: string }
  | { op: 'bad'; id: string; how: keyof typeof BAD };

const opOver = (id: fc.Arbitrary<string>): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 8, arbitrary: version(id).map((v) => ({ op: 'put' as const, v })) },
    { weight: 2, arbitrary: id.map((id) => ({ op: 'delete' as const, id })) },
    { weight: 1, arbitrary: fc.record({ key: fc.constantFrom('k1', 'k2'), value: fc.string({ maxLength: 5 }) }).map((m) => ({ op: 'meta' as const, ...m })) },
    { weight: 1, arbitrary: fc.record({ id, how: fc.constantFrom('status' as const, 'layout' as const, 'json' as const) }).map((b) => ({ op: 'bad' as const, ...b })) },
  );

interface File {
  text: string;
  model: Map<string, AttemptRecord>;
  meta: Map<string, string>;
  /** 1-based line numbers of the lines replay must report. */
  problems: number[];
}

/** Writes `ops` as a file, as the store appends them, and what a model says the file holds. */
function write(ops: readonly Op[]): File {
  const lines = [headerLine()];
  const model = new Map<string, AttemptRecord>();
  const meta = new Map<string, string>();
  const problems: number[] = [];
  for (const op of ops) {
    if (op.op === 'put') {
      const record = build(op.v);
      lines.push(recordLine(record));
      model.set(record.id, record);
    } else if (op.op === 'delete') {
      lines.push(deleteLine(op.id));
      model.delete(op.id);
    } else if (op.op === 'meta') {
      lines.push(metaLine(op.key, op.value));
      meta.set(op.key, op.value);
    } else {
      lines.push(BAD[op.how](op.id));
      problems.push(lines.length);
    }
  }
  return { text: `${lines.join('\n')}\n`, model, meta, problems };
}

/** Replays `file` and checks it against its model; returns the replay. */
function replayAndCheck(file: File, otherIds: readonly string[]): Replayed {
  const replayed = replayAll(Buffer.from(file.text));
  expectModel(replayed, file.model, otherIds);
  expect(replayed.problems.map((p) => p.line)).toEqual(file.problems);
  expect(replayed.meta).toEqual(file.meta);
  // Start-up really defers: the last version of a record is in the columns, unless it has a refund list (nested).
  const { deferred } = replayed.live;
  const wrong = [...file.model].filter(([id, record]) => (deferred.find(id) >= 0) !== (record.refunds === undefined));
  expect(wrong.map(([id]) => id)).toEqual([]);
  return replayed;
}

describe('replay files a random history as a model of it says', () => {
  it('ordinary and rare records, deletes, meta and bad lines, over a few ids', () => {
    fc.assert(
      fc.property(fc.array(opOver(fc.constantFrom(...IDS)), { maxLength: 40, size: 'max' }), (ops) => {
        const file = write(ops);
        replayAndCheck(file, [...IDS, 'f', 'att-', 'att-100', '']);
      }),
      { numRuns: 300 },
    );
  });

  it('means the same as the JSON.parse way, line for line', () => {
    // The column reader decides speed, never meaning: the same file with every line parsed holds the same records.
    fc.assert(
      fc.property(fc.array(opOver(fc.constantFrom(...IDS)), { maxLength: 30, size: 'max' }), (ops) => {
        const { text } = write(ops);
        const fast = replayAll(Buffer.from(text));
        const slow = replayAll(Buffer.from(parsedOnly(text)));
        expect(liveCount(slow.live.deferred)).toBe(0);
        expect(liveRecords(fast)).toEqual(liveRecords(slow));
        expect(fast.problems).toEqual(slow.problems);
      }),
      { numRuns: 300 },
    );
  });

  it('replays a file fed in pieces as it replays it whole, a torn last line left over', () => {
    // The store reads the file in chunks into one buffer and feeds each as it lands: a chunk may end mid-line, and
    // the part not landed yet holds whatever the buffer held (newlines and record-like bytes here).
    fc.assert(
      fc.property(
        fc.array(opOver(fc.constantFrom(...IDS)), { maxLength: 20, size: 'max' }),
        fc.constantFrom('', '[1,"a","fp","appr', '{"op":"delete","id":"a"}'),
        fc.array(fc.nat(), { maxLength: 6 }),
        (ops, torn, cuts) => {
          const file = write(ops);
          const whole = Buffer.from(file.text + torn);
          const length = whole.length;
          const buffer = Buffer.alloc(length, '\n[1,"a",');
          const replayer = new Replay(buffer);
          let arrived = 0;
          for (const cut of [...cuts.map((c) => c % (length + 1)).sort((x, y) => x - y), length]) {
            whole.copy(buffer, arrived, arrived, cut);
            arrived = Math.max(arrived, cut);
            replayer.feed(arrived);
          }
          const fed = replayer.finish(length);
          const atOnce = replayAll(whole);
          expect(fed.tornBytes).toBe(Buffer.byteLength(torn));
          expect({ ...fed, live: undefined }).toEqual({ ...atOnce, live: undefined });
          expect(liveRecords(fed)).toEqual(liveRecords(atOnce));
          expectModel(fed, file.model, IDS);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps every record right once mostly dead lines make it copy the live ones out', () => {
    // Each id rewritten 4..8 times: the live lines are well under the share that keeps the file's buffer, so the
    // columns copy them out. Overwriting the file's buffer afterwards shows nothing still reads it.
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...IDS, 'f', 'g', 'h'), { minLength: 1 }).chain((ids) =>
          fc.tuple(fc.constant(ids), fc.shuffledSubarray(ids.flatMap((id) => Array.from({ length: 8 }, () => id)), { minLength: ids.length * 6 })),
        ),
        fc.array(version(fc.constant('')), { minLength: 1, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        ([ids, order], versions, deletes) => {
          const ops: Op[] = order.map((id, i) => ({ op: 'put', v: { ...(versions[i % versions.length] as Version), id, t: i, rare: undefined } }));
          // Some ids end deleted: a copy leaves out dead and deleted lines alike.
          ids.forEach((id, i) => deletes[i] && ops.push({ op: 'delete', id }));
          const file = write(ops);
          const bytes = Buffer.from(file.text);
          const replayed = replayAll(bytes);
          bytes.fill('#');
          expectModel(replayed, file.model, [...IDS, 'f', 'g', 'h']);
        },
      ),
      { numRuns: 200 },
    );
  });
});

// ── by example ──────────────────────────────────────────────────────────

/** An ordinary version of `id`: `n` picks its status, merchant and which optional fields it has. */
function ordinary(id: string, n: number, merchant = MERCHANTS[n % MERCHANTS.length] as string): Version {
  return {
    id, status: STATUSES[n % STATUSES.length] as AttemptStatus, kind: n % 5 === 0 ? 'refund' : 'sale', merchant, t: n,
    approved: n % 2 === 0 ? n + 3 : undefined, order: n % 3 === 0 ? `o-${n % 11}` : undefined, last4: n % 4 === 0 ? '4242' : undefined, terminal: n % 6 === 0 ? 'T-9' : undefined,
  };
}

describe('replay and its columns by example', () => {
  it('finds each of 5000 ids, through long probe chains, after rewrites and deletes', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => `att_${(i * 7919).toString(36)}`);
    const ops: Op[] = ids.map((id, i) => ({ op: 'put', v: ordinary(id, i) }));
    ids.forEach((id, i) => {
      if (i % 3 === 0) ops.push({ op: 'put', v: ordinary(id, i + 1) });
      if (i % 7 === 0) ops.push({ op: 'delete', id });
    });
    const file = write(ops);
    const unseen = Array.from({ length: 5000 }, (_, i) => `att_${(i * 7919 + 1).toString(36)}x`);
    const replayed = replayAndCheck(file, [...ids, ...unseen, 'att_', '']);
    expect(replayed.live.records).toEqual([]);
    expect(liveCount(replayed.live.deferred)).toBe(ids.filter((_, i) => i % 7 !== 0).length);
  });

  it('grows its columns and tables when the file\'s first MiB has longer lines than the rest', () => {
    // The columns are sized from the lines of the first MiB: 3000 long lines (a 400-character terminal id) there,
    // then 12000 short ones, so they are sized for ~7k slots and must grow, rebuilding both tables, mid-replay.
    const long = 'T'.repeat(400);
    const ids = Array.from({ length: 15_000 }, (_, i) => `g_${i.toString(36)}`);
    const ops: Op[] = ids.map((id, i) => ({ op: 'put', v: { ...ordinary(id, i), terminal: i < 3000 ? long : undefined } }));
    for (let i = 0; i < 15_000; i += 11) ops.push({ op: 'delete', id: ids[i] as string });
    const file = write(ops);
    const replayed = replayAndCheck(file, [...ids, 'g_', 'g_zzzzz']);
    liveRecords(replayed, MERCHANTS.flatMap((m) => Array.from({ length: 11 }, (_, o): [string, string] => [m, `o-${o}`])));
  });

  it('tells apart ids that share the id table\'s hash, one a prefix of the others', () => {
    // Found by a meet-in-the-middle search on hashString(id, false): all four hash alike, so they probe the same
    // chain and only the byte comparison (length included) tells them apart. The prefix sits second in the chain:
    // looking it up passes a longer id, and filing the later ones passes it.
    const ids = ['att-1KbLAgO', 'att-1', 'att-15MGFhE', 'att-1K5KMus'];
    expect(new Set(ids.map((id) => hashString(id, false))).size).toBe(1);
    const ops: Op[] = ids.map((id, i) => ({ op: 'put', v: ordinary(id, i) }));
    ops.push({ op: 'put', v: ordinary('att-15MGFhE', 7) }, { op: 'delete', id: 'att-1K5KMus' });
    replayAndCheck(write(ops), [...ids, 'att-1K', 'att-1KbLAgOx', 'att-']);
  });

  it('finds the records on each merchant\'s order among many merchants and orders', () => {
    // 30 merchants x 40 orders, about half the pairs used: the merchant + order table is crowded enough that a
    // lookup for a pair nobody used runs past the entries of the same order at other merchants.
    const merchants = Array.from({ length: 30 }, (_, i) => `m-${i}`);
    const orders = Array.from({ length: 40 }, (_, i) => `o-${i}`);
    const ops: Op[] = [];
    for (let i = 0; i < 700; i++) {
      const merchant = merchants[(i * 7) % 30] as string;
      ops.push({ op: 'put', v: { ...ordinary(`id-${i % 600}`, i, merchant), order: orders[(i * 13 + Math.floor(i / 30)) % 40] } });
    }
    const replayed = replayAll(Buffer.from(write(ops).text));
    liveRecords(replayed, merchants.flatMap((m) => orders.map((o): [string, string] => [m, o])));
  });

  it('files merchants that alternate line by line, one a prefix of another', () => {
    const merchants = ['m-1', 'm-10', 'm-1', 'm-2', 'm-1', 'm-1', 'm-10', 'm', 'm-2'];
    const distinct = [...new Set(merchants)];
    // All on one order number: only the merchant tells them apart.
    const put = (i: number, merchant: string): Op => ({ op: 'put', v: { ...ordinary(`id-${i}`, i, merchant), order: 'o-1' } });
    /** Each id's merchant as the columns have it: which merchant's order holds its slot. */
    const merchantsOf = (deferred: FileColumns) =>
      merchants.map((_, i) => distinct.filter((m) => deferred.ordersOf(m, 'o-1').includes(deferred.find(`id-${i}`))));
    const expected = (round: number) => merchants.map((_, i) => [merchants[(i + round) % merchants.length]]);
    const ops = merchants.map((m, i) => put(i, m));
    expect(merchantsOf(replayAndCheck(write(ops), []).live.deferred)).toEqual(expected(0));
    // And again after a copy: every id rewritten four times more, the merchants turned round one place each time.
    for (let round = 1; round <= 4; round++) merchants.forEach((_, i) => ops.push(put(i, merchants[(i + round) % merchants.length] as string)));
    const file = write(ops);
    const bytes = Buffer.from(file.text);
    const replayed = replayAll(bytes);
    bytes.fill(0);
    expectModel(replayed, file.model, []);
    expect(merchantsOf(replayed.live.deferred)).toEqual(expected(4));
  });

  it('leaves nothing live when every record is deleted', () => {
    const file = write([...IDS.map((id, i): Op => ({ op: 'put', v: ordinary(id, i) })), ...IDS.map((id): Op => ({ op: 'delete', id }))]);
    const replayed = replayAndCheck(file, IDS);
    expect(liveCount(replayed.live.deferred)).toBe(0);
    expect(replayed.live.deferred.liveIds([]).size).toBe(0);
  });

  it('a deferred line takes an id over from a parsed one, and a parsed one from a deferred one', () => {
    const plain = ordinary('x', 1);
    const rare = { ...ordinary('x', 2), rare: 'nested' as const };
    for (const order of [[plain, rare], [rare, plain], [plain, rare, plain], [rare, plain, rare]]) {
      const file = write(order.map((v, t): Op => ({ op: 'put', v: { ...v, t } })));
      replayAndCheck(file, ['y']);
    }
  });

  it('finds an order\'s live records after the copy, though a dead line was the last one on it', () => {
    // b's first line is on a's order; b then moves off it. Two live lines of three: under the share that keeps the
    // file's buffer, so the live lines are copied out and b's dead one is not.
    const on = (id: string, merchant: string, order: string | undefined, t: number): Op => ({ op: 'put', v: { ...ordinary(id, 1, merchant), order, t } });
    const file = write([on('a', 'm-2', 'o-2', 0), on('b', 'm-2', 'o-2', 1), on('b', 'm-1', undefined, 2)]);
    const bytes = Buffer.from(file.text);
    const replayed = replayAll(bytes);
    bytes.fill(0);
    expectModel(replayed, file.model, []);
    const { deferred } = replayed.live;
    expect(deferred.ordersOf('m-2', 'o-2')).toEqual([deferred.find('a')]);
  });

  it('says approvedAt is NaN for a 12-field line, whatever line came before it', () => {
    // A 12-field line has no approvedAt at all; the columns must not read one left over from the line before.
    const approved = build({ id: 'a', status: 'approved', kind: 'sale', merchant: 'm-1', t: 1, approved: 5 });
    const declined = build({ id: 'b', status: 'declined', kind: 'sale', merchant: 'm-1', t: 2 });
    expect(recordLine(declined)).toBe('[1,"b","fp-b-2","declined","sale",102,"CNY","m-1",1700000000002,1700000000007,1700000000003,2]');
    const { deferred } = replayAll(Buffer.from(`${recordLine(approved)}\n${recordLine(declined)}\n`)).live;
    expect(deferred.approvedAt(deferred.find('a'))).toBe(T0 + 5);
    expect(deferred.approvedAt(deferred.find('b'))).toBeNaN();
  });

  it('reports a record line with an empty id as the JSON.parse way does, not defer it', () => {
    // recordProblem refuses an empty id; a line the columns take must decode, or load() throws on it later.
    const line = '[1,"","fp","approved","sale",100,"CNY","m-1",1,2,3,0]';
    const slow = replayAll(Buffer.from(`${parsedOnly(line)}\n`));
    expect(slow.problems).toEqual([{ line: 1, problem: 'a record without a string "id"' }]);
    const fast = replayAll(Buffer.from(`${line}\n`));
    expect(fast.problems).toEqual(slow.problems);
    expect(liveCount(fast.live.deferred)).toBe(0);
  });
});

// ── near-valid lines ────────────────────────────────────────────────────

/** Raw field texts near what the guard writes: the right thing, or a near miss of it. */
const near = (...texts: string[]) => fc.constantFrom(...texts);
const nearLine = fc
  .tuple(
    near('1', '1', '1', '2', '0', '10'),
    near('"a"', '"b"', '"a"', '""', '"a b"', '"\\u0061"', 'null', '7'),
    near('"fp"', '""', '1'),
    near('"approved"', '"pending"', '"refunded"', '"paid"', '"approve"', '"Approved"', '""', 'null'),
    near('"sale"', '"refund"', '"Refund"', '""'),
    near('1250', '0', '999999999999999', '1000000000000000', '12.5', '-1', '"1"'),
    near('"CNY"', '""', 'null'),
    near('"m-1"', '"m-2"', '""', '"m-1 "'),
    near('1700000000000', '0', 'null', '"1"'),
    near('1700000000001', '1'),
    near('1700000000000', '2'),
    near('0', '1', 'null'),
    fc.array(near('null', '5', '"5"', '""', '"x"', '0'), { maxLength: 6 }),
    near('', '', '{}', '{"operator":"o"}', '{"orderTotal":5}', '{"orderTotal":"5"}', '{"refundOf":1}', '{"refunds":[]}', '{"idempotencyKey":"k"}', '{"new":"x"}'),
  )
  .map(([layout, id, fp, status, kind, amount, currency, merchant, created, updated, pending, refunded, tail, rare]) => {
    const fields = [layout, id, fp, status, kind, amount, currency, merchant, created, updated, pending, refunded, ...tail];
    // A rare fields' object only ever follows all 18 positional fields.
    if (rare !== '') while (fields.length < 18) fields.push('null');
    return `[${[...fields, ...(rare === '' ? [] : [rare])].join(',')}]`;
  });

describe('replay of near-valid record lines', () => {
  it('means what JSON.parse means, and every line the columns keep decodes', () => {
    fc.assert(
      fc.property(fc.array(nearLine, { minLength: 1, maxLength: 6 }), (lines) => {
        const text = `${lines.join('\n')}\n`;
        const fast = replayAll(Buffer.from(text));
        const slow = replayAll(Buffer.from(parsedOnly(text)));
        // liveRecords decodes every deferred slot: a throw is a line taken that should have been reported.
        expect(liveRecords(fast)).toEqual(liveRecords(slow));
        expect(fast.problems).toEqual(slow.problems);
      }),
      { numRuns: 1000 },
    );
  });
});
