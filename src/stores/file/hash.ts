/**
 * Two independent 32-bit hashes of an id (FNV-1a and a multiply-xorshift
 * mix), computed alike from a string's char codes or from its ASCII bytes,
 * so a line's id is hashed without making a string of it.
 */
export function hashString(text: string, second: boolean): number {
  let h = second ? SEED_2 : SEED_1;
  for (let i = 0; i < text.length; i++) h = step(h, text.charCodeAt(i), second);
  return h;
}

export function hashBytes(bytes: Uint8Array, start: number, end: number, second: boolean): number {
  let h = second ? SEED_2 : SEED_1;
  for (let i = start; i < end; i++) h = step(h, bytes[i] as number, second);
  return h;
}

const SEED_1 = 0x811c9dc5 | 0;
const SEED_2 = 0x9e3779b9 | 0;

function step(h: number, c: number, second: boolean): number {
  if (!second) return Math.imul(h ^ c, 0x01000193);
  const x = Math.imul(h + c, 0x85ebca6b);
  return x ^ (x >>> 13);
}

/**
 * A set of ids kept as 64 bits of hash each, in typed arrays: the file
 * store's live-line count (which ids have a live line, so a rewrite of one
 * makes its old line dead). Two ids that share all 64 bits would be counted
 * as one: at a million ids that is a one-in-ten-million chance of one line
 * miscounted, which only moves a compaction a little; no record depends on
 * it. Built from 100k ids in a few milliseconds, where a `Set` of strings
 * costs tens and all the strings.
 */
export class IdHashSet {
  // Open addressing, linear probing. Each entry is the pair (a, b); b is
  // forced odd so 0 means empty, and a tombstone is (0, 2).
  #a: Int32Array;
  #b: Int32Array;
  #size = 0;
  #used = 0;

  constructor(expected = 0) {
    const capacity = tableSize(expected);
    this.#a = new Int32Array(capacity);
    this.#b = new Int32Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  has(id: string): boolean {
    return this.#find(hashString(id, false), hashString(id, true) | 1) >= 0;
  }

  /** Adds an id given as its two hashes (`hashString`/`hashBytes`); returns whether it was new. */
  addHashes(a: number, b: number): boolean {
    b |= 1;
    if (this.#find(a, b) >= 0) return false;
    if ((this.#used + 1) * 2 > this.#a.length) this.#grow();
    const mask = this.#a.length - 1;
    let at = a & mask;
    while ((this.#b[at] as number) & 1) at = (at + 1) & mask;
    if (this.#b[at] === 0) this.#used++;
    this.#a[at] = a;
    this.#b[at] = b;
    this.#size++;
    return true;
  }

  add(id: string): boolean {
    return this.addHashes(hashString(id, false), hashString(id, true));
  }

  delete(id: string): boolean {
    const at = this.#find(hashString(id, false), hashString(id, true) | 1);
    if (at < 0) return false;
    this.#a[at] = 0;
    this.#b[at] = TOMBSTONE;
    this.#size--;
    return true;
  }

  #find(a: number, b: number): number {
    const mask = this.#a.length - 1;
    for (let at = a & mask; ; at = (at + 1) & mask) {
      const bb = this.#b[at] as number;
      if (bb === 0) return -1;
      if (bb === b && this.#a[at] === a) return at;
    }
  }

  #grow(): void {
    const a = this.#a;
    const b = this.#b;
    // Tombstones are dropped: size the new table for the live entries.
    const capacity = tableSize(this.#size + 1);
    this.#a = new Int32Array(capacity);
    this.#b = new Int32Array(capacity);
    this.#size = 0;
    this.#used = 0;
    for (let i = 0; i < a.length; i++) if ((b[i] as number) & 1) this.addHashes(a[i] as number, b[i] as number);
  }
}

const TOMBSTONE = 2;

/** A power of two with room for `expected` entries at under half load. */
export function tableSize(expected: number): number {
  let capacity = 16;
  while (capacity < expected * 2 + 2) capacity *= 2;
  return capacity;
}
