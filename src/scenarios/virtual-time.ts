import type { Clock, Scheduler } from '../types.js';

/**
 * A wall clock, a monotonic clock and timers that move only when told:
 * what the QA scenarios run on, and what a test of code that waits on the
 * guard (`charge`'s timeout) can use. `advance` moves both clocks and runs
 * every timer that falls due on the way, in order, each at its own time;
 * `jump` moves the wall clock only, as NTP or a person changing the date does.
 *
 * @example
 * const time = virtualTime(Date.parse('2026-03-01T09:00:00Z'));
 * const guard = await createGuard({ merchantId: 'M1', secret, clock: time.clock, scheduler: time.scheduler });
 * const charging = guard.charge(sale, () => new Promise(() => {}), { timeout: '30s' });
 * await time.advance(30_000); // the charge settles as unknown
 */
export interface VirtualTime {
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /** Moves both clocks by `ms`, running the timers that fall due; resolves once their tasks (and what they awaited) ran. */
  advance(ms: number): Promise<void>;
  /** Moves the wall clock only (negative: back). */
  jump(ms: number): void;
  /** A restarted process: the monotonic clock starts again from 0 and every timer is gone. */
  restart(): void;
}

interface Timer {
  due: number;
  seq: number;
  task: () => void;
}

/**
 * Runs the timers due by `end`, earliest first (the order they were set among
 * equals), each after `moveTo(due)` and followed by `settle` (a turn of the
 * event loop), so what a task starts has run before the next one: both
 * virtual times' one loop.
 */
async function runDue<T extends Timer>(
  timers: () => T[],
  take: (timer: T) => void,
  end: number,
  moveTo: (due: number) => void,
  settle: () => Promise<void>,
) {
  for (;;) {
    const next = timers()
      .filter((t) => t.due <= end)
      .sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
    if (!next) return;
    take(next);
    moveTo(next.due);
    next.task();
    await settle();
  }
}

export function virtualTime(start: number): VirtualTime {
  let wall = start;
  let mono = 0;
  let seq = 0;
  let timers: Timer[] = [];
  const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
  return {
    clock: { now: () => wall, monotonic: () => mono },
    scheduler: {
      after(ms, task) {
        const timer: Timer = { due: mono + Math.max(0, ms), seq: seq++, task };
        timers.push(timer);
        return () => {
          timers = timers.filter((t) => t !== timer);
        };
      },
    },
    async advance(ms) {
      const end = mono + ms;
      await runDue(
        () => timers,
        (next) => (timers = timers.filter((t) => t !== next)),
        end,
        (due) => {
          wall += due - mono;
          mono = due;
        },
        settle,
      );
      wall += end - mono;
      mono = end;
    },
    jump(ms) {
      wall += ms;
    },
    restart() {
      mono = 0;
      timers = [];
    },
  };
}

/**
 * One terminal's clocks and timers inside a {@link SharedVirtualTime}: its
 * wall clock is the shared time plus its own jumps, its monotonic clock
 * counts from its (re)start.
 */
export interface TerminalTime {
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /** Moves this terminal's wall clock only (negative: back). */
  jump(ms: number): void;
  /** This terminal's process restarted: its monotonic clock starts again from 0 and its timers are gone. */
  restart(): void;
}

/**
 * The time of several terminals (SPEC §7, several terminals): one shared
 * time, the shared database's clock, which only `advance` moves; each
 * terminal reads it through its own wall clock (shifted by its own jumps)
 * and its own monotonic clock. `advance` runs every terminal's timers that
 * fall due, in one order by due time, each at its own time.
 */
export interface SharedVirtualTime {
  /** The shared time (epoch ms): the database's clock. No terminal's jumps move it. */
  now(): number;
  /** A new terminal's clocks, starting now: its wall clock on the shared time, its monotonic clock at 0. */
  terminal(): TerminalTime;
  /** Moves every clock by `ms`, running the timers that fall due; resolves once their tasks (and what they awaited) ran. */
  advance(ms: number): Promise<void>;
}

interface OwnedTimer extends Timer {
  owner: object;
}

export function sharedVirtualTime(start: number): SharedVirtualTime {
  let elapsed = 0;
  let seq = 0;
  let timers: OwnedTimer[] = [];
  // Another turn of the event loop: what the tasks started (promise chains
  // over the in-memory database) runs to its end before the next timer.
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    now: () => start + elapsed,
    terminal() {
      let offset = 0;
      let origin = elapsed;
      const owner = {};
      return {
        clock: { now: () => start + elapsed + offset, monotonic: () => elapsed - origin },
        scheduler: {
          after(ms, task) {
            const timer: OwnedTimer = { due: elapsed + Math.max(0, ms), seq: seq++, task, owner };
            timers.push(timer);
            return () => {
              timers = timers.filter((t) => t !== timer);
            };
          },
        },
        jump(ms) {
          offset += ms;
        },
        restart() {
          origin = elapsed;
          timers = timers.filter((t) => t.owner !== owner);
        },
      };
    },
    async advance(ms) {
      const end = elapsed + ms;
      await runDue(
        () => timers,
        (next) => (timers = timers.filter((t) => t !== next)),
        end,
        (due) => (elapsed = due),
        settle,
      );
      elapsed = end;
    },
  };
}
