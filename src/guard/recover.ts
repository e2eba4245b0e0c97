/**
 * Unknown outcomes resolved without a person (SPEC §10): `recover` (the
 * app's status inquiry, then reversal, 冲正) called for every `unknown`
 * attempt on a schedule, try k due `recoverAfter × (2^k − 1)` after the
 * attempt became unknown, `recoverTries` times; and `recoverNow`, the till's
 * "Check with the processor" button.
 *
 * Never two calls for one attempt at once: one try at a time in this guard,
 * and a lease kept with the attempt (`recovery.leaseUntil`), taken through
 * the store's claim where tabs or terminals share it, so that another guard
 * skips an attempt being tried and takes over only once the lease has
 * expired (its holder died). The count of tries is kept with the attempt too,
 * so it survives restarts and is never reset.
 */
import { noticedAfter, type ClockStep } from '../clock-steps.js';
import { WATCH_EVERY_MS, storedClockSteps, watchClock } from './clock-steps.js';
import { GuardConfigError, GuardStateError, errorText, isGuardError, maskedError } from '../errors.js';
import { recoverOutcome, validateOutcome } from '../outcome.js';
import { withChanges } from '../record.js';
import { sameVersion } from '../claims.js';
import type { AttemptRecord, AttemptStatus, GuardStore, Outcome, RecoverResult, RecoveryState } from '../types.js';
import {
  assertOpen,
  guardNow,
  haltRecovery,
  holdsStore,
  lineage,
  ownerOf,
  sharedByTabs,
  staleAt,
  statusOf,
  successorOf,
  type GuardContext,
  type Watch,
} from './context.js';
import { find } from './recall.js';
import { settle } from './settle.js';
import { isSubmitting } from './submits.js';
import { adoptUnlessRecovered } from './tabs.js';
import { journal, storageError, write } from './writes.js';

/** How long a try's lease holds off other guards: a `recover` call should answer well within it (its own timeout). */
export const RECOVER_LEASE_MS = 120_000;
/**
 * How long a lease may take to write before it is taken again from now
 * (see tryHeld): one written that late (a tab frozen in the background, a
 * store queued behind other work) has run partly out before the call could
 * start, and others read it by when it was taken.
 */
const CLAIM_LATE_MS = 10_000;
/** How many times a try renews a lease that was written late, before it gives the lease back unused. */
const MAX_RENEWALS = 3;

/** The outcomes a try may settle an unknown attempt with (SPEC §2's transitions from `unknown`, less `pending`). */
const SETTLES: ReadonlySet<AttemptStatus> = new Set(['approved', 'declined', 'cancelled', 'voided']);

/**
 * Puts `record` on the schedule, or takes it off. An `unknown` attempt is
 * due from `base` (when it became unknown: a settle here, or start-up),
 * counting the tries it had then; one learnt from another tab or terminal
 * from its last change, counting all its tries (the schedule it is on
 * there). A `pending` one is due from when it grows stale. A new version of
 * the same state (a lease taken or given back, another guard's try) keeps
 * its place on the schedule; anything else leaves it.
 */
export function track(ctx: GuardContext, record: AttemptRecord, base?: number): void {
  const recovery = ctx.recovery;
  if (!ctx.o.recover || recovery.stopped) return;
  const { id, status, pendingSince } = record;
  const watched = recovery.watched.get(id);
  if (status !== 'unknown' && status !== 'pending') {
    recovery.watched.delete(id);
    recovery.leasesSeen.delete(id);
  } else if (base === undefined && watched?.status === status && watched.pendingSince === pendingSince) return;
  else {
    const tries = record.recovery?.tries ?? 0;
    const from = status === 'pending' ? staleAt(ctx, record) : (base ?? record.updatedAt);
    recovery.watched.set(id, { base: from, triesAtBase: status === 'unknown' && base === undefined ? 0 : tries, status, pendingSince });
  }
  schedule(ctx);
}

/** Attempt `id` left memory (pruned after retention): off the schedule, nothing of it kept. */
export function untrack(ctx: GuardContext, id: string): void {
  ctx.recovery.watched.delete(id);
  ctx.recovery.leasesSeen.delete(id);
}

/**
 * A lease (or report) that could not be written (a store failing its writes,
 * cut off from the others, or another guard's try): not tried again before
 * `recoverAfter` from now, rather than again and again at the very instant
 * it fell due. Kept on the watch, so a new version of the attempt (a new
 * place on the schedule) starts without it.
 */
function backOff(ctx: GuardContext, id: string): void {
  const watch = ctx.recovery.watched.get(id);
  if (watch) watch.retryAt = guardNow(ctx) + ctx.o.recoverAfterMs;
}

