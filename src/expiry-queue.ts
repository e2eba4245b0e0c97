/**
 * A FIFO of (deadline, item) in two flat arrays, consumed from a moving head:
 * expiry in amortised O(1) per entry, with no scan of what is not due.
 * Items are ids (the guard's index, the memory store) or whatever a store
 * keeps per entry (the file store's record locations).
 *
 * Deadlines are pushed in (nearly) non-decreasing order, so only the head is
 * ever looked at. An entry pushed out of order is consumed late, never early;
 * `insert` puts it in its place instead, for a queue whose entries must come
 * out on time. (A Set would keep insertion order too, but V8 leaves deleted
 * entries as holes that every iteration from the front walks again:
 * O(history) per call.)
 */
export class ExpiryQueue<T = string> {
  #deadlines: number[] = [];
  #items: T[] = [];
  #head = 0;
  /** A second reader that visits entries without consuming them (never behind the head). */
  #swept = 0;

  push(deadline: number, item: T): void {
    this.#deadlines.push(deadline);
    this.#items.push(item);
  }

  /**
   * Queues an entry after every entry due no later: a push, unless its
   * deadline is out of order (a clock set back), then a binary search over
   * what is not consumed yet. An entry inserted behind the sweep is not swept.
   */
  insert(deadline: number, item: T): void {
    const deadlines = this.#deadlines;
    let [low, high] = [this.#head, deadlines.length];
    if (high > low && (deadlines[high - 1] as number) > deadline) {
      while (low < high) {
        const mid = (low + high) >>> 1;
        if ((deadlines[mid] as number) <= deadline) low = mid + 1;
        else high = mid;
      }
    }
    deadlines.splice(high, 0, deadline);
    this.#items.splice(high, 0, item);
    if (high < this.#swept) this.#swept++;
  }

  /**
   * Sorts the entries by deadline, stably. For start-up only, before
   * anything was consumed: a store returns records in any order, and sorting
   * the queue costs less than sorting the records.
   */
  order(): void {
    // Once entries were consumed or swept, positions mean something: leave them (late, never early).
    if (this.#head !== 0 || this.#swept !== 0) return;
    const n = this.#deadlines.length;
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) sorted = (this.#deadlines[i] as number) >= (this.#deadlines[i - 1] as number);
    if (sorted) return;
    const order = Array.from({ length: n }, (_, i) => i).sort(
      (a, b) => (this.#deadlines[a] as number) - (this.#deadlines[b] as number) || a - b,
    );
    this.#deadlines = order.map((i) => this.#deadlines[i] as number);
    this.#items = order.map((i) => this.#items[i] as T);
  }

  /** Pops heads while `visit` says the head is done with. */
  drain(visit: (deadline: number, item: T) => boolean): void {
    while (this.#head < this.#items.length && visit(this.#deadlines[this.#head] as number, this.#items[this.#head] as T)) this.#head++;
    // Reclaim the consumed prefix once it dominates: pushes stay amortised O(1).
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#deadlines = this.#deadlines.slice(this.#head);
      this.#items = this.#items.slice(this.#head);
      this.#swept = Math.max(0, this.#swept - this.#head);
      this.#head = 0;
    }
  }

  /** Visits entries once each, in order, from where the last sweep stopped, while `visit` says go on. */
  sweep(visit: (deadline: number, item: T) => boolean): void {
    let at = Math.max(this.#swept, this.#head);
    while (at < this.#items.length && visit(this.#deadlines[at] as number, this.#items[at] as T)) at++;
    this.#swept = at;
  }
}
