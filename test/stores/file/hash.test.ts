import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdHashSet, hashBytes, hashString, tableSize } from '../../../src/stores/file/hash.js';

/*
 * The file store counts live lines in an IdHashSet filled two ways: ids of
 * built records by string (`add`), ids of deferred lines by their bytes
 * (`addHashes` with `hashBytes`). Both must land on the same entry, or a
 * rewrite of a record would count its old line as still live.
 */

describe('hashString and hashBytes', () => {
  it('agree on any ASCII text, both hashes, wherever the bytes sit in a buffer', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary-ascii', maxLength: 40 }),
        fc.string({ unit: 'binary-ascii', maxLength: 5 }),
        fc.string({ unit: 'binary-ascii', maxLength: 5 }),
        fc.boolean(),
        (text, before, after, second) => {
          const bytes = Buffer.from(before + text + after, 'latin1');
          expect(hashBytes(bytes, before.length, before.length + text.length, second)).toBe(hashString(text, second));
          expect(hashBytes(Buffer.from(text, 'latin1'), 0, text.length, second)).toBe(hashString(text, second));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('are 32-bit integers, and the two hashes are independent', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `att_${i.toString(36)}`);
    for (const id of ids) {
      for (const second of [false, true]) expect(hashString(id, second) | 0).toBe(hashString(id, second));
    }
    // Near-identical ids spread out: few share either hash, none shares both.
    expect(new Set(ids.map((id) => hashString(id, false))).size).toBeGreaterThan(1990);
    expect(new Set(ids.map((id) => hashString(id, true))).size).toBeGreaterThan(1990);
    expect(new Set(ids.map((id) => `${hashString(id, false)}:${hashString(id, true)}`)).size).toBe(ids.length);
    expect(hashString('', false)).not.toBe(hashString('', true));
  });
});

/** One step of a run against the model, and what it is called with. */
type Op = { op: 'add' | 'addHashes' | 'delete' | 'has'; id: string };

/** Runs `ops` on an IdHashSet and a Set side by side: every answer and every size must agree. */
function runAgainstModel(expected: number, ops: readonly Op[], alphabet: readonly string[]): void {
  const set = new IdHashSet(expected);
  const model = new Set<string>();
  ops.forEach(({ op, id }, step) => {
    let got: boolean;
    let want: boolean;
    if (op === 'add') {
      got = set.add(id);
      want = !model.has(id);
      model.add(id);
    } else if (op === 'addHashes') {
      // As the file store adds a deferred line's id: from its bytes.
      const bytes = Buffer.from(`[1,"${id}","fp"`, 'latin1');
      const end = 4 + id.length;
      got = set.addHashes(hashBytes(bytes, 4, end, false), hashBytes(bytes, 4, end, true));
      want = !model.has(id);
      model.add(id);
    } else if (op === 'delete') {
      got = set.delete(id);
      want = model.delete(id);
    } else {
      got = set.has(id);
      want = model.has(id);
    }
    if (got !== want || set.size !== model.size) {
      expect.fail(`step ${step}, ${op}(${id}): returned ${got} (want ${want}), size ${set.size} (want ${model.size})`);
    }
  });
  // Every id, present or not, answers as the model does.
  const wrong = alphabet.filter((id) => set.has(id) !== model.has(id));
  expect(wrong).toEqual([]);
}

const opsOver = (id: fc.Arbitrary<string>, maxLength: number) =>
  fc.array(
    fc.record({
      op: fc.oneof(
        { weight: 3, arbitrary: fc.constant('add' as const) },
        { weight: 2, arbitrary: fc.constant('addHashes' as const) },
        { weight: 3, arbitrary: fc.constant('delete' as const) },
        { weight: 2, arbitrary: fc.constant('has' as const) },
      ),
      id,
    }),
    // Long runs, not fast-check's usual handful: growth and tombstone build-up need hundreds of steps.
    { minLength: maxLength / 4, maxLength, size: 'max' },
  );