/**
 * A guard a failed take-over handed the store back to: its tries go on,
 * for every open attempt it holds (a change it heard while stopped put
 * nothing on the schedule).
 */
export function resumeRecovery(ctx: GuardContext): void {
  if (ctx.closed || ctx.closing || !ctx.recovery.stopped) return;
  ctx.recovery.stopped = false;
  for (const record of ctx.index.values()) track(ctx, record);
  schedule(ctx);
}

/** `close()`: no more tries; waits for one in progress. */
export async function stopRecovery(ctx: GuardContext): Promise<void> {
  haltRecovery(ctx);
  // Its own tries, and those of a guard it took the store over from: their answers are applied through this one.
  await Promise.allSettled([...inProgress(ctx).values()]);
}

/** `Guard.recoverNow`: one try now for `attemptId`, or for every unknown attempt (exhausted ones included). */
export async function recoverNow(ctx: GuardContext, attemptId?: string): Promise<RecoverResult[]> {
  assertOpen(ctx);
  if (!ctx.o.recover) {
    throw new GuardConfigError('INVALID_OPTION', 'recoverNow needs a `recover` function in createGuard options', { field: 'recover' });
  }
  if (attemptId !== undefined) {
    const found = find(ctx, attemptId);
    const record = found instanceof Promise ? await found : found;
    return [await tryOnce(ctx, record.id, true)];
  }
  const now = guardNow(ctx);
  const unknown = [...ctx.index.values()].filter((record) => statusOf(ctx, record, now) === 'unknown').map((record) => record.id);
  const results: RecoverResult[] = [];
  // One after the other: a till's button must not flood the processor.
  for (const id of unknown) results.push(await tryOnce(ctx, id, true));
  return results;
}

/** When the next try of `watch`'s attempt is due (guard time), or never. */
function dueOf(ctx: GuardContext, id: string, watch: Watch): number {
  const record = ctx.index.get(id);
  const state = record?.recovery;
  // A charge in this process still has it out: its answer, or its timeout, settles it first.
  if (!record || state?.ended || isSubmitting(ctx, id)) return Number.POSITIVE_INFINITY;
  const tries = state?.tries ?? 0;
  let due: number;
  if (tries < ctx.o.recoverTries) due = watch.base + ctx.o.recoverAfterMs * (2 ** (tries - watch.triesAtBase + 1) - 1);
  // Its tries used up but not reported (see `unreported`): the report is due once it is unknown
  // (a pending watched from when it grows stale reads unknown a millisecond after that).
  else if (unreported(ctx, record.recovery)) due = watch.base + 1;
  else return Number.POSITIVE_INFINITY;
  // A lease or report that could not be written waits `recoverAfter` (see `backOff`).
  due = Math.max(due, watch.retryAt ?? due);
  // Another guard sharing the store holds the lease (a try in progress, or it died trying): not
  // before it runs out. A store without claim has one owner: a lease in it is a crashed run's.
  if (state?.leaseUntil === undefined || !ctx.o.store.claim || inProgress(ctx).has(id)) return due;
  const now = guardNow(ctx);
  // No lease runs longer than RECOVER_LEASE_MS: one that seems to was read on a clock set back since
  // this guard learnt it. Due then: the claim reads it again (see leaseFreeAt), as it is stored now.
  const end = leaseFreeAt(ctx, id, state, now, ctx.stepsBeforeStart, false);
  return end - now > RECOVER_LEASE_MS ? due : Math.max(due, end);
}

/**
 * When another guard's lease on attempt `id` (`state`, as stored) stops
 * holding it, in guard time (never: `steps` could not be read). `stored`:
 * `state` is the version the store holds now, read in a claim (else one
 * memory holds, which the claim reads again).
 *
 * A lease is stored as a wall time, the taker's clock plus RECOVER_LEASE_MS;
 * read as one, a correction of the clock while the call is out would end it
 * early (a step forward: a second call while the first is still out) or
 * late. So its start, a time stamped in the past, is read by the epoch it
 * was taken in; one taken before forward steps stored since (`steps`) as if
 * taken when the last of them was noticed (its taker gives up within
 * RECOVER_LEASE_MS of taking it, before that). One that seems to run longer
 * than RECOVER_LEASE_MS was stamped on a clock set back since: it ends
 * RECOVER_LEASE_MS after this guard first saw it, which was after it was
 * taken. And in a store tabs share, a lease that reads as run out may be a
 * live tab's whose call is still out: the clock stepped forward after it was
 * taken and before this tab started (a step after its start, this guard
 * notices itself). The holder watches its clock while its call is out and
 * writes a step it notices; so no lease stops holding before this guard has
 * been open STEP_WRITTEN_WITHIN_MS. A dead tab's lease is taken that much
 * later by a tab opened just after.
 */
