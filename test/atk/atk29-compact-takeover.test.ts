/**
 * atk29: a hot reload (a second fileStore on the same path in this process)
 * while the running store compacts. The new store must write to the file
 * the path names, so that what it acknowledges is there after a restart.
 */
import * as realFs from 'node:fs/promises';
import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore } from '../../src/index.js';
import { fileStore, type FileStoreFs, type FileStoreOptions } from '../../src/node.js';
import { virtualTime } from '../../src/testing.js';
import { v2Header, v2Line } from '../helpers/file-formats.js';
import { scratch } from '../helpers/scratch.js';

const SECRET = 'atk29-compact-secret-0123456789ab';
const START = Date.parse('2026-03-01T09:00:00Z');
const { tempFile, keep } = scratch('atk29-compact-');
const coffee = { amount: 100, currency: 'CNY', card: { token: 'tok_atk29_coffee' } };
const laptop = { amount: 899_900, currency: 'CNY', card: { token: 'tok_atk29_laptop' } };

function till(path: string) {
  const time = virtualTime(START);
  const open = (options: FileStoreOptions = {}) =>
    createGuard({ merchantId: 'M1', secret: SECRET, store: fileStore(path, options), clock: time.clock, scheduler: time.scheduler });
  return { time, open };
}

/** fs calls for two stores on `path`: `rename`, once `gate.armed`, waits until a store has opened `path` through `openFile`. */
function renameAfterOpen(path: string) {
  let opened: () => void = () => undefined;
  const pathOpened = new Promise<void>((resolve) => (opened = resolve));
  const gate = { armed: false };
  const rename = (async (...args: Parameters<typeof realFs.rename>) => {
    if (gate.armed) await pathOpened;
    return realFs.rename(...args);
  }) as FileStoreFs['rename'];
  const openFile = (async (...args: Parameters<typeof realFs.open>) => {
    const handle = await realFs.open(...args);
    if (args[0] === path) opened();
    return handle;
  }) as FileStoreFs['open'];
  return { rename, openFile, gate };
}

describe('atk29: a take-over that races a compaction of the store it fences', () => {
  // What happens: guard A's store compacts (here after every write, through
  // its documented compactAfter option; with the defaults, whenever the log
  // crosses its thresholds, 0.3-0.4 s at 100k attempts) and the app
  // hot-reloads meanwhile: B's fileStore opens a handle on the file, then
  // fences A, whose release finishes the compaction and renames the new file
  // over the path. B keeps its handle on the replaced (unlinked) file: it
  // loads that, and every line it writes afterwards goes there. B's begin of
  // a ¥8,999 sale resolves `allow` (write-ahead: "persisted before begin
  // resolves") and the charge is submitted; after the next restart the file
  // has no trace of it, so the retry of that sale is `allow` again: the
  // customer is charged twice. (B also loaded the file as it was before A's
  // last write, here A's approval.)
  // Why: src/stores/file.ts:242-248 (#openOnce opens `path` before
  // `previous.#release(true)`, which may run a compaction that renames a new
  // file over it; the handle is never checked against the path afterwards).
  it('what the new guard reserves after a take-over during a compaction is in the file after a restart', async () => {
    const path = tempFile();
    const { open } = till(path);
    // Deterministic order: A's compaction renames its new file in only once B's store has opened the path.
    const { rename, openFile, gate } = renameAfterOpen(path);
    const a = keep(await open({ compactAfter: { deadLines: 0, deadRatio: 0 }, fs: { ...realFs, rename } }));
    const first = await a.begin(coffee);
    gate.armed = true;
    const approving = first.attempt!.approve().catch((error: unknown) => error);
    const b = keep(await open({ fs: { ...realFs, open: openFile } })); // the hot reload, while A writes and compacts
    await approving;
    const charge = await b.begin(laptop);
    expect(charge.verdict).toBe('allow'); // the laptop's charge goes to the processor
    await b.close();
    const c = keep(await open()); // the next start of the till
    const retry = await c.peek(laptop);
    expect(retry.reasons.map((r) => r.code)).toContain('UNKNOWN_OUTCOME');
    expect(await readFile(path, 'utf8')).toContain(charge.attempt!.id);
  });

  // What happens: the first start after upgrading (a format 2 file, which
  // the store migrates by compacting it at open) with two createGuard calls
  // over the file at once (the app initialises its checkout twice: a React
  // StrictMode effect, two modules, a reload during start-up). Both stores
  // open a handle on the file; the first migrates it (renames a new file
  // over the path); the second fences the first once its open is done and
  // carries on with its handle on the replaced file. The guard that starts
  // (the second: the first rejects TAKEN_OVER) writes every reservation into
  // that unlinked file: its begin resolves `allow`, and after the next
  // restart the file has no trace of it: a retry of that sale is `allow`.
  // Why: as above, src/stores/file.ts:241-248 (the handle is opened before
  // `previous.#release(true)`, which waits for the previous store's open,
  // migration compaction included).
  it('two createGuard calls at once over a format 2 file: what the guard that starts reserves is in the file after a restart', async () => {
    const path = tempFile();
    const time = virtualTime(START);
    const memory = memoryStore();
    const writer = await createGuard({ merchantId: 'M1', secret: SECRET, store: memory, clock: time.clock, scheduler: time.scheduler });
    const paid = await writer.begin(coffee);
    await paid.attempt!.approve({ authCode: 'A1' });
    const [record] = await memory.load();
    const keyCheck = JSON.stringify({ op: 'meta', key: 'keyCheck', value: await memory.getMeta('keyCheck') });
    await writeFile(path, `${v2Header}\n${keyCheck}\n${v2Line(record!)}\n`);
    // Deterministic order: the first store's migration renames its new file in once the second has opened the path.
    const { rename, openFile, gate } = renameAfterOpen(path);
    gate.armed = true;
    const { open } = till(path);
    const starts = await Promise.allSettled([open({ fs: { ...realFs, rename } }), open({ fs: { ...realFs, open: openFile } })]);
    const started = starts.flatMap((s) => (s.status === 'fulfilled' ? [keep(s.value)] : []));
    expect(started).toHaveLength(1);
    const charge = await started[0]!.begin(laptop);
    expect(charge.verdict).toBe('allow');
    await started[0]!.close();
    const next = keep(await open());
    expect((await next.peek(laptop)).reasons.map((r) => r.code)).toContain('UNKNOWN_OUTCOME');
  });

  // Held: the same reload when A does not compact: B's reservation is kept.
  it('without a compaction in the way, what the new guard reserves is there after a restart', async () => {
    const path = tempFile();
    const { open } = till(path);
    const a = keep(await open());
    const first = await a.begin(coffee);
    const approving = first.attempt!.approve().catch((error: unknown) => error);
    const b = keep(await open());
    await approving;
    const charge = await b.begin(laptop);
    await b.close();
    const c = keep(await open());
    expect((await c.peek(laptop)).reasons.map((r) => r.code)).toContain('UNKNOWN_OUTCOME');
    expect((await c.get(charge.attempt!.id))?.status).toBe('unknown');
  });
});
