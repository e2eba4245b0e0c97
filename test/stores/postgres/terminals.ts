/**
 * The test side of terminal-process.ts: spawns terminals as Node processes
 * (`node --import tsx`), sends them commands and reads their answers,
 * events and the changes their stores handed their guards. Every process
 * spawned is recorded here and killed by its own pid (killAll) at the end of
 * a test file: nothing is ever signalled by name.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { AttemptRecord, Outcome, Reason, ReasonCode, Sale, Verdict } from '../../../src/index.js';
import type { TerminalConfig } from './terminal-process.js';

const SCRIPT = fileURLToPath(new URL('./terminal-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface DecisionView {
  key: number;
  verdict: Verdict;
  codes: ReasonCode[];
  reasons: Reason[];
  attemptId?: string;
  idempotencyKey?: string;
}

export interface ErrorView {
  name: string;
  code?: string;
  message: string;
}

export interface Answer<T> {
  ok: boolean;
  result: T;
  error?: ErrorView;
  /** How long the terminal took to answer, measured in the terminal. */
  ms: number;
}

export interface Change {
  id: string;
  status: string;
  /** The terminal's Date.now() when the change reached its guard. */
  at: number;
}

export interface Terminal {
  readonly terminalId: string;
  readonly pid: number;
  /** Events the guard emitted (conflict, storage-error, settle), in order. */
  readonly events: Record<string, unknown>[];
  /** Changes of other terminals' records handed to this guard, in order. */
  readonly changes: Change[];
  readonly stderr: string[];
  /** Resolves once the process exited (killed or closed). */
  readonly exited: Promise<number | null>;
  call<T = unknown>(op: string, args?: Record<string, unknown>): Promise<Answer<T>>;
  begin(sale: Sale): Promise<DecisionView>;
  settle(id: string, outcome: Outcome): Promise<AttemptRecord>;
  get(id: string): Promise<AttemptRecord | null>;
  /** A command that must succeed: its result, or a throw with the terminal's error. */
  ok<T = unknown>(op: string, args?: Record<string, unknown>): Promise<T>;
  /** SIGKILL, by pid; resolves once it exited. */
  kill(): Promise<void>;
  close(): Promise<void>;
}

const spawned = new Set<ChildProcessByStdio<Writable, Readable, Readable>>();

/** A terminal process, booted or booting, not yet told its config. */
interface Booting {
  proc: ChildProcessByStdio<Writable, Readable, Readable>;
  /** Each stdout line, parsed, to whoever listens now. */
  onLine: (line: Record<string, unknown>) => void;
  stderr: string[];
  exited: Promise<number | null>;
}

/**
 * Processes booted ahead of time: `node --import tsx` and the modules take
 * about a second of CPU, which a standby spends while the tests before it
 * wait (for pendingTimeout, a reconnect), instead of in the test that needs
 * a terminal.
 */
const standby: Booting[] = [];
const STANDBY = 3;

/** `within`: a command prefix the process runs under (`ip netns exec <name>`: a till on a network of its own). */
function boot(within: readonly string[] = []): Booting {
  const node = [process.execPath, '--import', 'tsx', SCRIPT];
  const [command, ...args] = [...within, ...node] as [string, ...string[]];
  const proc = spawn(command, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  spawned.add(proc);
  const booting: Booting = {
    proc,
    onLine: () => undefined,
    stderr: [],
    exited: new Promise((resolve) =>
      proc.on('exit', (code) => {
        spawned.delete(proc);
        resolve(code);
      }),
    ),
  };
  let buffer = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>;
      buffer = buffer.slice(newline + 1);
      booting.onLine(line);
    }
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => booting.stderr.push(chunk));
  proc.stdin.on('error', () => undefined);
  return booting;
}

/** Boots terminal processes on standby now, for the tests to come (a file's first test otherwise waits for them). */
export function prestart(count = STANDBY): void {
  while (standby.length < count) standby.push(boot());
}