function leaseFreeAt(
  ctx: GuardContext,
  id: string,
  state: RecoveryState,
  now: number,
  steps: readonly ClockStep[] | null,
  stored = true,
): number {
  const { leaseUntil } = state;
  if (leaseUntil === undefined) return Number.NEGATIVE_INFINITY;
  if (steps === null) return Number.POSITIVE_INFINITY;
  // Its start may lie before a stored step, or be stamped on a clock set back since that step
  // (then it only reads as before it): whichever reading ends it later.
  const taken = leaseUntil - RECOVER_LEASE_MS;
  let end = Math.max(ctx.time.guardOf(taken), ctx.time.guardOf(noticedAfter(steps, taken))) + RECOVER_LEASE_MS;
  if (stored && end - now > RECOVER_LEASE_MS) end = firstSeen(ctx, id, leaseUntil, now) + RECOVER_LEASE_MS;
  return sharedByTabs(ctx) ? Math.max(end, ctx.startedAt + STEP_WRITTEN_WITHIN_MS) : end;
}

/** When this guard first saw lease `leaseUntil` on attempt `id` (now, if this is the first time). */
function firstSeen(ctx: GuardContext, id: string, leaseUntil: number, now: number): number {
  const seen = ctx.recovery.leasesSeen.get(id);
  if (seen?.[0] === leaseUntil) return seen[1];
  ctx.recovery.leasesSeen.set(id, [leaseUntil, now]);
  return now;
}

/**
 * How soon a live tab with a `recover` call out has written a step of the
 * wall clock: its watch reads the clock every WATCH_EVERY_MS, but a browser
 * runs the timers of a tab hidden for 5 minutes at most once a minute
 * (Chrome's intensive throttling); then one write.
 */
const STEP_WRITTEN_WITHIN_MS = 60_000 + WATCH_EVERY_MS + 5_000;

/**
 * A pending that start-up reports as unknown, in a store tabs share, while
 * it is younger than `pendingTimeout`: the tab that began it may be
 * charging it still. Says so (undefined once stale); its tries wait until then.
 */
function chargedElsewhere(ctx: GuardContext, id: string, now: number): string | undefined {
  const found = ctx.recovered.get(id);
  if (!found || !sharedByTabs(ctx)) return undefined;
  const stale = staleAt(ctx, found);
  if (now > stale) return undefined;
  const watch = ctx.recovery.watched.get(id);
  if (watch) watch.retryAt = Math.max(watch.retryAt ?? stale, stale + 1);
  return `pending in another tab for ${now - stale + ctx.o.pendingTimeoutMs} ms (pendingTimeout ${ctx.o.pendingTimeoutMs} ms)`;
}

/** The schedule read again: a charge that had an attempt out is over. */
export function rescheduleRecovery(ctx: GuardContext): void {
  if (!ctx.recovery.stopped && !ctx.closed) schedule(ctx);
}

/** Sets the one timer for the earliest due try (only open attempts are watched: a short list). */
function schedule(ctx: GuardContext): void {
  const recovery = ctx.recovery;
  const running = inProgress(ctx);
  let due = Number.POSITIVE_INFINITY;
  for (const [id, watch] of recovery.watched) if (!running.has(id) && !tryOut(ctx, id)) due = Math.min(due, dueOf(ctx, id, watch));
  if (due === recovery.due && recovery.cancel) return;
  recovery.cancel?.();
  recovery.cancel = undefined;
  recovery.due = due;
  if (due === Number.POSITIVE_INFINITY || recovery.stopped) return;
  try {
    recovery.cancel = ctx.o.scheduler.after(Math.max(0, due - guardNow(ctx)), () => {
      recovery.cancel = undefined;
      recovery.due = Number.POSITIVE_INFINITY;
      runDue(ctx);
    });
  } catch {
    // A scheduler that throws: set again at the next change (a begin, a settle). Not the caller's
    // failure: a begin whose reservation is written must answer, or its sale stays held IN_FLIGHT.
    recovery.due = Number.POSITIVE_INFINITY;
  }
}

function runDue(ctx: GuardContext): void {
  const recovery = ctx.recovery;
  if (recovery.stopped || ctx.closed || !holdsStore(ctx)) return;
  const now = guardNow(ctx);
  const running = inProgress(ctx);
  for (const [id, watch] of recovery.watched) {
    if (running.has(id) || tryOut(ctx, id) || dueOf(ctx, id, watch) > now) continue;
    const record = ctx.index.get(id);
    if (!record || statusOf(ctx, record, now) !== 'unknown') {
      // Resumed, or still pending (not stale yet after all): its next change puts it back.
      if (record?.status !== 'pending') recovery.watched.delete(id);
      continue;
    }
    void (unreported(ctx, record.recovery) ? once(ctx, id, () => report(ctx, id)) : tryOnce(ctx, id, false));
  }
  schedule(ctx);
}

