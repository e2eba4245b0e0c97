/**
 * Temporary directories and the guards a test file opens in them, closed and
 * removed after all its tests (a guard left open would hold its file's lock).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createGuard, type Clock, type Guard, type GuardOptions, type Scheduler } from '../../src/index.js';
import { fileStore } from '../../src/node.js';

export function scratch(prefix: string): {
  /** A fresh directory of its own. */
  tempDir(): string;
  /** `guard.jsonl` in a fresh directory: a file store's path. */
  tempFile(): string;
  /** Closes `guard` after all tests; hands it back. */
  keep<T extends Guard>(guard: T): T;
  /**
   * A guard of merchant M1 over a new `fileStore(path)` on virtual `time`,
   * kept: a till started, restarted or hot-reloaded (call it again on one path).
   */
  fileGuard(
    path: string,
    time: { clock: Clock; scheduler: Scheduler },
    options: Partial<GuardOptions> & { secret: string | Uint8Array },
  ): Promise<Guard>;
} {
  const dirs: string[] = [];
  const guards: Guard[] = [];
  afterAll(async () => {
    for (const guard of guards) await guard.close().catch(() => undefined);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  const keep = <T extends Guard>(guard: T): T => (guards.push(guard), guard);
  return {
    tempDir,
    tempFile: () => join(tempDir(), 'guard.jsonl'),
    keep,
    fileGuard: async (path, time, options) =>
      keep(await createGuard({ merchantId: 'M1', store: fileStore(path), clock: time.clock, scheduler: time.scheduler, ...options })),
  };
}
