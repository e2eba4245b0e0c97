import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import * as realFs from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GuardStorageError } from '../../../src/index.js';
import { fileStore } from '../../../src/node.js';
import { acquireLock, type LockHolder } from '../../../src/stores/file/lock.js';

/*
 * Issue 10, "lock file": a lock holding this process's own pid used to be
 * taken over whenever no store in this process held it. Two containers
 * sharing a volume are both pid 1 on one kernel (one boot id), so each would
 * take the other's lock and both would write one file. The lock now tells
 * processes apart by the tokens this process holds, the host name and (on
 * Linux) the pid namespace.
 */

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pdg-lock-'));
  dirs.push(dir);
  return join(dir, 'guard.jsonl');
}

const linux = process.platform === 'linux';
const BOOT_ID = linux ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : undefined;
const PID_NS = linux ? readlinkSync('/proc/self/ns/pid') : undefined;
/** This process's start time in ticks since boot (/proc/self/stat field 22). */
const PROC_START = linux
  ? ((stat) => stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])(readFileSync('/proc/self/stat', 'utf8'))
  : undefined;

/** A lock file as another process would have written it. */
function writeLock(path: string, holder: Partial<LockHolder> & { pid: number }): void {
  writeFileSync(
    `${path}.lock`,
    JSON.stringify({
      startedAt: Date.parse('2026-03-01T09:00:00Z'),
      token: 'someone-elses-token',
      ...(BOOT_ID ? { bootId: BOOT_ID } : {}),
      ...holder,
    }),
  );
}

const lockOf = (path: string) => JSON.parse(readFileSync(`${path}.lock`, 'utf8')) as LockHolder;

async function opening(path: string): Promise<unknown> {
  const store = fileStore(path);
  try {
    await store.load();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await store.close();
  }
}

/** A pid that was a process a moment ago and is not one now. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid;
}

describe('the file lock tells processes apart', () => {
  it("refuses a lock with this process's pid and boot id but a token this process does not hold: another container", async () => {
    const path = tempFile();
    writeLock(path, { pid: process.pid, host: hostname() });
    const error = await opening(path);
    expect(error).toBeInstanceOf(GuardStorageError);
    expect(error).toMatchObject({ code: 'LOCKED' });
    expect((error as Error).message).toContain(`held by process ${process.pid}`);
    expect((error as Error).message).toContain(`delete ${path}.lock by hand`);
    // Left as it was: the other process still owns the file.
    expect(lockOf(path).token).toBe('someone-elses-token');
  });

  it('refuses such a lock in the format written before hosts were recorded, too', async () => {
    const path = tempFile();
    writeLock(path, { pid: process.pid });
    expect(await opening(path)).toMatchObject({ name: 'GuardStorageError', code: 'LOCKED' });
  });

  it('takes over a lock whose token this process holds: another fileStore of this process', async () => {
    const path = tempFile();
    const first = await acquireLock(realFs, path);
    const firstToken = lockOf(path).token;
    const second = await acquireLock(realFs, path);
    expect(lockOf(path)).toMatchObject({ pid: process.pid });
    expect(lockOf(path).token).not.toBe(firstToken);
    // The first no longer holds it: releasing it leaves the second's lock.
    await first.release();
    expect(existsSync(`${path}.lock`)).toBe(true);
    await second.release();
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('forgets a released lock: its token written back by someone else is not this process', async () => {
    const path = tempFile();
    const lock = await acquireLock(realFs, path);
    const token = lockOf(path).token;
    await lock.release();
    writeLock(path, { pid: process.pid, host: hostname(), token });
    expect(await opening(path)).toMatchObject({ code: 'LOCKED' });
  });

  it('records the host (and on Linux the boot id and pid namespace) beside the pid', async () => {
    const path = tempFile();
    const lock = await acquireLock(realFs, path);
    expect(lockOf(path)).toMatchObject({
      pid: process.pid,
      host: hostname(),
      ...(linux ? { bootId: BOOT_ID, pidns: PID_NS, procStart: PROC_START } : {}),
    });
    expect(PROC_START).toSatisfy((start: string | undefined) => !linux || /^\d+$/.test(start ?? ''));
    await lock.release();
  });

  it('refuses a lock from another host, even one whose pid is not alive here, and says how to clear it', async () => {
    const path = tempFile();
    writeLock(path, { pid: deadPid(), host: 'till-container-7f3a' });
    const error = await opening(path);
    expect(error).toMatchObject({ name: 'GuardStorageError', code: 'LOCKED' });
    expect((error as Error).message).toContain('on host "till-container-7f3a"');
    expect((error as Error).message).toContain(`delete ${path}.lock by hand`);
  });

  it('refuses a lock from another host with another boot id: another machine on a shared volume', async () => {
    const path = tempFile();
    writeLock(path, { pid: deadPid(), host: 'till-02', bootId: 'another-machines-boot' });
    expect(await opening(path)).toMatchObject({ code: 'LOCKED' });
  });

  it('takes over a lock from this host from before a reboot', async () => {
    const path = tempFile();
    writeLock(path, { pid: 1, host: hostname(), bootId: 'some-earlier-boot' });
    if (linux) await expect(opening(path)).resolves.toBeUndefined();
    else expect(await opening(path)).toMatchObject({ code: 'LOCKED' });
  });

  it('takes over a lock from this host whose process is gone', async () => {
    const path = tempFile();
    writeLock(path, { pid: deadPid(), host: hostname(), ...(PID_NS ? { pidns: PID_NS } : {}) });
    await expect(opening(path)).resolves.toBeUndefined();
  });

  it('still reads an old lock without a host: a dead pid is stale, a live one holds', async () => {
    const path = tempFile();
    writeLock(path, { pid: deadPid() });
    await expect(opening(path)).resolves.toBeUndefined();
    writeLock(path, { pid: process.ppid });
    expect(await opening(path)).toMatchObject({ code: 'LOCKED' });
  });

  it.runIf(linux)('refuses a lock from another pid namespace on this host: kill(pid, 0) here says nothing about it', async () => {
    const path = tempFile();
    writeLock(path, { pid: deadPid(), host: hostname(), pidns: 'pid:[4026599999]' });
    const error = await opening(path);
    expect(error).toMatchObject({ code: 'LOCKED' });
    expect((error as Error).message).toContain('another container on this host');
  });

  it.runIf(linux)(
    "takes over a lock with this process's pid and pid namespace from a process that started at another time: the pid was reused",
    async () => {
      const path = tempFile();
      writeLock(path, { pid: process.pid, host: hostname(), pidns: PID_NS, procStart: String(Number(PROC_START) - 1) });
      await expect(opening(path)).resolves.toBeUndefined();
    },
  );

  it.runIf(linux)(
    'refuses a lock of this very process that it does not hold: another copy of the library or a worker thread, not fenced',
    async () => {
      const path = tempFile();
      writeLock(path, { pid: process.pid, host: hostname(), pidns: PID_NS, procStart: PROC_START });
      const error = await opening(path);
      expect(error).toMatchObject({ code: 'LOCKED' });
      expect((error as Error).message).toContain('this very process');
    },
  );

  it.runIf(linux)(
    "refuses a lock with this process's pid and pid namespace but no start time: nothing proves its writer gone",
    async () => {
      const path = tempFile();
      writeLock(path, { pid: process.pid, host: hostname(), pidns: PID_NS });
      expect(await opening(path)).toMatchObject({ code: 'LOCKED' });
    },
  );
});
