/**
 * Temporary directories and the guards a test file opens in them, closed and
 * removed after all its tests (a guard left open would hold its file's lock).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { Guard } from '../../src/index.js';

export function scratch(prefix: string): {
  /** A fresh directory of its own. */
  tempDir(): string;
  /** `guard.jsonl` in a fresh directory: a file store's path. */
  tempFile(): string;
  /** Closes `guard` after all tests; hands it back. */
  keep<T extends Guard>(guard: T): T;
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
  return {
    tempDir,
    tempFile: () => join(tempDir(), 'guard.jsonl'),
    keep: (guard) => (guards.push(guard), guard),
  };
}
