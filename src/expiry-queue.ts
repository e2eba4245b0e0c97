/**
 * A FIFO of (deadline, id) in two flat arrays, consumed from a moving head:
 * expiry in amortised O(1) per entry, with no scan of what is not due.
 *
 * Deadlines are pushed in (nearly) non-decreasing order, so only the head is
 * ever looked at. An entry pushed out of order is consumed late, never early.
 * (A Set would keep insertion order too, but V8 leaves deleted entries as
 * holes that every iteration from the front walks again: O(history) per call.)
 */
export class ExpiryQueue {
  #deadlines: number[] = [];
  #ids: string[] = [];
  #head = 0;
  /** A second reader that visits entries without consuming them (never behind the head). */
  #swept = 0;

  push(deadline: number, id: string): void {
    this.#deadlines.push(deadline);
    this.#ids.push(id);
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
    this.#ids = order.map((i) => this.#ids[i] as string);
  }

  /** Pops heads while `visit` says the head is done with. */
  drain(visit: (deadline: number, id: string) => boolean): void {
    while (this.#head < this.#ids.length && visit(this.#deadlines[this.#head] as number, this.#ids[this.#head] as string)) this.#head++;
    // Reclaim the consumed prefix once it dominates: pushes stay amortised O(1).
    if (this.#head > 1024 && this.#head * 2 > this.#ids.length) {
      this.#deadlines = this.#deadlines.slice(this.#head);
      this.#ids = this.#ids.slice(this.#head);
      this.#swept = Math.max(0, this.#swept - this.#head);
      this.#head = 0;
    }
  }

  /** Visits entries once each, in order, from where the last sweep stopped, while `visit` says go on. */
  sweep(visit: (deadline: number, id: string) => boolean): void {
    let at = Math.max(this.#swept, this.#head);
    while (at < this.#ids.length && visit(this.#deadlines[at] as number, this.#ids[at] as string)) at++;
    this.#swept = at;
  }
}
