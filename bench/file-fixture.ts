import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as realFs from 'node:fs/promises';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Sale } from '../src/index.js';
import type { FileStoreFs } from '../src/node.js';
import { BENCH_SECRET, ManualClock, loadCore, progress, settledHeap } from './harness.js';

/**
 * The realistic file store of SPEC §8's start-up and memory budgets, written
 * the way a till writes it: through `createGuard` + `fileStore`, a `begin`
 * then a `settle` line per sale (so superseded versions, and the store's own
 * compactions along the way), 100k sales over 20 hours on a virtual clock,
 * operators on two thirds, a third on orders, processor references and auth
 * codes on approvals, declines with codes, voids, a few unknowns. The only
 * shortcut: `fdatasync` is a no-op while it is written (the bytes are the
 * same). Cached in the temp dir between runs; each run works on a copy.
 */

export const MERCHANT = 'M-BENCH';
const SPAN_MS = 20 * 3_600_000;
const START = Date.UTC(2026, 0, 1);
/** Bump when the way the fixture is written changes. */
const FIXTURE_VERSION = 3;

export interface Fixture {
  /** A fresh copy of the fixture, in a temp dir the caller removes (`dir`). */
  path: string;
  dir: string;
  /** The virtual clock's time when the last sale settled: what a restarted till's clock reads. */
  end: number;
  attempts: number;
  unknown: number;
  bytes: number;
}

type NodeEntry = typeof import('../src/node.js');

/** The node entry matching `loadCore`'s choice: dist by default, src under `--src`. */
export async function loadNode(): Promise<NodeEntry> {
  const target = process.env.BENCH_TARGET === 'src' ? '../src/node.ts' : '../dist/node.js';
  const url = new URL(target, import.meta.url);
  if (!existsSync(fileURLToPath(url))) throw new Error(`${fileURLToPath(url)} is missing: run \`npm run build\` first, or pass --src`);
  return (await import(url.href)) as NodeEntry;
}

/** Handles whose `datasync` does nothing: a fast writer of the same bytes. */
const noSync: FileStoreFs = {
  ...realFs,
  open: async (...args: Parameters<typeof realFs.open>) => Object.assign(await realFs.open(...args), { datasync: async () => undefined }),
};

async function writeFixture(path: string, sales: number): Promise<Omit<Fixture, 'path' | 'dir' | 'bytes'>> {
  const core = await loadCore();
  const { fileStore } = await loadNode();
  const clock = new ManualClock(START);
  const guard = await core.createGuard({
    merchantId: MERCHANT,
    terminalId: 'T-01',
    secret: BENCH_SECRET,
    store: fileStore(path, { fs: noSync }),
    clock,
  });
  let unknown = 0;
  for (let i = 0; i < sales; i++) {
    if (i % 10_000 === 0) progress(`fixture: ${i} of ${sales} sales through createGuard + fileStore`);
    // A sale every SPAN / sales ms, settled 300 ms after its begin.
    clock.advance(Math.floor(SPAN_MS / sales) - 300);
    const sale: Sale = { amount: 100 + i, currency: 'CNY', card: { token: `tok_${(i * 7919) % 20_000}` } };
    if (i % 3 !== 0) sale.operator = `op-${i % 7}`;
    if (i % 3 === 1) sale.orderId = `ORD-${i}`;
    const { attempt } = await guard.begin(sale);
    if (!attempt) throw new Error(`fixture sale ${i} was not allowed`);
    clock.advance(300);
    const slot = i % 20;
    if (i % 500 === 499) {
      await attempt.markUnknown({ code: 'TIMEOUT' });
      unknown++;
    } else if (slot < 15) {
      const ref = { authCode: `A${i % 1_000_000}`, processorRef: `ch_${(i * 2_654_435_761) % 4_294_967_296}` };
      await attempt.approve(ref);
      if (slot === 14) await attempt.void();
    } else await attempt.decline({ code: '05', message: 'Do not honor' });
  }
  await guard.close();
  // Opened once more, as a till does at its next start: what that start may rewrite is done.
  await fileStore(path).close();
  return { end: clock.now(), attempts: sales, unknown };
}

/** The fixture of `sales` sales: written once per machine (a minute or so), then copied for each run. */
export async function fixture(sales: number): Promise<Fixture> {
  const cache = join(tmpdir(), `pdg-bench-fixture-v${FIXTURE_VERSION}-${sales}`);
  const cached = join(cache, 'guard.jsonl');
  const metaPath = join(cache, 'fixture.json');
  if (!existsSync(metaPath)) {
    await rm(cache, { recursive: true, force: true });
    await mkdir(cache, { recursive: true });
    const meta = await writeFixture(cached, sales);
    await writeFile(metaPath, JSON.stringify(meta));
  }
  const meta = JSON.parse(await readFile(metaPath, 'utf8')) as Omit<Fixture, 'path' | 'dir' | 'bytes'>;
  const dir = await mkdtemp(join(tmpdir(), 'pdg-bench-file-'));
  const path = join(dir, 'guard.jsonl');
  await copyFile(cached, path);
  return { ...meta, path, dir, bytes: (await stat(path)).size };
}

export interface ChildResult {
  /** The first start-up of the process: createGuard, or the store's open + load({ since }). */
  ms: number;
  /** Heap and array buffers after it, over a baseline taken before, per attempt in the file. */
  heapPerAttempt: number;
  /** Records the start-up handed over: the guard's `attempts()`, or what load({ since }) returned. */
  loaded: number;
}

/**
 * Runs one start-up in a fresh process (`node --expose-gc`): the cold case,
 * as a till's app start is, and a heap unaffected by earlier samples.
 * `guard`: createGuard over the file; `store`: fileStore + load({ since: end - 10 min }).
 */
export function inFreshProcess(mode: 'guard' | 'store', f: Fixture): ChildResult {
  const script = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, mode, f.path, String(f.end), String(f.attempts)], {
    encoding: 'utf8',
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = child.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ChildResult;
  } catch {
    throw new Error(`fresh-process start-up (${mode}) failed, exit ${child.status}: ${child.stdout.slice(0, 300)}`);
  }
}

async function child(mode: string, path: string, end: number, attempts: number): Promise<void> {
  const core = await loadCore();
  const { fileStore } = await loadNode();
  const before = settledHeap();
  const started = performance.now();
  let kept: unknown;
  let loaded: number;
  let ms: number;
  let heapPerAttempt: number;
  if (mode === 'guard') {
    const guard = await core.createGuard({
      merchantId: MERCHANT,
      terminalId: 'T-01',
      secret: BENCH_SECRET,
      store: fileStore(path),
      clock: new ManualClock(end),
    });
    ms = performance.now() - started;
    heapPerAttempt = (settledHeap() - before) / attempts;
    kept = guard;
    // Counted after the heap reading: attempts() reads every record from the store.
    loaded = (await guard.attempts()).length;
  } else {
    const store = fileStore(path);
    const records = await store.load({ since: end - 600_000 });
    ms = performance.now() - started;
    heapPerAttempt = (settledHeap() - before) / attempts;
    kept = [store, records];
    loaded = records.length;
  }
  process.stdout.write(`${JSON.stringify({ ms, heapPerAttempt, loaded } satisfies ChildResult)}\n`);
  if (kept === undefined) throw new Error('unreachable');
}

// `node --expose-gc --import tsx bench/file-fixture.ts <guard|store> <path> <end> <attempts>`: one fresh-process start-up.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [mode, path, end, attempts] = process.argv.slice(2);
  await child(mode as string, path as string, Number(end), Number(attempts));
  process.exit(0);
}