/**
 * Whether `record`'s tries are used up (`recoverTries`, as the option is
 * now) with no `recovery-exhausted` reported yet. A try that leaves it so
 * reports it at once; this catches the rest: a last try whose answer was
 * dropped (resumed meanwhile, unknown again since), a restart with a lower
 * `recoverTries` than the tries already made.
 */
function unreported(ctx: GuardContext, state: RecoveryState | undefined): boolean {
  return ctx.o.recoverTries >= 1 && (state?.tries ?? 0) >= ctx.o.recoverTries && state?.exhausted !== true && state?.ended !== true;
}

/** `recovery-exhausted` for an attempt whose tries are used up: noted with it (once per attempt, across guards), journaled, emitted. */
async function report(ctx: GuardContext, id: string): Promise<RecoverResult> {
  const held = ctx.index.get(id);
  const now = guardNow(ctx);
  const status = held ? statusOf(ctx, held, now) : 'unknown';
  if (!held || status !== 'unknown' || !unreported(ctx, held.recovery)) return { attemptId: id, status };
  const state = held.recovery as RecoveryState;
  const noted = withChanges(held, { recovery: { ...state, exhausted: true } });
  const steps = sharedByTabs(ctx) ? await storedClockSteps(ctx) : ctx.stepsBeforeStart;
  // Where the store is shared, one guard reports it: the one whose claim finds it unreported, no try in progress.
  const written = await writeIf(
    ctx,
    held,
    noted,
    (stored) =>
      stored.recovery?.exhausted !== true &&
      (stored.recovery?.tries ?? 0) === state.tries &&
      !(stored.recovery && leaseFreeAt(ctx, id, stored.recovery, now, steps) > now),
  );
  if (written) exhausted(ctx, id, state.tries, now);
  else backOff(ctx, id);
  return { attemptId: id, status };
}

/** Journals and emits `recovery-exhausted`. */
function exhausted(ctx: GuardContext, id: string, tries: number, at: number): void {
  journal(ctx, {
    at,
    type: 'recover',
    attemptId: id,
    to: 'unknown',
    detail: `recovery exhausted after ${tries} tries: for a person to settle`,
  });
  ctx.events.emit({ type: 'recovery-exhausted', attemptId: id, tries });
}

/**
 * The tries in progress in this process over `ctx`'s store, whichever guard
 * makes them: a guard that took the store over (a restart in one process)
 * does not call `recover` for an attempt its predecessor's call is still
 * out for, and gets that call's answer (see `settleAnswer`).
 */
function inProgress(ctx: GuardContext): Map<string, Promise<RecoverResult>> {
  let running = triesInProgress.get(ctx.o.store);
  if (!running) triesInProgress.set(ctx.o.store, (running = new Map<string, Promise<RecoverResult>>()));
  return running;
}

const triesInProgress = new WeakMap<GuardStore, Map<string, Promise<RecoverResult>>>();

/** The try of attempt `id` in progress in this process over `ctx`'s store or a store it superseded, if any. */
function tryOut(ctx: GuardContext, id: string): Promise<RecoverResult> | undefined {
  for (const store of lineage(ctx.o.store)) {
    const held = triesInProgress.get(store)?.get(id);
    if (held) return held;
  }
  return undefined;
}

/** Whether `ctx` may still write: open, and not taken over. */
function writable(ctx: GuardContext): boolean {
  return !ctx.closed && holdsStore(ctx);
}

/** One try: the lease taken, `recover` asked, its answer applied or recorded, the lease given back. */
function tryOnce(ctx: GuardContext, id: string, manual: boolean): Promise<RecoverResult> {
  return once(ctx, id, () => tryHeld(ctx, id, manual));
}

/** Runs `work` for attempt `id` unless a try of it is in progress in this process: then that try is the answer. */
function once(ctx: GuardContext, id: string, work: () => Promise<RecoverResult>): Promise<RecoverResult> {
  const running = inProgress(ctx);
  const held = tryOut(ctx, id);
  // A try in progress is the answer to a second one (a double tap on "Check with the processor"),
  // and so is a try a guard this one took over from has still out (over this store, or one it superseded).
  if (held) return held;
  const attempt: Promise<RecoverResult> = work().finally(() => {
    if (running.get(id) === attempt) running.delete(id);
    ctx.recovery.running.delete(id);
    schedule(ownerOf(ctx));
  });
  running.set(id, attempt);
  ctx.recovery.running.set(id, attempt);
  return attempt;
}

