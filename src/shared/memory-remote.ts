/**
 * An in-memory stand-in for the shared database, with PostgreSQL's claim
 * semantics (src/stores/postgres/schema.sql): every call is one atomic step,
 * rows are filed under their claim keys while live, and a terminal can be
 * cut off and brought back. The QA scenarios run several terminals on it
 * (SPEC §7), each through the same `sharedStore` client as `postgresStore`.
 */
import { headOf, headText, parseJournalHead } from '../journal/chain.js';
import type { JournalEntry } from '../types.js';
import { isHot } from '../history.js';
import { isOpen } from '../lifecycle.js';
import {
  RemoteUnreachable,
  journalHeadKey,
  type ClaimAnswer,
  type Remote,
  type RemoteListener,
  type RowWrite,
  type SharedRow,
} from './remote.js';

export interface SharedMemoryDatabase {
  /** The connection of one terminal (`writer`: what tells its writes from the others'). */
  remote(writer: string): Remote;
  /** Cuts `writer` off: its calls fail as unreachable, and it hears nothing, until `reconnect`. */
  disconnect(writer: string): void;
  reconnect(writer: string): void;
  /** The journal entries each terminal sent, in order. */
  journal(merchantId: string): readonly { terminalId: string | undefined; entry: JournalEntry }[];
}

interface Stored extends SharedRow {
  readonly merchantId: string;
  readonly keys: readonly string[];
  readonly writer: string;
}

