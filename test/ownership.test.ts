import { describe, expect, it } from 'vitest';
import { Owners } from '../src/ownership.js';

// The registry the guard (one guard per store) and the file store (one
// store per path, one lock token per lock file) fence take-overs with.
describe('Owners', () => {
  it('take returns the previous owner, and the newer owner holds the key', () => {
    const owners = new Owners<string, string>();
    expect(owners.take('/data/guard.jsonl', 'first')).toBeUndefined();
    expect(owners.take('/data/guard.jsonl', 'second')).toBe('first');
    expect(owners.owner('/data/guard.jsonl')).toBe('second');
    expect(owners.holds('/data/guard.jsonl', 'second')).toBe(true);
    expect(owners.holds('/data/guard.jsonl', 'first')).toBe(false);
  });

  it('release frees a key only for its owner: a fenced owner closing late leaves its successor alone', () => {
    const owners = new Owners<string, string>();
    owners.take('p', 'first');
    owners.take('p', 'second');
    expect(owners.release('p', 'first')).toBe(false);
    expect(owners.owner('p')).toBe('second');
    expect(owners.release('p', 'second')).toBe(true);
    expect(owners.owner('p')).toBeUndefined();
    expect(owners.release('p', 'second')).toBe(false);
  });

  it('a failed take-over hands the key back to the owner it fenced', () => {
    const owners = new Owners<string, string>();
    owners.take('p', 'first');
    const previous = owners.take('p', 'second');
    expect(owners.release('p', 'second', previous)).toBe(true);
    expect(owners.owner('p')).toBe('first');
  });

  it('a failed take-over hands nothing back once a third owner took the key', () => {
    const owners = new Owners<string, string>();
    owners.take('p', 'first');
    const previous = owners.take('p', 'second');
    owners.take('p', 'third');
    expect(owners.release('p', 'second', previous)).toBe(false);
    expect(owners.owner('p')).toBe('third');
  });

  it('keeps keys apart', () => {
    const owners = new Owners<string, number>();
    owners.take('a', 1);
    owners.take('b', 2);
    expect([owners.owner('a'), owners.owner('b')]).toEqual([1, 2]);
  });

  it('Owners.weak keys on objects (a store), and works the same', () => {
    const owners = Owners.weak<object, object>();
    const store = {};
    const [first, second] = [{}, {}];
    expect(owners.take(store, first)).toBeUndefined();
    expect(owners.take(store, second)).toBe(first);
    expect(owners.holds(store, first)).toBe(false);
    expect(owners.release(store, first)).toBe(false);
    expect(owners.release(store, second)).toBe(true);
    expect(owners.owner(store)).toBeUndefined();
    expect(owners.owner({})).toBeUndefined();
  });
});