async function tryHeld(ctx: GuardContext, id: string, manual: boolean): Promise<RecoverResult> {
  const current = ctx.index.get(id);
  let now = guardNow(ctx);
  const status = current ? statusOf(ctx, current, now) : 'unknown';
  if (!current || status !== 'unknown') return { attemptId: id, status: current ? status : 'unknown' };
  // close() was called, or another guard took the store over: no new try (a recoverNow for
  // every attempt may still be going through its list).
  if (ctx.recovery.stopped) return { attemptId: id, status };
  // Still on its way to the processor, which would answer "not found" and free the sale for a second
  // charge: a charge in this process has it out, or, in a store tabs share, a live tab's may (start-up
  // cannot tell it from a dead one's). Asked once that charge is over, or stale.
  const live = isSubmitting(ctx, id) ? 'being charged here' : manual ? undefined : chargedElsewhere(ctx, id, now);
  if (live !== undefined) {
    const error = new Error(`attempt ${id} is ${live}: not asked about before its charge is over`);
    return { attemptId: id, status, ...(manual ? { error } : {}) };
  }
  const taken = await takeLease(ctx, current, now);
  if (!taken) {
    // Not a try: asked again `recoverAfter` from now (or once another guard's lease runs out).
    backOff(ctx, id);
    const after = ctx.index.get(id);
    const error = new Error(`attempt ${id} is being recovered by another tab or terminal`);
    return { attemptId: id, status: after ? statusOf(ctx, after, guardNow(ctx)) : 'unknown', ...(manual ? { error } : {}) };
  }
  let leased: AttemptRecord = taken;
  const tries = (leased.recovery as RecoveryState).tries;
  // A claim that answered late (a tab frozen in the background, a store queued behind other work)
  // wrote a lease that has partly run out for the others: renewed from now before the call.
  for (let renewals = 0; guardNow(ctx) - now > CLAIM_LATE_MS; renewals++) {
    const late = guardNow(ctx) - now;
    now = guardNow(ctx);
    const renewed: AttemptRecord | undefined = renewals < MAX_RENEWALS ? await renewLease(ctx, leased, now) : undefined;
    if (!renewed) {
      // Given back unused: the try it counted was not made (its count back as it was).
      if (renewals === MAX_RENEWALS) await releaseLease(ctx, leased, leased, { tries: tries - 1 });
      backOff(ctx, id);
      const error = new Error(`attempt ${id}: its lease took ${Math.round(late / 1000)} s to write, so it was not asked under it`);
      return { attemptId: id, status: 'unknown', ...(manual ? { error } : {}) };
    }
    leased = renewed;
  }
  const recover = ctx.o.recover as NonNullable<typeof ctx.o.recover>;
  // A step of the clock while the call is out is noticed and written within seconds: another
  // tab, which cannot tell the lease from a dead tab's by the clock alone, reads it (leaseFreeAt).
  watchClock(ctx, now, RECOVER_LEASE_MS);
  // No longer than its lease: past it, another tab or terminal may take the attempt over, and a
  // call that never answers would hold the attempt (and close()) here for good. Its answer, should
  // it still come, is applied if the attempt is still unknown as it was asked.
  let given: 'answered' | 'up' | undefined;
  let stop: () => void = () => undefined;
  const silence = new Promise<RecoverResult>((resolve) => {
    // Until the lease runs out as the others read it: from when it was taken, not from the call.
    stop = after(ctx, now + RECOVER_LEASE_MS - guardNow(ctx), () => {
      if (given) return;
      given = 'up';
      const thrown = new Error(`recover did not answer within ${RECOVER_LEASE_MS} ms (its lease), so it was given up on`);
      resolve(settleAnswer(ctx, leased, tries, { thrown }, manual, false));
    });
  });
  const answered = (async () => {
    let reply: Reply;
    try {
      reply = { answer: await recover(snapshotOf(ctx.time.toWall(leased))) };
    } catch (thrown) {
      // `throw undefined` (or a promise rejected without a reason) is a throw all the same.
      reply = { thrown: thrown === undefined ? new Error('recover threw undefined') : thrown };
    }
    stop();
    const late = given === 'up';
    given ??= 'answered';
    return settleAnswer(ctx, leased, tries, reply, manual, late);
  })();
  answered.catch(() => undefined);
  return Promise.race([answered, silence]);
}

/**
 * What `recover` is given: a snapshot (SPEC §10), a copy, so that what the
 * app does to it changes nothing of the guard's (the record is frozen, its
 * recovery state was not always, and a memoryStore keeps the same objects).
 */
function snapshotOf(record: AttemptRecord): AttemptRecord {
  return typeof structuredClone === 'function' ? structuredClone(record) : (JSON.parse(JSON.stringify(record)) as AttemptRecord);
}

