/**
 * Child process of test/stores/file-crash.test.ts (and the lock test of
 * file.test.ts). Run as `node --import tsx crash-child.ts <mode> <file> …`.
 *
 * - `charge <file>`: boots (module loading is most of a child's cost), says
 *   `booted`, and waits for `go <firstSale>` on stdin, so the parent can boot
 *   the next child while the current one runs. Then a guard on fileStore
 *   charges sale after sale (three lanes at once, so puts meet in the group
 *   commit) until SIGKILLed.
 *   Each step is announced on stdout as a JSON line BEFORE it starts and
 *   AFTER it resolved, so the parent knows what must have been durable.
 *   Its `recover` (SPEC §10) answers by crash-plan.ts's plan for the
 *   attempt, and logs each call's start and end, and the guard's event for
 *   it, to a file beside the store.
 * - `hold <file>`: opens the store and keeps it (and its lock) until killed.
 *
 * Lines go out with a synchronous write to fd 1: once one is in the pipe a
 * SIGKILL cannot take it back, and it is never sent before its step resolved.
 */
import { writeSync } from 'node:fs';
import { createGuard } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { CRASH_GUARD, CRASH_RECOVER, CRASH_STORE, loggedRecover, plannedOutcome, saleFor } from './crash-plan.js';

const [mode, file] = process.argv.slice(2);
const say = (event: Record<string, unknown>) => writeSync(1, `${JSON.stringify(event)}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

if (!file) throw new Error('usage: crash-child.ts charge|hold <file>');

/** The first line on stdin: `go <firstSale>`. */
function waitForGo(): Promise<number> {
  return new Promise((resolve) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      text += chunk;
      const match = /^go (\d+)\n/.exec(text);
      if (match) resolve(Number(match[1]));
    });
  });
}

if (mode === 'hold') {
  const store = fileStore(file, CRASH_STORE);
  await store.load();
  say({ e: 'ready', pid: process.pid });
  setInterval(() => undefined, 60_000);
} else if (mode === 'charge') {
  say({ e: 'booted' });
  let next = await waitForGo();
  // The processor's status inquiry takes a few ms, so that kills land mid-call too.
  const { recover, watch } = loggedRecover(file, () => sleep(Math.floor(Math.random() * 5)));
  const guard = await createGuard({ ...CRASH_GUARD, ...CRASH_RECOVER, recover, store: fileStore(file, CRASH_STORE) });
  watch(guard);
  say({ e: 'ready', pid: process.pid });
  const lane = async () => {
    for (;;) {
      const k = next++;
      say({ e: 'begin', k });
      const decision = await guard.begin(saleFor(k));
      const attempt = decision.attempt;
      say({ e: 'begun', k, verdict: decision.verdict, ...(attempt ? { id: attempt.id } : {}) });
      if (!attempt) continue;
      // The processor takes a few ms to answer.
      await sleep(1 + Math.floor(Math.random() * 4));
      const status = plannedOutcome(k);
      say({ e: 'settle', k, id: attempt.id, status });
      await guard.settle(attempt.id, { status });
      say({ e: 'settled', k, id: attempt.id, status });
    }
  };
  await Promise.all([lane(), lane(), lane()]);
} else {
  throw new Error(`unknown mode ${mode}`);
}