/** `clock`: the database's clock (epoch ms); in the scenarios, the virtual time every terminal shares. */
export function sharedMemoryDatabase(clock: () => number): SharedMemoryDatabase {
  const rows = new Map<string, Stored>();
  const filed = new Map<string, Set<string>>();
  const meta = new Map<string, string>();
  const journals = new Map<string, { terminalId: string | undefined; entry: JournalEntry }[]>();
  const cut = new Set<string>();
  const listeners = new Map<string, Set<{ merchantId: string; listener: RemoteListener }>>();
  let version = 0;

  const fileKey = (merchantId: string, key: string) => `${merchantId}\u0000${key}`;
  const dbTime = (row: Pick<SharedRow, 'record' | 'skew'>) => row.record.updatedAt + row.skew;
  const store = (merchantId: string, write: RowWrite, writer: string): Stored => {
    const previous = rows.get(write.record.id);
    if (previous) for (const key of previous.keys) filed.get(fileKey(merchantId, key))?.delete(previous.record.id);
    const row: Stored = { ...write, merchantId, writer, version: ++version, changedAt: clock() };
    rows.set(row.record.id, row);
    for (const key of row.keys) {
      let ids = filed.get(fileKey(merchantId, key));
      if (!ids) filed.set(fileKey(merchantId, key), (ids = new Set()));
      ids.add(row.record.id);
    }
    // Notices go out after the write, to every other writer listening (like NOTIFY at commit), naming the
    // version; a write announced to nobody (Notice `none`: a new sale's reservation) is met by claims only.
    if (write.notice === 'none') return row;
    for (const [other, subscribed] of listeners) {
      if (other === writer || cut.has(other)) continue;
      for (const { merchantId: m, listener } of subscribed) {
        if (m === merchantId) queueMicrotask(() => listener.changed({ versions: [row.version], ids: [] }));
      }
    }
    return row;
  };
  const related = (merchantId: string, keys: readonly string[], ids: readonly string[]): Stored[] => {
    const found = new Map<string, Stored>();
    for (const key of keys) {
      for (const id of filed.get(fileKey(merchantId, key)) ?? []) found.set(id, rows.get(id) as Stored);
    }
    for (const id of ids) {
      const row = rows.get(id);
      if (row && row.merchantId === merchantId) found.set(id, row);
    }
    return [...found.values()];
  };
  const ofMerchant = (merchantId: string) => [...rows.values()].filter((row) => row.merchantId === merchantId);
  const remove = (id: string) => {
    const row = rows.get(id);
    if (!row) return;
    for (const key of row.keys) filed.get(fileKey(row.merchantId, key))?.delete(id);
    rows.delete(id);
  };

  function remote(writer: string): Remote {
    // Every call is one step, answered a tick later, as a round trip would be.
    const step = async <T>(call: () => T): Promise<T> => {
      await Promise.resolve();
      if (cut.has(writer)) throw new RemoteUnreachable(`terminal ${writer} is cut off from the shared database`);
      return call();
    };
    return {
      clock: () => step(clock),
      claim: (merchantId, keys, ids, expected, writes) =>
        step((): ClaimAnswer => {
          const found = related(merchantId, keys, ids);
          const same = found.length === expected.size && found.every((row) => expected.get(row.record.id) === row.version);
          if (!same) return { written: false, related: found };
          return { written: true, rows: writes.map((write) => store(merchantId, write, writer)) };
        }),
      put: (merchantId, write) => step(() => store(merchantId, write, writer)),
      upload: (merchantId, write) =>
        step(() => {
          const held = rows.get(write.record.id);
          // Announced whatever the record, as PostgreSQL's upload() does.
          if (!held || dbTime(write) > dbTime(held)) store(merchantId, { ...write, notice: 'with-write' }, writer);
          const keys = write.keys.length > 0 ? write.keys : [];
          return related(merchantId, keys, []).filter((row) => row.record.id !== write.record.id);
        }),
      delete: (_merchantId, id) => step(() => remove(id)),
      get: (merchantId, ids) => step(() => ids.map((id) => rows.get(id)).filter((row): row is Stored => row?.merchantId === merchantId)),
      noticed: (merchantId, { versions, ids }) =>
        step(() => ofMerchant(merchantId).filter((row) => versions.includes(row.version) || ids.includes(row.record.id))),
      byOrder: (merchantId, orderKey) => step(() => related(merchantId, [orderKey], [])),
      load: (merchantId, since) =>
        step(() => ofMerchant(merchantId).filter((row) => since === undefined || isHot({ ...row.record, updatedAt: dbTime(row) }, since))),
      changes: (merchantId, since) => step(() => ofMerchant(merchantId).filter((row) => row.changedAt >= since)),
      prune: (merchantId, before, keepMs) =>
        step(() => {
          const bound = Math.min(before, clock() - keepMs);
          const old = ofMerchant(merchantId).filter((row) => !isOpen(row.record.status) && dbTime(row) < bound);
          for (const row of old) remove(row.record.id);
          return old.length;
        }),
      getMeta: (merchantId, key) => step(() => meta.get(`${merchantId}\u0000${key}`)),
      setMeta: (merchantId, key, value) => step(() => void meta.set(`${merchantId}\u0000${key}`, value)),
      initMeta: (merchantId, key, value) =>
        step(() => {
          const name = `${merchantId}\u0000${key}`;
          if (!meta.has(name)) meta.set(name, value);
          return meta.get(name) as string;
        }),
      appendJournal: (merchantId, terminalId, entries, options) =>
        step(() => {
          let journal = journals.get(merchantId);
          if (!journal) journals.set(merchantId, (journal = []));
          const held = journal;
          const landed = (entry: JournalEntry) =>
            held.some((line) => line.terminalId === terminalId && JSON.stringify(line.entry) === JSON.stringify(entry));
          const fresh = options?.replay ? entries.filter((entry) => !landed(entry)) : entries;
          for (const entry of fresh) journal.push({ terminalId, entry });
          // The head beside the rows, never moved back (Remote.appendJournal).
          const key = `${merchantId}\u0000${journalHeadKey(terminalId)}`;
          let head = parseJournalHead(meta.get(key));
          for (const written of fresh.map(headOf)) if (written && written.seq > (head?.seq ?? 0)) head = written;
          if (head) meta.set(key, headText(head));
        }),
      journal: (merchantId, terminalId) =>
        step(() => (journals.get(merchantId) ?? []).filter((line) => line.terminalId === terminalId).map((line) => line.entry)),
      lastJournal: (merchantId, terminalId) =>
        step(() => (journals.get(merchantId) ?? []).filter((line) => line.terminalId === terminalId).at(-1)?.entry),
      listen: (merchantId, listener) =>
        step(() => {
          let subscribed = listeners.get(writer);
          if (!subscribed) listeners.set(writer, (subscribed = new Set()));
          const entry = { merchantId, listener };
          subscribed.add(entry);
          return async () => void subscribed.delete(entry);
        }),
    };
  }

  return {
    remote,
    disconnect: (writer) => {
      cut.add(writer);
      for (const { listener } of listeners.get(writer) ?? []) listener.connected(false);
    },
    reconnect: (writer) => {
      cut.delete(writer);
      for (const { listener } of listeners.get(writer) ?? []) listener.connected(true);
    },
    journal: (merchantId) => journals.get(merchantId) ?? [],
  };
}