/** Runs `task` after `ms` on the guard's scheduler (setTimeout if it throws); returns a cancel. */
function after(ctx: GuardContext, ms: number, task: () => void): () => void {
  try {
    return ctx.o.scheduler.after(ms, task);
  } catch {
    const timer = setTimeout(task, ms);
    return () => clearTimeout(timer);
  }
}

/** What `recover` answered, or threw. */
interface Reply {
  answer?: unknown;
  thrown?: unknown;
}

/**
 * Applies a try's answer (or records it). Answers for one attempt are
 * applied one after the other: a try given up on can still answer while the
 * next try's answer is being applied, and each must find what the one
 * before it did (settled meanwhile: dropped).
 */
function settleAnswer(
  from: GuardContext,
  leased: AttemptRecord,
  tries: number,
  reply: Reply,
  manual: boolean,
  late: boolean,
): Promise<RecoverResult> {
  let queue = answering.get(from.o.store);
  if (!queue) answering.set(from.o.store, (queue = new Map<string, Promise<unknown>>()));
  const chain = queue;
  const before = chain.get(leased.id) ?? Promise.resolve();
  const applied = before.then(() => applyAnswer(from, leased, tries, reply, manual, late));
  const settled = applied.catch(() => undefined);
  chain.set(leased.id, settled);
  void settled.then(() => chain.get(leased.id) === settled && chain.delete(leased.id));
  return applied;
}

/**
 * Whether `held` is still the version `asked` was (wall-clock times), as far
 * as an answer is concerned: the same version, or the same but read as
 * unknown where it was asked about as a (stale) pending, as a start-up reads
 * a pending and a lease then writes it (the attempt a new guard tries as
 * unknown). A settle to unknown of a stale pending moves `updatedAt`; the
 * other way round (asked as unknown, pending now) is a resume.
 */
function sameAsked(held: AttemptRecord, asked: AttemptRecord): boolean {
  if (sameVersion(held, asked)) return true;
  return asked.status === 'pending' && held.status === 'unknown' && sameVersion(withChanges(held, { status: 'pending' }), asked);
}

/** The answers being applied, per store and attempt (see `settleAnswer`). */
const answering = new WeakMap<GuardStore, Map<string, Promise<unknown>>>();

