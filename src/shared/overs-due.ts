/**
 * Money to recover that a catch-up's merge found, kept until it is reported.
 *
 * A catch-up merges a sale written while cut off with the database's row of
 * it (keptRefunds in store.ts); two refunds that each fitted on one side may
 * together pay back more than was paid: the merged row lists that over, and
 * the guard journals it once the catch-up is done (StoreChange `sent`). What
 * was over before the merge (the versions known then) is not this
 * terminal's to report, so the report needs that baseline, and the baseline
 * lives only as long as the catch-up does:
 *
 * - a till killed between the upload and the report restarts with the sale
 *   already uploaded (not in the outbox any more): nothing would report it;
 * - an upload whose answer was lost (it landed) is sent again, merged over
 *   its own landed row, which already lists the over: counted as known, it
 *   would never be reported.
 *
 * So, before the upload of a merge that finds money to recover, the merged
 * record and its baseline are kept in `local`'s metadata, and dropped only
 * once the guard has journaled the report. A restart tells the guard again
 * (at least once: a till killed between the journal entry and the drop
 * reports twice, never not at all). A row of the sale read meanwhile counts
 * as known only beyond the kept write: the over it lists is this till's own
 * where the kept write listed as much (its write landed, perhaps with
 * another lane's merge over it, and that lane counted it as known too).
 */
import { overGrown, overOf, oversById, totalOver, type RefundEntry } from '../refunds.js';
import { withChanges } from '../record.js';
import type { AttemptRecord, GuardStore } from '../types.js';

/** Where the kept reports are, in `local`'s metadata. */
export const OVERS_DUE = 'shared-overs-due';

interface Due {
  /** The merged record as written (or being written) to the database. */
  record: AttemptRecord;
  /** Per refund, the most over any version known before the first merge listed. */
  known: RefundEntry[];
}

export class OversDue {
  readonly #local: GuardStore | undefined;
  #due = new Map<string, Due>();
  /** Kept by an earlier run of this till: told to the guard once, by the first catch-up. */
  #fromEarlierRun = new Set<string>();

  constructor(local: GuardStore | undefined) {
    this.#local = local;
  }

  /**
   * Reads what an earlier run kept (once per store: a guard re-created over
   * it in the same process goes on with what is in memory). A damaged entry
   * is dropped: the sale itself still lists the over.
   */
  read(saved: string | undefined): void {
    this.#due.clear();
    let parsed: unknown;
    try {
      parsed = saved === undefined ? [] : JSON.parse(saved);
    } catch {
      parsed = [];
    }
    for (const item of Array.isArray(parsed) ? (parsed as unknown[]) : []) {
      if (isDue(item)) this.#due.set(item.record.id, item);
    }
    this.#fromEarlierRun = new Set(this.#due.keys());
  }

  /** Whether an earlier run kept a report it did not make: the first catch-up tells it. */
  get earlier(): boolean {
    return this.#fromEarlierRun.size > 0;
  }

  /** The baseline kept for `id`, as a version of its record: the first merge's, whatever was merged since. */
  baseline(id: string): AttemptRecord | undefined {
    const due = this.#due.get(id);
    return due && withChanges(due.record, { refunds: due.known });
  }

  /**
   * `stored` (a row of the sale the database holds) as far as it is known
   * beyond this till's kept write. The over the kept write added (beyond the
   * baseline) is this till's to report: a row written over the kept write
   * (it lists all its refunds: the write landed, perhaps with another lane's
   * merge over it) is known less that share, taken off the refunds the kept
   * write listed it on first, then off the others (a later merge lists a
   * sum's over on whichever refund its order puts it). A row not written
   * over it is known as it is.
   */
  asKnown(stored: AttemptRecord): AttemptRecord {
    const due = this.#due.get(stored.id);
    const listed = new Set((stored.refunds ?? []).map((r) => r.id));
    if (!due || !stored.refunds || !(due.record.refunds ?? []).every((r) => listed.has(r.id))) return stored;
    const kept = oversById(due.record.refunds);
    let share = Math.max(0, totalOver(due.record.refunds) - totalOver(due.known));
    const refunds = stored.refunds.map((r) => ({ ...r }));
    for (const onKept of [true, false]) {
      for (const r of refunds) {
        const over = overOf(r);
        const off = Math.min(over, share, onKept ? (kept.get(r.id) ?? 0) : share);
        if (off <= 0) continue;
        r.over = over - off;
        share -= off;
      }
    }
    return withChanges(stored, { refunds });
  }

  /**
   * Keeps `record` (about to be uploaded) with what was known before it, when
   * it lists money to recover beyond that; durable before it resolves. The
   * baseline of an earlier, unreported merge of the same sale stays.
   */
  async keep(record: AttemptRecord, known: readonly AttemptRecord[]): Promise<void> {
    if (overGrown(record, ...known).length === 0 && !this.#due.has(record.id)) return;
    const most = new Map<string, RefundEntry>();
    for (const version of known) {
      for (const r of version.refunds ?? []) {
        if (overOf(r) > (most.get(r.id)?.over ?? 0)) most.set(r.id, { id: r.id, amount: r.amount, over: overOf(r) });
      }
    }
    this.#due.set(record.id, { record, known: this.#due.get(record.id)?.known ?? [...most.values()] });
    await this.#save();
  }

  /** The kept writes an earlier run did not report, but those sent again by this catch-up: each told once. */
  takeEarlier(sentAgain: ReadonlySet<string>): { record: AttemptRecord; known: AttemptRecord[] }[] {
    const told: { record: AttemptRecord; known: AttemptRecord[] }[] = [];
    for (const id of this.#fromEarlierRun) {
      const due = this.#due.get(id);
      if (due && !sentAgain.has(id)) told.push({ record: due.record, known: [this.baseline(id) as AttemptRecord] });
    }
    this.#fromEarlierRun.clear();
    return told;
  }

  /** The guard journaled the report of `record`: dropped, unless a later merge of the sale was kept meanwhile. */
  async reported(record: AttemptRecord): Promise<void> {
    const due = this.#due.get(record.id);
    if (!due || JSON.stringify(due.record) !== JSON.stringify(record)) return;
    this.#due.delete(record.id);
    await this.#save();
  }

  async #save(): Promise<void> {
    await this.#local?.setMeta(OVERS_DUE, JSON.stringify([...this.#due.values()]));
  }
}

function isRefundList(value: unknown): value is RefundEntry[] {
  return (
    Array.isArray(value) &&
    value.every((r: Partial<RefundEntry> | null) => {
      if (typeof r !== 'object' || r === null || typeof r.id !== 'string' || !Number.isSafeInteger(r.amount)) return false;
      return r.over === undefined || Number.isSafeInteger(r.over);
    })
  );
}

/** An entry as `keep` writes it: a sale's record with a list of refunds, and a list of refunds known. */
function isDue(item: unknown): item is Due {
  const due = item as { record?: Partial<AttemptRecord> | null; known?: unknown } | null;
  const record = due?.record;
  if (typeof record !== 'object' || record === null || typeof record.id !== 'string' || typeof record.status !== 'string') return false;
  return (record.refunds === undefined || isRefundList(record.refunds)) && isRefundList(due?.known);
}