/** Pool config for a child: plain values only (it crosses a process boundary as JSON). */
export function dbConfig(config: pg.ClientConfig, port?: number): pg.PoolConfig {
  return {
    host: config.host ?? '127.0.0.1',
    port: port ?? config.port ?? 5432,
    database: config.database ?? 'postgres',
    user: config.user ?? 'postgres',
    ...(typeof config.password === 'string' ? { password: config.password } : {}),
    connectionTimeoutMillis: 2_000,
  };
}

/**
 * Starts a terminal process (one on standby if there is one; a new one
 * `within` a command prefix); resolves once its guard is created.
 */
export async function startTerminal(config: TerminalConfig, within?: readonly string[]): Promise<Terminal> {
  const booting = within ? boot(within) : (standby.shift() ?? boot());
  const { proc, stderr, exited } = booting;
  const events: Record<string, unknown>[] = [];
  const changes: Change[] = [];
  const waiting = new Map<number, (answer: Answer<unknown>) => void>();
  let next = 0;
  let onReady: (line: { ready?: boolean; pid?: number; fatal?: ErrorView }) => void = () => undefined;
  const ready = new Promise<{ ready?: boolean; pid?: number; fatal?: ErrorView }>((resolve) => (onReady = resolve));
  void exited.then(() => {
    onReady({ fatal: { name: 'Exited', message: `terminal ${config.terminalId} exited: ${stderr.join('')}` } });
    for (const [, resolve] of waiting) {
      resolve({ ok: false, result: undefined, error: { name: 'Exited', message: `terminal ${config.terminalId} exited` }, ms: 0 });
    }
    waiting.clear();
  });
  booting.onLine = (line) => {
    if ('ready' in line || 'fatal' in line) onReady(line);
    else if ('event' in line) events.push(line.event as Record<string, unknown>);
    else if ('change' in line) changes.push(line.change as Change);
    else if (typeof line.n === 'number') {
      waiting.get(line.n)?.(line as unknown as Answer<unknown>);
      waiting.delete(line.n);
    }
  };
  proc.stdin.write(`${JSON.stringify(config)}\n`);
  // Another one boots for the next test, while this one runs.
  while (standby.length < STANDBY) standby.push(boot());

  const started = await ready;
  if (!started.ready) throw new Error(`terminal ${config.terminalId} did not start: ${JSON.stringify(started.fatal)} ${stderr.join('')}`);

  const call = <T>(op: string, args: Record<string, unknown> = {}): Promise<Answer<T>> => {
    const n = ++next;
    return new Promise<Answer<T>>((resolve) => {
      waiting.set(n, resolve as (answer: Answer<unknown>) => void);
      proc.stdin.write(`${JSON.stringify({ n, op, ...args })}\n`);
    });
  };
  const ok = async <T>(op: string, args: Record<string, unknown> = {}): Promise<T> => {
    const answer = await call<T>(op, args);
    if (!answer.ok) throw new Error(`${config.terminalId} ${op}: ${answer.error?.name} ${answer.error?.code}: ${answer.error?.message}`);
    return answer.result;
  };
  return {
    terminalId: config.terminalId,
    pid: proc.pid as number,
    events,
    changes,
    stderr,
    exited,
    call,
    ok,
    begin: (sale) => ok<DecisionView>('begin', { sale }),
    settle: (id, outcome) => ok<AttemptRecord>('settle', { id, outcome }),
    get: (id) => ok<AttemptRecord | null>('get', { id }),
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid as number, 'SIGKILL');
      await exited;
    },
    async close() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      await call('close');
      await exited;
    },
  };
}

/** SIGKILLs every terminal this test file started (those on standby too) and has not seen exit, each by its own pid. */
export async function killAll(): Promise<void> {
  standby.length = 0;
  const left = [...spawned];
  for (const proc of left) {
    if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
  }
  const gone = (proc: (typeof left)[number]) => proc.exitCode !== null || proc.signalCode !== null;
  await Promise.all(left.map((proc) => new Promise<void>((resolve) => (gone(proc) ? resolve() : proc.on('exit', () => resolve())))));
}

/** Polls `probe` every `everyMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