async function applyAnswer(
  from: GuardContext,
  leased: AttemptRecord,
  tries: number,
  { answer, thrown }: Reply,
  manual: boolean,
  late: boolean,
): Promise<RecoverResult> {
  const id = leased.id;
  // The guard that owns the store now: this one, or the one that took it over meanwhile (the answer is
  // in hand), once it has started.
  const ctx = await successorOf(from);
  // A try in progress is waited for by close(); an answer after its try was given up on is not.
  const open = writable(ctx) && !(late && ctx.recovery.stopped);
  const at = guardNow(ctx);
  let outcome: Outcome | undefined;
  let notes: string[] = [];
  // Handed on in the event and the result: masked, as the journal's text of it is.
  let error = maskedError(thrown);
  const read = thrown === undefined ? recoverOutcome(answer) : undefined;
  if (read) ({ outcome, notes } = read);
  else if (thrown === undefined && answer !== undefined && answer !== null) {
    try {
      outcome = validateOutcome(answer);
    } catch (invalid) {
      error = invalid;
    }
  }
  const finish = (status: AttemptStatus, detail: string): RecoverResult => {
    const entry = `try ${tries}${manual ? ' (recoverNow)' : ''}${late ? ', answered after it was given up on' : ''}: ${detail}`;
    // A closed guard writes nothing more, its journal included.
    if (open) journal(ctx, { at, type: 'recover', attemptId: id, to: status, detail: entry });
    const found = { ...(outcome ? { outcome } : {}), ...(error !== undefined ? { error } : {}) };
    ctx.events.emit({ type: 'recover', attemptId: id, try: tries, ...found });
    return { attemptId: id, status, ...found };
  };

  // Still the version it was asked about? Settled or resumed meanwhile (a person, another tab, the
  // charge's own late answer): the answer is dropped. Compared on wall-clock times and as stored
  // (a pending start-up reports as unknown is the same version), so a successor's copy counts.
  const held = ctx.index.get(id);
  const same =
    open &&
    held !== undefined &&
    statusOf(ctx, held, at) === 'unknown' &&
    sameAsked(ctx.time.toWall(ctx.recovered.get(id) ?? held), from.time.toWall(from.recovered.get(id) ?? leased));
  if (late && !(same && outcome && SETTLES.has(outcome.status))) {
    // The try was finished (as still unknown, its lease given back) when it was given up on.
    const status = held ? statusOf(ctx, held, at) : 'unknown';
    const detail = `try ${tries}, answered ${outcome?.status ?? 'nothing'} after it was given up on: dropped`;
    if (open) journal(ctx, { at, type: 'recover', attemptId: id, to: status, detail });
    return { attemptId: id, status, ...(outcome ? { outcome } : {}), ...(error !== undefined ? { error } : {}) };
  }
  if (!same) {
    const status = held ? statusOf(ctx, held, at) : 'unknown';
    const result = finish(status, `answered ${outcome?.status ?? 'nothing'} after the attempt became ${status}: dropped`);
    // A resume copied the lease along: given back all the same.
    if (open && held) await releaseLease(ctx, held, leased, {});
    return result;
  }
  if (outcome && SETTLES.has(outcome.status)) {
    try {
      const settled = await settle(ctx, id, outcome, true);
      // What of the answer could not be kept (cut, dropped), as charge journals it.
      for (const detail of notes) journal(ctx, { at, type: 'settle', attemptId: id, detail });
      return finish(settled.status, `settled ${settled.status} from the processor's answer`);
    } catch (failed) {
      if (!isGuardError(failed)) throw failed;
      // Taken over while it settled (a reload still starting): applied by the guard that took over.
      if (failed.code === 'TAKEN_OVER' && (await successorOf(from)) !== ctx) {
        return applyAnswer(from, leased, tries, { answer, thrown }, manual, late);
      }
      error = failed;
      await releaseLease(ctx, ctx.index.get(id) ?? held, leased, {});
      return finish('unknown', `could not settle ${outcome.status}: ${failed.message}`);
    }
  }
  const stillUnknown = thrown !== undefined || (error === undefined && (outcome === undefined || outcome.status === 'unknown'));
  if (stillUnknown) {
    // Still unknown (no answer yet, or `recover` threw): tried again on schedule, up to `recoverTries`.
    // The last try, scheduled or the till's button (it counts as a try): reported once.
    const last = unreported(ctx, { ...held.recovery, tries });
    const noted = await releaseLease(ctx, held, leased, last ? { exhausted: true } : {});
    const result = finish('unknown', thrown === undefined ? 'still unknown' : `threw (${errorText(thrown)}): still unknown`);
    // Not noted (a storage failure): reported once it is, on schedule.
    if (last && noted) exhausted(ctx, id, tries, at);
    return result;
  }
  // An answer it may not settle with (`refunded`, `pending`, not an outcome): an error, and no more scheduled tries.
  error ??= new GuardStateError(
    'INVALID_TRANSITION',
    `recover answered ${outcome ? `'${outcome.status}'` : 'no outcome'}: an unknown attempt can only be settled approved, declined, cancelled or voided`,
    { field: 'recover' },
  );
  await releaseLease(ctx, held, leased, { ended: true });
  return finish('unknown', `answered what cannot settle it (${outcome?.status ?? errorText(error)}): no more scheduled tries`);
}

/**
 * Writes the attempt with one more try and a lease until `RECOVER_LEASE_MS`
 * from now (wall clock): through the store's claim where others share it, so
 * that of two guards reading the same version only one takes it.
 */
async function takeLease(ctx: GuardContext, current: AttemptRecord, now: number): Promise<AttemptRecord | undefined> {
  const wall = ctx.time.wallOf(now);
  const state = current.recovery;
  const leased = withChanges(current, { recovery: { ...state, tries: (state?.tries ?? 0) + 1, leaseUntil: wall + RECOVER_LEASE_MS } });
  // Where tabs do not share the store, no await: the claim goes out in the tick the try began.
  const steps = sharedByTabs(ctx) ? await storedClockSteps(ctx) : ctx.stepsBeforeStart;
  const written = await writeIf(ctx, current, leased, (stored) => {
    const theirs = stored.recovery;
    // Another guard's try in progress, or one made meanwhile (the schedule is read again).
    if (theirs && leaseFreeAt(ctx, stored.id, theirs, now, steps) > now) return false;
    if ((theirs?.tries ?? 0) !== (state?.tries ?? 0)) return false;
    // The version this guard found unknown (or the pending start-up reports as unknown): judged on
    // what memory holds, not on the stored times read back (a wall clock set back makes those
    // ambiguous). Another version (settled, resumed, made unknown elsewhere) is taken in instead.
    return sameVersion(stored, ctx.time.toWall(current)) || isRecovered(ctx, stored);
  });
  if (written) ctx.recovery.leasesSeen.delete(current.id);
  return written ? leased : undefined;
}

/**
 * The lease of `leased`'s try taken again from `now`: the same try (its
 * count unchanged), if the stored version still carries it. Another guard
 * that took the attempt meanwhile (the lease had run out for it) counted one
 * more try: then this one has no lease.
 */