describe('IdHashSet against a Set', () => {
  // Eight ids: the table never holds many, but adds and deletes churn it into tombstones, which must
  // neither hide a later entry from `has` nor let an id in twice.
  const SMALL = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  it('over a few ids, many tombstones', () => {
    fc.assert(
      fc.property(fc.nat({ max: 8 }), opsOver(fc.constantFrom(...SMALL), 300), (expected, ops) => runAgainstModel(expected, ops, SMALL)),
      { numRuns: 1000 },
    );
  });

  // Hundreds of ids: the table grows several times, carrying live entries over and dropping tombstones.
  const LARGE = Array.from({ length: 600 }, (_, i) => `att-${i}`);
  it('over many ids, growing', () => {
    fc.assert(
      fc.property(fc.nat({ max: 64 }), opsOver(fc.constantFrom(...LARGE), 400), (expected, ops) => runAgainstModel(expected, ops, LARGE)),
      { numRuns: 1000 },
    );
  });

  it('keeps every id through growth from an empty table, and after deleting and re-adding half', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `${i}`);
    const set = new IdHashSet();
    expect(ids.filter((id) => !set.add(id))).toEqual([]);
    expect(set.size).toBe(ids.length);
    expect(ids.filter((id) => !set.has(id))).toEqual([]);
    expect(ids.filter((id, i) => i % 2 === 0 && !set.delete(id))).toEqual([]);
    expect(set.size).toBe(ids.length / 2);
    expect(ids.filter((id, i) => set.has(id) !== (i % 2 === 1))).toEqual([]);
    expect(ids.filter((id, i) => i % 2 === 0 && !set.add(id))).toEqual([]);
    expect(ids.filter((id) => !set.has(id))).toEqual([]);
    expect(set.size).toBe(ids.length);
    expect(set.has('20000')).toBe(false);
  });

  it('add and addHashes for the same id are one entry, whichever comes first', () => {
    const set = new IdHashSet();
    const bytes = Buffer.from('[1,"att-42","fp"', 'latin1');
    const byBytes = () => set.addHashes(hashBytes(bytes, 4, 10, false), hashBytes(bytes, 4, 10, true));
    expect(set.add('att-42')).toBe(true);
    expect(byBytes()).toBe(false);
    expect(set.size).toBe(1);
    expect(set.delete('att-42')).toBe(true);
    expect(set.has('att-42')).toBe(false);
    expect(byBytes()).toBe(true);
    expect(set.add('att-42')).toBe(false);
    expect(set.has('att-42')).toBe(true);
    expect(set.size).toBe(1);
    expect(set.delete('att-42')).toBe(true);
    expect(set.delete('att-42')).toBe(false);
    expect(set.size).toBe(0);
  });

  it('tells apart real ids that share the first hash', () => {
    // Found by a meet-in-the-middle search: one hash alike, the other not.
    const ids = ['att-1', 'att-1KbLAgO', 'att-15MGFhE', 'att-1K5KMus'];
    expect(new Set(ids.map((id) => hashString(id, false))).size).toBe(1);
    const set = new IdHashSet();
    expect(ids.map((id) => set.add(id))).toEqual([true, true, true, true]);
    expect(set.delete('att-1KbLAgO')).toBe(true);
    expect(ids.map((id) => set.has(id))).toEqual([true, false, true, true]);
    expect(set.size).toBe(3);
  });

  it('tells apart ids that share the first hash but not the second', () => {
    // Entries are compared on both hashes: two ids filed in the same place stay two.
    const set = new IdHashSet();
    expect(set.addHashes(7, 11)).toBe(true);
    expect(set.addHashes(7, 13)).toBe(true);
    expect(set.addHashes(7 + 16, 11)).toBe(true);
    expect(set.addHashes(7, 11)).toBe(false);
    expect(set.size).toBe(3);
  });
});

describe('tableSize', () => {
  it('is a power of two, at least 16, with room for the entries at under half load', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat({ max: 100 }), fc.nat({ max: 10_000_000 })), (expected) => {
        const size = tableSize(expected);
        expect(Number.isInteger(Math.log2(size))).toBe(true);
        expect(size).toBeGreaterThanOrEqual(16);
        expect(size).toBeGreaterThan(2 * expected);
        // And not wastefully more: the next smaller power of two would not do.
        expect(size === 16 || size / 2 < 2 * expected + 2).toBe(true);
      }),
      { numRuns: 1000 },
    );
    expect([0, 1, 7, 8, 15, 1000].map(tableSize)).toEqual([16, 16, 16, 32, 32, 2048]);
  });
});
