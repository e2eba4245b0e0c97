import { describe, expect, it } from 'vitest';
import { snapshot, type Shape } from '../src/snapshot.js';

const SHAPE: Shape = { a: 'value', fn: 'ref', inner: { b: 'value' } };
const PATH = { root: 'thing', prefix: '' };
const failWith = (field: string, error: unknown): never => {
  throw Object.assign(new Error(`unreadable ${field}`), { field, thrown: error });
};
const take = (value: unknown) => snapshot(value, SHAPE, PATH, failWith);
const failure = (value: unknown) => {
  try {
    take(value);
  } catch (error) {
    return error as { field: string; thrown: unknown };
  }
  throw new Error('expected a failure');
};

describe('snapshot', () => {
  it('copies fields into a new plain object, nested shapes too', () => {
    const fn = () => 1;
    const input = { a: 1, fn, inner: { b: 'x' }, other: true };
    const copy = take(input) as Record<string, unknown>;
    expect({ ...copy, inner: { ...(copy.inner as object) } }).toEqual(input);
    expect(copy).not.toBe(input);
    expect(copy.inner).not.toBe(input.inner);
    expect(copy.fn).toBe(fn);
  });

  it('returns what is not an object as it is, and an array as an empty one', () => {
    for (const value of [undefined, null, 'x', 4, Symbol.iterator]) expect(take(value)).toBe(value);
    expect(take([1, 2])).toEqual([]);
  });

  it('never looks into an object where a value is expected: it becomes an empty one', () => {
    const deep = { a: { deeper: { deepest: 1 } }, inner: { b: [1, 2, 3] } };
    expect(JSON.parse(JSON.stringify(take(deep)))).toEqual({ a: {}, inner: { b: [] } });
  });

  it('keeps a field named __proto__ as a field', () => {
    const copy = take(JSON.parse('{"__proto__": 1, "a": 2}')) as Record<string, unknown>;
    expect(Object.keys(copy)).toEqual(['__proto__', 'a']);
  });

  it('reads getters once, including those a class defines on its prototype', () => {
    let reads = 0;
    class Thing {
      get a() {
        return ++reads;
      }
    }
    expect((take(new Thing()) as { a: number }).a).toBe(1);
    expect(reads).toBe(1);
  });

  it('names the field whose read threw, with what it threw', () => {
    const boom = new Error('boom');
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    expect(failure(revoked.proxy).field).toBe('thing');
    expect(
      failure(
        Object.defineProperty({}, 'a', {
          enumerable: true,
          get: () => {
            throw boom;
          },
        }),
      ),
    ).toMatchObject({ field: 'a', thrown: boom });
    expect(failure({ inner: revoked.proxy }).field).toBe('inner');
    expect(
      failure({
        inner: new Proxy(
          { b: 1 },
          {
            get: () => {
              throw boom;
            },
          },
        ),
      }).field,
    ).toBe('inner.b');
    expect(failure({ a: revoked.proxy }).field).toBe('a');
  });
});
