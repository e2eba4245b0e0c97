/**
 * atk19a: a fileStore till "killed" at each mutating fs call of a workload
 * that migrates a format 2 file, compacts after every write and rotates its
 * journal. The crash image is the files as they were at that call (copied
 * synchronously there, without the lock, as after a SIGKILL whose pid is
 * gone), opened by a fresh guard: it must start, know every sale whose begin
 * resolved `allow`, keep every settle that resolved without a storage-error
 * event, block a retry of the open ones, and its journal must verify.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as realFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGuard, memoryStore, verifyJournal, type Guard, type AttemptRecord } from '../../src/index.js';
import { fileStore, type FileStoreFs } from '../../src/node.js';
import { journalAnchors, readJournal } from '../../src/stores/file/journal-read.js';
import { virtualTime } from '../../src/testing.js';
import { v2Header, v2Line } from '../helpers/file-formats.js';

const SECRET = 'atk19a-crash-secret-0123456789abcdef';
const START = Date.parse('2026-03-01T09:00:00Z');
const dirs: string[] = [];
const guards: Guard[] = [];
afterAll(async () => {
  for (const g of guards) await g.close().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'atk19a-cm-'));
  dirs.push(dir);
  return dir;
};
const SUFFIXES = ['', '.journal', '.journal.1', '.tmp'];
class Dead extends Error {
  code = 'EIO';
}

/** fs whose k-th mutating call "kills" the process: the files are copied as they are, and every later call fails. */
function dyingFs(path: string, image: string, k: number, mode: 'before' | 'after' | 'partial') {
  const state = { n: 0, dead: false, what: '' };
  const snap = () => {
    for (const s of SUFFIXES) if (existsSync(path + s)) copyFileSync(path + s, image + s);
  };
  const step = async <T>(what: string, run: () => Promise<T>, half?: () => Promise<unknown>): Promise<T> => {
    if (state.dead) throw new Dead(`dead: ${what}`);
    state.n++;
    if (state.n !== k) return run();
    state.what = what;
    if (mode === 'before') {
      snap();
      state.dead = true;
      throw new Dead(`killed before ${what}`);
    }
    if (mode === 'partial' && half) await half();
    else await run();
    snap();
    state.dead = true;
    throw new Dead(`killed after ${what}`);
  };
  const wrapHandle = (handle: realFs.FileHandle, name: string) =>
    new Proxy(handle, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        const fn = (value as (...a: unknown[]) => Promise<unknown>).bind(target);
        if (property === 'write') {
          return (buf: Uint8Array, off: number, len: number, pos: number) =>
            step(
              `write ${name}`,
              () => fn(buf, off, len, pos),
              () => fn(buf, off, Math.max(1, Math.floor(len / 2)), pos),
            );
        }
        if (property === 'appendFile') {
          return (data: Uint8Array) =>
            step(
              `appendFile ${name}`,
              () => fn(data),
              () => fn(data.subarray(0, Math.max(1, Math.floor(data.length / 2)))),
            );
        }
        if (['writev', 'datasync', 'sync', 'truncate'].includes(String(property))) {
          return (...a: unknown[]) => step(`${String(property)} ${name}`, () => fn(...a));
        }
        if (state.dead && property !== 'close') return () => Promise.reject(new Dead('dead'));
        return fn;
      },
    });
  const fs: FileStoreFs = {
    ...realFs,
    open: (async (file: string, flags?: string, m?: number) => {
      if (state.dead) throw new Dead('dead: open');
      return wrapHandle(await realFs.open(file, flags, m), String(file).slice(path.length) || 'data');
    }) as FileStoreFs['open'],
    rename: ((a: string, b: string) => step(`rename ${String(a).slice(path.length)}`, () => realFs.rename(a, b))) as FileStoreFs['rename'],
    unlink: ((a: string) => step(`unlink ${String(a).slice(path.length)}`, () => realFs.unlink(a))) as FileStoreFs['unlink'],
    writeFile: ((a: string, d: string, o: unknown) =>
      step(`writeFile ${String(a).slice(path.length)}`, () => realFs.writeFile(a, d, o as never))) as FileStoreFs['writeFile'],
    readFile: ((...a: Parameters<typeof realFs.readFile>) =>
      state.dead ? Promise.reject(new Dead('dead')) : realFs.readFile(...a)) as FileStoreFs['readFile'],
  };
  return { fs, state };
}

/** A format 2 file holding a few settled and one approved sale of this merchant, as the previous release wrote it. */
async function v2File(path: string): Promise<AttemptRecord[]> {
  const time = virtualTime(START - 3_600_000);
  const store = memoryStore();
  const g = await createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler });
  for (let i = 0; i < 4; i++) {
    const d = await g.begin({ amount: 100 + i, currency: 'CNY', card: { token: `old_${i}` }, orderId: `OLD-${i}` });
    await (i % 2 ? d.attempt!.decline() : d.attempt!.approve());
  }
  const records = await g.attempts({});
  const meta = (await store.getMeta('keyCheck'))!;
  await g.close();
  writeFileSync(path, [v2Header, JSON.stringify({ op: 'meta', key: 'keyCheck', value: meta }), ...records.map(v2Line)].join('\n') + '\n');
  return records;
}

