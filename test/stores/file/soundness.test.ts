import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { staysFiled } from '../../../src/claims.js';
import { isHot } from '../../../src/history.js';
import { fileStore, type FileStore } from '../../../src/node.js';
import { makeRecord } from '../../../src/record.js';
import type { AttemptRecord, AttemptStatus } from '../../../src/types.js';

/*
 * The history a fileStore keeps, against a Map: random puts, deletes,
 * prunes, compactions and reopens (a second store taking the file over), and
 * after each step get, byOrder and load, with and without a scope, must say
 * what the Map says. Hot and cold lines, the log, and lines moved by a
 * compaction are all read this way.
 */
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const T0 = 1_767_225_600_000;
const IDS = ['a', 'b', 'c', 'd', 'e', 'f'];
const STATUSES: AttemptStatus[] = ['pending', 'unknown', 'approved', 'declined', 'cancelled', 'voided', 'refunded'];

function rec(
  id: string,
  status: AttemptStatus,
  minute: number,
  kind: 'sale' | 'refund',
  order: string | undefined,
  note: string | undefined,
): AttemptRecord {
  return makeRecord({
    v: 1,
    id,
    idempotencyKey: `pdg_${id}_0123456789abcdef`,
    fingerprint: `fp-${id}`,
    merchantId: 'M-1',
    kind,
    amount: 100,
    currency: 'CNY',
    status,
    createdAt: T0,
    updatedAt: T0 + minute * 60_000,
    pendingSince: T0,
    refunded: 0,
    ...(order ? { orderId: order } : {}),
    ...(note ? { message: note } : {}),
    ...(status === 'approved' ? { approvedAt: T0 } : {}),
  });
}

const op = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('put' as const),
      id: fc.constantFrom(...IDS),
      status: fc.constantFrom(...STATUSES),
      minute: fc.nat(600),
      refund: fc.boolean(),
      order: fc.constantFrom(undefined, 'O1', 'O2'),
      note: fc.constantFrom(undefined, 'Do not honor "05"', '余额不足', 'x'.repeat(300)),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), id: fc.constantFrom(...IDS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('prune' as const), minute: fc.nat(600) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('compact' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
);

const sorted = (records: readonly (AttemptRecord | undefined)[]) =>
  [...records].filter(Boolean).sort((x, y) => (x as AttemptRecord).id.localeCompare((y as AttemptRecord).id));

describe('fileStore history against a Map', () => {
  it('get, byOrder, load and prune agree with the model through compactions and reopens', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), fc.nat(600), async (ops, sinceMinute) => {
        const dir = mkdtempSync(join(tmpdir(), `pdg-sound-${run++}-`));
        dirs.push(dir);
        const path = join(dir, 'guard.jsonl');
        const model = new Map<string, AttemptRecord>();
        let store: FileStore = fileStore(path);
        try {
          for (const o of ops) {
            if (o.kind === 'put') {
              const record = rec(o.id, o.status, o.minute, o.refund ? 'refund' : 'sale', o.order, o.note);
              model.set(o.id, record);
              await store.put(record);
            } else if (o.kind === 'delete') {
              model.delete(o.id);
              await store.delete(o.id);
            } else if (o.kind === 'prune') {
              const before = T0 + o.minute * 60_000;
              const due = [...model.values()].filter((r) => r.status !== 'pending' && r.status !== 'unknown' && r.updatedAt < before);
              for (const r of due) model.delete(r.id);
              expect(await store.prune(before)).toBe(due.length);
            } else if (o.kind === 'compact') await store.compact();
            else store = fileStore(path);
            for (const id of IDS) expect(await store.get(id)).toStrictEqual(model.get(id));
            for (const order of ['O1', 'O2']) {
              const live = [...model.values()].filter((r) => r.orderId === order && staysFiled(r));
              expect(sorted(await store.byOrder('M-1', order))).toStrictEqual(sorted(live));
            }
          }
          // A restart: every record without a scope, at least the hot ones with one (and nothing else but records).
          store = fileStore(path);
          const since = T0 + sinceMinute * 60_000;
          const hot = await store.load({ since });
          const all = [...model.values()];
          for (const r of all.filter((x) => isHot(x, since))) expect(hot).toContainEqual(r);
          for (const r of hot) expect(model.get(r.id)).toStrictEqual(r);
          expect(sorted(await store.load())).toStrictEqual(sorted(all));
          expect(store.warnings()).toEqual([]);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 300 },
    );
  }, 120_000);
});