async function renewLease(ctx: GuardContext, leased: AttemptRecord, now: number): Promise<AttemptRecord | undefined> {
  const state = leased.recovery as RecoveryState;
  const renewed = withChanges(leased, { recovery: { ...state, leaseUntil: ctx.time.wallOf(now) + RECOVER_LEASE_MS } });
  const lease = leaseTry(leased);
  const written = await writeIf(ctx, leased, renewed, (stored) => leaseTry(stored) === lease && stored.status === leased.status);
  return written ? renewed : undefined;
}

/**
 * What a refused claim found instead of `held`: the same version with
 * another guard's lease or count (only that is taken: the times are this
 * guard's own, and reading them back through the wall clock could move
 * them), or another version, taken in as any other tab's write (except the
 * pending that start-up reports as unknown).
 */
function learn(ctx: GuardContext, held: AttemptRecord, stored: AttemptRecord): void {
  if (!sameVersion(ctx.time.toWall(held), stored) && !isRecovered(ctx, stored)) return adoptUnlessRecovered(ctx, stored);
  if (ctx.index.get(held.id) !== held) return;
  const learnt = withChanges(held, { recovery: stored.recovery });
  ctx.index.add(learnt);
  track(ctx, learnt);
}

/** `stored` (wall-clock times) is the pending that start-up read and reports as unknown. */
function isRecovered(ctx: GuardContext, stored: AttemptRecord): boolean {
  const recovered = ctx.recovered.get(stored.id);
  return recovered !== undefined && sameVersion(ctx.time.toWall(recovered), stored);
}

/**
 * The lease of the try that wrote `leased` given back (with `exhausted` or
 * `ended` noted) on `held`, what memory holds now: if it still carries that
 * lease and is still open (a resume copies the lease along: given back all
 * the same), and the store's version carries it too.
 */
async function releaseLease(ctx: GuardContext, held: AttemptRecord, leased: AttemptRecord, note: Partial<RecoveryState>): Promise<boolean> {
  // The lease named by its try, not by its end: a shared store reads a lease's end onto this
  // terminal's clock as it is now, so after a correction of the clock (NTP, mid-call; a successor
  // started since reads it so) the lease written comes back moved by the correction.
  const lease = leaseTry(leased);
  const state = held.recovery;
  if (!state || leaseTry(held) !== lease || (held.status !== 'unknown' && held.status !== 'pending')) return false;
  const { leaseUntil: _released, ...kept } = state;
  const released = withChanges(held, { recovery: { ...kept, ...note } });
  return writeIf(
    ctx,
    held,
    released,
    (stored) => leaseTry(stored) === lease && (stored.status === held.status || isRecovered(ctx, stored)),
  );
}

/**
 * The try whose lease a record carries (NaN without one: equal to nothing). A
 * try's count is its lease's alone: a lease is taken by counting one more try
 * on the version whose count it read (see takeLease), whichever clock reads its end.
 */
function leaseTry(record: AttemptRecord): number {
  return record.recovery?.leaseUntil === undefined ? NaN : record.recovery.tries;
}

/**
 * Writes `record` if memory still holds the version it was made from, and,
 * on a shared store, if the stored version passes `holds` (one atomic claim).
 */
async function writeIf(
  ctx: GuardContext,
  from: AttemptRecord,
  record: AttemptRecord,
  holds: (stored: AttemptRecord) => boolean,
): Promise<boolean> {
  const { store } = ctx.o;
  // A guard fenced by another over its store, or closed, writes nothing: its copies are old.
  if (!writable(ctx)) return false;
  // Changed in memory meanwhile (settled, resumed): nothing to write over it.
  if (ctx.index.get(record.id) !== from) return false;
  const wall = ctx.time.toWall(record);
  try {
    if (store.claim) {
      const claim = store.claim.bind(store);
      let ok = false;
      await write(ctx, () =>
        claim({ keys: [], ids: [record.id] }, (related, context) => {
          const stored = related.find((other) => other.id === record.id);
          // Cut off from the others, a lease here is no lease: they may be trying this very attempt.
          ok = context?.cutOff !== true && (stored === undefined || holds(stored));
          if (!ok && stored) learn(ctx, from, stored);
          return ok ? [wall] : undefined;
        }),
      );
      if (!ok) return false;
    } else {
      await write(ctx, () => store.put(wall));
    }
  } catch (error) {
    storageError(ctx, error, 'recover');
    return false;
  }
  // Written; memory takes it unless it moved on meanwhile (a settle queued behind this write).
  const held = ctx.index.get(record.id);
  if (held !== from && !(held && sameVersion(held, from))) return false;
  ctx.index.add(record);
  // The store holds what memory does now: a pending start-up read as unknown was written as unknown.
  ctx.recovered.delete(record.id);
  return true;
}
