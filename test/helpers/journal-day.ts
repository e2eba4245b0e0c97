/**
 * A day at one till, played through the public API (createGuard over a
 * fileStore, on a virtual clock), for the journal report's tests: a double
 * tap confirmed by the cashier, a charge timeout resolved by the background
 * recovery, an unknown left for a person, a supervisor override of a block,
 * refunds, a clock jump, a crash mid-charge and a restart. What only other
 * branches or other stores write (a reconciliation, a storage error, a
 * cross-terminal conflict) is appended by hand, as those writers would.
 */
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGuard, type AttemptRecord, type Guard, type JournalEntry, type RecoverAnswer, type Sale } from '../../src/index.js';
import { fileStore } from '../../src/node.js';
import { virtualTime } from '../../src/scenarios/virtual-time.js';
import { SECRET } from './guard.js';

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

/** 09:00 in Shanghai (UTC+8), 2026-03-01. */
export const DAY_START = Date.parse('2026-03-01T01:00:00Z');

const VISA = '4111 1111 1111 1111';
const MASTERCARD = '5555 5555 5555 4444';

function sale(amount: number, patch: Partial<Sale> = {}): Sale {
  return { amount, currency: 'CNY', card: { pan: VISA }, operator: 'alice', ...patch };
}

export interface JournalDay {
  /** The fileStore path: the journal is `<storePath>.journal`. */
  storePath: string;
  ids: {
    /** Approved, then refunded 500 and the rest. */
    doubleTapFirst: string;
    /** The double tap's second charge, confirmed by alice. */
    doubleTapSecond: string;
    /** Timed out at 10:00:30, approved by recovery 5 s later. */
    timedOut: string;
    /** Marked unknown at 11:00, recovery exhausted, declined by hand at 12:00. */
    leftForPerson: string;
    /** The supervisor-overridden retry of `leftForPerson`'s sale. */
    overridden: string;
    /** Pending at the crash (13:10), unknown at the restart (13:11), settled by reconciliation at 13:12. */
    crashed: string;
    /** Marked unknown at 14:00, never settled. */
    stillOpen: string;
  };
  /** Wall-clock times of the moments the tests check. */
  at: { timedOut: number; restart: number; reconciled: number; end: number };
}

