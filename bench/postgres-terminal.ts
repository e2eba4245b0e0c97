import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { Guard } from '../src/index.js';
import { loadCore } from './harness.js';
import { floorInsert, loadPostgres, saleOf, secret } from './postgres-fixture.js';

/**
 * One terminal of the shared-store throughput bench (bench/postgres.bench.ts),
 * in a process of its own, as a till is. Driven over stdin/stdout, one JSON
 * line each way:
 *
 *   → { "cmd": "prepare", "mode": "guard" | "bare", "merchant", "terminal", "url", "recordBytes", "warmup" }
 *   ← { "ready": true }            a pool of its own (and a guard over `postgresStore` on it), warmed up
 *   → { "cmd": "go", "at", "ms" }  at wall-clock `at` (epoch ms), work as fast as it can for `ms`
 *   ← { "count", "ms" }            how many calls completed inside [at, at + ms]
 *   → { "cmd": "release" }         close the guard and the pool
 *   ← { "released": true }
 *   → { "cmd": "exit" }
 *
 * `guard`: `guard.begin` of distinct sales, one after another (a till waits
 * for its answer), none settled. `bare`: the floor's bare insert of a
 * record-sized row, one after another, on a pool of one connection.
 */

interface Prepare {
  cmd: 'prepare';
  mode: 'guard' | 'bare';
  merchant: string;
  terminal: string;
  url: string;
  recordBytes: number;
  warmup: number;
}
interface Go {
  cmd: 'go';
  at: number;
  ms: number;
}
type Command = Prepare | Go | { cmd: 'release' } | { cmd: 'exit' };

const wallNow = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
const reply = (message: object): void => {
  process.stdout.write(`${JSON.stringify(message)}\n`);
};

async function main(): Promise<void> {
  const core = await loadCore();
  const { postgresStore } = await loadPostgres();
  let pool: pg.Pool | undefined;
  let guard: Guard | undefined;
  let step: ((i: number) => Promise<void>) | undefined;
  let next = 0;

  for await (const line of createInterface({ input: process.stdin })) {
    const command = JSON.parse(line) as Command;
    if (command.cmd === 'prepare') {
      const { mode, merchant, terminal, url, recordBytes, warmup } = command;
      // A guard's store holds one connection to LISTEN and queries on another.
      pool = new pg.Pool({ connectionString: url, max: mode === 'guard' ? 2 : 1 });
      pool.on('error', () => undefined);
      const used = pool;
      if (mode === 'guard') {
        const opened = await core.createGuard({ merchantId: merchant, terminalId: terminal, secret, store: postgresStore({ pool: used }) });
        guard = opened;
        step = async (i) => {
          const decision = await opened.begin(saleOf(terminal, i));
          if (!decision.attempt) throw new Error(`${terminal}: sale ${i} was not allowed: ${decision.verdict}`);
        };
      } else {
        const record = 'x'.repeat(recordBytes);
        step = async (i) => {
          await floorInsert(used, `${merchant}_${terminal}_${i}`, record);
        };
      }
      for (let i = 0; i < warmup; i++) await step(next++);
      reply({ ready: true });
    } else if (command.cmd === 'go') {
      if (!step) throw new Error('go before prepare');
      const end = command.at + command.ms;
      await sleep(command.at - wallNow());
      let count = 0;
      while (wallNow() < end) {
        await step(next++);
        if (wallNow() <= end) count++;
      }
      reply({ count, ms: command.ms });
    } else if (command.cmd === 'release') {
      await guard?.close();
      await pool?.end();
      guard = undefined;
      pool = undefined;
      step = undefined;
      reply({ released: true });
    } else {
      break;
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    await main();
    process.exit(0);
  } catch (error) {
    process.stderr.write(`postgres-terminal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  }
}
