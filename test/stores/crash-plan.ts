/**
 * The script the crash child follows, shared with the parent so both agree
 * on what sale number k is and how it should end.
 */
import { appendFileSync } from 'node:fs';
import type { AttemptRecord, Guard, GuardOptions, RecoverAnswer, Sale } from '../../src/index.js';
import type { FileStoreOptions } from '../../src/node.js';

export const CRASH_GUARD = {
  merchantId: 'M-CRASH',
  secret: 'crash-test-secret-0123456789abcdef',
  // Long enough that nothing pending turns stale on its own during the run:
  // every `unknown` the parent sees comes from a crash or a planned settle.
  pendingTimeout: '10m',
} satisfies Omit<GuardOptions, 'store'>;

// Small thresholds so compactions happen (and get killed) during the run.
export const CRASH_STORE: FileStoreOptions = { compactAfter: { deadLines: 150, deadRatio: 0.5 } };

const CARDS = ['4111 1111 1111 1111', '6222 0202 0011 2233 446'] as const;

/** Sale k: a distinct amount per k, so every sale has its own fingerprint. */
export function saleFor(k: number): Sale {
  return { amount: 100 + k, currency: 'CNY', card: { pan: CARDS[k % 2] as string } };
}

/** How the processor answers sale k: half approved, three in ten declined, two in ten lost. */
export function plannedOutcome(k: number): 'approved' | 'declined' | 'unknown' {
  const slot = k % 10;
  return slot < 5 ? 'approved' : slot < 8 ? 'declined' : 'unknown';
}

/**
 * `recover` (SPEC §10) in the child and in the parent's last guard: short,
 * so that tries happen within a child's life of a few ms, and a last guard
 * settles what is left quickly.
 */
export const CRASH_RECOVER = { recoverAfter: '10ms', recoverTries: 4 } satisfies Pick<GuardOptions, 'recoverAfter' | 'recoverTries'>;

/** What the processor knows of an attempt: by a hash of its id, so every process that asks gets the same answer. */
export type RecoverPlan = 'approved' | 'cancelled' | 'voided' | 'nothing' | 'throws' | 'throws, then approved';
const PLANS: readonly RecoverPlan[] = ['approved', 'cancelled', 'voided', 'nothing', 'throws', 'throws, then approved'];

export function recoverPlan(attemptId: string): RecoverPlan {
  let hash = 2166136261;
  for (let i = 0; i < attemptId.length; i++) hash = Math.imul(hash ^ attemptId.charCodeAt(i), 16777619) >>> 0;
  return PLANS[hash % PLANS.length] as RecoverPlan;
}

/** The answer to try `tries` (1-based) for `attemptId`: an outcome, undefined (still unknown), or a throw. */
export function recoverAnswer(attemptId: string, tries: number): RecoverAnswer | 'throw' {
  const plan = recoverPlan(attemptId);
  if (plan === 'nothing') return undefined;
  if (plan === 'throws' || (plan === 'throws, then approved' && tries < 2)) return 'throw';
  return { status: plan === 'throws, then approved' ? 'approved' : plan };
}

/** What an attempt settles as once an answer of its plan is applied (`undefined`: it never is). */
export function recoveredStatus(attemptId: string): 'approved' | 'cancelled' | 'voided' | undefined {
  const plan = recoverPlan(attemptId);
  return plan === 'nothing' || plan === 'throws' ? undefined : plan === 'throws, then approved' ? 'approved' : plan;
}

/**
 * One line of the recover log: a call's start and end (its answer), and the
 * guard's 'recover' event for it (emitted once the answer was applied, or
 * not: `error`), by process.
 */
export interface RecoverLogLine {
  pid: number;
  id: string;
  try: number;
  e: 'start' | 'end' | 'event';
  answer?: string;
  outcome?: string;
  error?: boolean;
}

/** The log of recover calls beside the store file. */
export const recoverLogOf = (file: string) => `${file}.recover-calls.jsonl`;

/**
 * A `recover` answering by plan after `delay`, and a hook for a guard's
 * events, both logging to the file beside `file` with a synchronous append:
 * a SIGKILL cannot take a line back, and a line is never written before what
 * it tells happened.
 */
export function loggedRecover(file: string, delay: () => Promise<unknown>) {
  const log = (line: RecoverLogLine) => appendFileSync(recoverLogOf(file), `${JSON.stringify(line)}\n`);
  const pid = process.pid;
  const recover = async (attempt: AttemptRecord): Promise<RecoverAnswer> => {
    const tries = attempt.recovery?.tries ?? 0;
    log({ pid, id: attempt.id, try: tries, e: 'start' });
    await delay();
    const answer = recoverAnswer(attempt.id, tries);
    log({ pid, id: attempt.id, try: tries, e: 'end', answer: answer === 'throw' ? 'throw' : (answer?.status ?? 'nothing') });
    if (answer === 'throw') throw new Error('processor unreachable');
    return answer;
  };
  const watch = (guard: Guard) =>
    guard.on('recover', (event) =>
      log({
        pid,
        id: event.attemptId,
        try: event.try,
        e: 'event',
        ...(event.outcome ? { outcome: event.outcome.status } : {}),
        ...(event.error !== undefined ? { error: true } : {}),
      }),
    );
  return { recover, watch };
}