type Ack = { id: string; amount: number; status: string; card: string; intended?: string };

async function workload(path: string, fs: FileStoreFs, acks: Ack[], storageErrors: { n: number }) {
  const time = virtualTime(START);
  const store = fileStore(path, { fs, compactAfter: { deadLines: 0, deadRatio: 0 }, journalMaxBytes: 1500 });
  const g = await createGuard({
    merchantId: 'M1',
    secret: SECRET,
    store,
    clock: time.clock,
    scheduler: time.scheduler,
    onStorageError: 'block',
  });
  guards.push(g);
  g.on('storage-error', () => void storageErrors.n++);
  for (let i = 0; i < 4; i++) {
    const card = `tok_${i}`;
    const d = await g.begin({ amount: 1000 + i, currency: 'CNY', card: { token: card } });
    if (d.verdict !== 'allow' || !d.attempt) return;
    if (storageErrors.n === 0) acks.push({ id: d.attempt.id, amount: 1000 + i, status: 'pending', card });
    const before = storageErrors.n;
    const status = (['approved', 'declined', 'unknown'] as const)[i % 3]!;
    if (acks.length && acks[acks.length - 1]!.id === d.attempt.id) acks[acks.length - 1]!.intended = status;
    await g.settle(d.attempt.id, { status });
    if (storageErrors.n === before && storageErrors.n === 0) acks[acks.length - 1]!.status = status;
    await time.advance(1_000);
  }
}

async function verifyImage(image: string) {
  const { head, rotated, from } = await journalAnchors(image);
  const entries = [];
  for await (const e of readJournal(image)) entries.push(e);
  return verifyJournal(entries, { secret: SECRET, head, rotated, from });
}

async function countSteps(): Promise<number> {
  const dir = tempDir();
  const path = join(dir, 'guard.jsonl');
  await v2File(path);
  const { fs, state } = dyingFs(path, join(dir, 'img.jsonl'), Infinity, 'before');
  await workload(path, fs, [], { n: 0 });
  // Guards of the previous mode's workloads too, over a "dead" fs: their close rejects (what they could not write).
  for (const g of guards.splice(0)) await g.close().catch(() => undefined);
  return state.n;
}

describe('atk19a: killed at every mutating fs call of migrate + begin/settle + compaction + rotation', () => {
  for (const mode of ['before', 'after', 'partial'] as const) {
    it(`killed ${mode} each call: every crash image starts, keeps what was acknowledged, blocks the open ones, and its journal verifies`, async () => {
      const total = await countSteps();
      expect(total).toBeGreaterThan(20);
      const problems: string[] = [];
      {
        for (let k = 1; k <= total; k++) {
          const dir = tempDir();
          const [path, image] = [join(dir, 'guard.jsonl'), join(dir, 'img.jsonl')];
          await v2File(path);
          const { fs, state } = dyingFs(path, image, k, mode);
          const acks: Ack[] = [];
          await workload(path, fs, acks, { n: 0 }).catch(() => undefined);
          if (!state.dead) continue;
          const where = `${mode} #${k} (${state.what})`;
          const time = virtualTime(START + 60_000);
          let g: Guard;
          try {
            g = await createGuard({
              merchantId: 'M1',
              secret: SECRET,
              store: fileStore(image),
              clock: time.clock,
              scheduler: time.scheduler,
            });
            guards.push(g);
          } catch (error) {
            problems.push(`${where}: createGuard threw ${(error as Error).message}`);
            continue;
          }
          for (const ack of acks) {
            const rec = await g.get(ack.id);
            if (!rec) problems.push(`${where}: acknowledged attempt ${ack.id} (${ack.status}) lost`);
            else if (ack.status === 'approved' && rec.status !== 'approved') {
              problems.push(`${where}: approved ${ack.id} reads ${rec.status}`);
            } else if (ack.status === 'declined' && rec.status !== 'declined') {
              problems.push(`${where}: declined ${ack.id} reads ${rec.status}`);
            } else if (ack.status !== 'declined' && !['approved', 'unknown', ack.intended].includes(rec.status)) {
              problems.push(`${where}: open ${ack.id} reads ${rec.status}`);
            }
            if (rec && rec.status !== 'declined') {
              const retry = await g.begin({ amount: ack.amount, currency: 'CNY', card: { token: ack.card } });
              if (retry.verdict === 'allow') problems.push(`${where}: retry of ${ack.id} (${rec.status}) allowed`);
            }
          }
          await g.close();
          const v = await verifyImage(image);
          if (!v.ok) problems.push(`${where}: journal ${v.problem} at seq ${v.seq}`);
        }
      }
      expect(problems).toEqual([]);
    }, 30_000);
  }
});
