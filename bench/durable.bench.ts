import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Decision } from '../src/index.js';
import { BENCH_SECRET, ManualClock, coreTarget, loadCore, percentile, progress, quick, round } from './harness.js';
import { loadNode } from './file-fixture.js';
import type { BenchResult } from './types.js';

/**
 * SPEC §8: a durable `begin` on `fileStore` within 2x of the floor measured
 * in the same run, on the same disk: one positional write of a record-sized
 * line plus `fdatasync`. Wall clock (an fsync is waiting, not CPU), floor
 * and begin samples alternating so the disk's moods land on both. The
 * approve that follows each begin is not timed.
 */

export async function run(): Promise<BenchResult[]> {
  const core = await loadCore();
  const { fileStore } = await loadNode();
  const rounds = quick() ? 100 : 400;
  const dir = await mkdtemp(join(tmpdir(), 'pdg-durable-'));
  try {
    const clock = new ManualClock();
    const store = fileStore(join(dir, 'guard.jsonl'));
    const guard = await core.createGuard({ merchantId: 'M-BENCH', terminalId: 'T-01', secret: BENCH_SECRET, store, clock });
    const floorFile = await open(join(dir, 'floor.jsonl'), 'w+', 0o600);
    const begins: number[] = [];
    const floors: number[] = [];
    let position = 0;
    let line = Buffer.alloc(0);
    progress(`durable begin: ${rounds} begins and ${rounds} floor writes on ${dir}, alternating`);
    for (let i = 0; i < rounds; i++) {
      clock.advance(1_000);
      let started = performance.now();
      const decision: Decision = await guard.begin({
        amount: 100 + i,
        currency: 'CNY',
        card: { token: `tok_${i}` },
        orderId: `ORD-${i}`,
        operator: 'op-1',
      });
      begins.push(performance.now() - started);
      if (!decision.attempt) throw new Error(`sale ${i} was not allowed: ${decision.verdict}`);
      // The floor's line is the size of the record line the store just wrote.
      if (i === 0) line = Buffer.from(`${JSON.stringify(await store.get(decision.attempt.id))}\n`);
      await decision.attempt.approve({ authCode: 'A1' });
      started = performance.now();
      await floorFile.write(line, 0, line.length, position);
      await floorFile.datasync();
      floors.push(performance.now() - started);
      position += line.length;
    }
    await floorFile.close();
    await guard.close();
    const sorted = (samples: number[]) => [...samples].sort((a, b) => a - b);
    const [floorP50, beginP50] = [percentile(sorted(floors), 0.5), percentile(sorted(begins), 0.5)];
    const ms = (x: number) => round(x * 1000);
    return [
      {
        name: 'durable floor (pwrite of a record line + fdatasync) p50',
        value: ms(floorP50),
        unit: 'µs',
        detail: `${rounds} samples, ${line.length}-byte line, p90 ${ms(percentile(sorted(floors), 0.9))} µs`,
      },
      {
        name: 'begin on fileStore p50',
        value: ms(beginP50),
        unit: 'µs',
        detail: `${rounds} samples, p90 ${ms(percentile(sorted(begins), 0.9))} µs, ${coreTarget()}`,
      },
      {
        name: 'begin on fileStore / durable floor (p50)',
        value: round(beginP50 / floorP50),
        unit: 'x',
        budget: 2,
        detail: 'SPEC §8: durable begin within 2x of one record-sized write + fdatasync on the same disk',
      },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--src')) process.env.BENCH_TARGET = 'src';
  for (const result of await run()) {
    console.log(
      `${result.name}: ${result.value} ${result.unit}${result.budget === undefined ? '' : result.value < result.budget ? '  ok' : '  FAIL'}  (${result.detail ?? ''})`,
    );
  }
}