/** Plays the day into a new temporary folder. */
export async function playJournalDay(): Promise<JournalDay> {
  const storePath = join(mkdtempSync(join(tmpdir(), 'pdg-report-')), 'till.jsonl');
  const time = virtualTime(DAY_START);
  // What `recover` answers, per attempt id: approved for the timed-out charge, nothing (still unknown) for the rest.
  const answers = new Map<string, RecoverAnswer>();
  const recover = (attempt: AttemptRecord): RecoverAnswer => answers.get(attempt.id);
  const open = (): Promise<Guard> =>
    createGuard({
      merchantId: 'M-0001',
      terminalId: 'T-01',
      secret: SECRET,
      store: fileStore(storePath),
      clock: time.clock,
      scheduler: time.scheduler,
      authorize: async ({ supervisor }) => supervisor === 'bob',
      recover,
      recoverAfter: '5s',
      recoverTries: 3,
    });

  // The virtual clock waits one tick after a timer, but the file store's writes are real I/O:
  // a real pause before and after every move lets them land at the virtual moment they belong to.
  const pause = () => new Promise((resolve) => setTimeout(resolve, 15));
  const advance = async (ms: number) => {
    await pause();
    await time.advance(ms);
    await pause();
  };

  let guard = await open();

  // 09:05 a double tap: the second tap is a prompt, and alice confirms it (the customer bought two).
  await advance(5 * MINUTE);
  const first = await guard.charge(sale(1250), async () => ({ approved: true, authCode: 'A1' }));
  await advance(20 * SECOND);
  const prompt = await guard.begin(sale(1250));
  const confirmed = await guard.override(prompt, { operator: 'alice', reason: 'customer bought two' });
  await confirmed.attempt?.approve();

  // 10:00 the processor does not answer within 30 s: unknown; recovery finds it approved 5 s later.
  await advance(55 * MINUTE - 20 * SECOND);
  let timedOutId = '';
  const charging = guard.charge(
    sale(8800, { card: { pan: MASTERCARD } }),
    (attempt) => {
      timedOutId = attempt.id;
      answers.set(attempt.id, { status: 'approved', authCode: 'LATE1' });
      return new Promise(() => undefined);
    },
    { timeout: '30s' },
  );
  // begin's write-ahead record goes to disk first: the timeout starts once submit was called.
  while (timedOutId === '') await new Promise((resolve) => setTimeout(resolve, 1));
  await advance(30 * SECOND);
  await charging;
  const timedOutAt = time.clock.now();
  // The first recover try is due recoverAfter (5 s) later: it runs, and its write lands, at that moment.
  // Its writes are fsynced to disk: on a loaded machine they take longer than the turn of the event loop
  // virtual time gives a timer, so the day waits for the approval before the clock moves on.
  await advance(5 * SECOND);
  for (let i = 0; i < 2_000 && (await guard.get(timedOutId))?.status !== 'approved'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await advance(5 * SECOND);

  // 11:00 an unknown that recovery cannot resolve (3 tries: 5 s, 15 s, 35 s), then a block on its retry,
  // overridden by the supervisor bob; a person declines the unknown at 12:00.
  await advance(HOUR - 40 * SECOND);
  const left = await guard.begin(sale(4200));
  await left.attempt?.markUnknown();
  await advance(2 * MINUTE);
  const blocked = await guard.begin(sale(4200));
  const lifted = await guard.override(blocked, { operator: 'carol', supervisor: 'bob', reason: 'processor portal shows no charge' });
  await lifted.attempt?.approve();
  await advance(HOUR - 2 * MINUTE);
  await guard.settle(left.attempt?.id as string, { status: 'declined' });

  // Refunds of the double tap's first charge: 5.00 now, the rest later.
  await guard.settle(first.attempt?.id as string, { status: 'refunded', amount: 500 });
  await advance(MINUTE);
  await guard.settle(first.attempt?.id as string, { status: 'refunded' });

  // 13:00 the wall clock jumps 10 minutes ahead (NTP): the next decision reports it.
  await advance(HOUR - MINUTE);
  time.jump(10 * MINUTE);
  const afterJump = await guard.begin(sale(300));
  await afterJump.attempt?.approve();

  // 13:10 a crash mid-charge: the till dies with an attempt pending, and restarts a minute later
  // (inside pendingTimeout, so the dead guard never saw it grow stale).
  const crashed = await guard.begin(sale(6600));
  await advance(MINUTE);
  time.restart();
  guard = await open();
  const restartAt = time.clock.now();
  // Reconciliation (another branch's applyReconciliation) settles it, then says so in its own entry.
  await advance(MINUTE);
  await guard.settle(crashed.attempt?.id as string, { status: 'approved' });
  const reconciledAt = time.clock.now();

  // 14:00 an unknown nobody resolves; recovery's tries run out.
  await advance(HOUR - 12 * MINUTE);
  const stillOpen = await guard.begin(sale(990));
  await stillOpen.attempt?.markUnknown();
  // Tries at 5 s, 15 s and 35 s: stepped to each, so each try's writes land before the next is due.
  for (const ms of [5, 10, 20, 25]) await advance(ms * SECOND);
  const end = time.clock.now();
  await guard.close();

  const byHand: JournalEntry[] = [
    {
      at: reconciledAt,
      type: 'reconcile',
      attemptId: crashed.attempt?.id,
      from: 'unknown',
      to: 'approved',
      detail: 'UNKNOWN_WAS_CHARGED matched by reference',
    },
    { at: end, type: 'storage', detail: 'the browser cleared the site data; wrote back 3 attempts' },
    {
      at: end,
      type: 'conflict',
      codes: ['DUPLICATE_CHARGE'],
      attemptId: confirmed.attempt?.id,
      attempts: [confirmed.attempt?.id as string, 'pdg_other_terminal'],
      detail: 'DUPLICATE_CHARGE: both charged while this terminal was cut off',
    },
  ];
  appendFileSync(`${storePath}.journal`, byHand.map((entry) => `${JSON.stringify(entry)}\n`).join(''));

  return {
    storePath,
    ids: {
      doubleTapFirst: first.attempt?.id as string,
      doubleTapSecond: confirmed.attempt?.id as string,
      timedOut: timedOutId,
      leftForPerson: left.attempt?.id as string,
      overridden: lifted.attempt?.id as string,
      crashed: crashed.attempt?.id as string,
      stillOpen: stillOpen.attempt?.id as string,
    },
    at: { timedOut: timedOutAt, restart: restartAt, reconciled: reconciledAt, end },
  };
}
