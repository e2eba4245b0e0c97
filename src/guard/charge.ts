/**
 * The one-call path: begin → confirm a prompt / escalate a block → submit →
 * settle, with the processor's answer (even a late one) recorded.
 */
import { GuardInputError, GuardOverrideError, GuardStateError, describeValue, errorText } from '../errors.js';
import { resolveChargeOptions, type ResolvedChargeOptions } from '../options.js';
import { answerOutcome, answerProblem, unknownOutcome, type Settlement } from '../outcome.js';
import { isLiftable } from '../rules.js';
import type {
  Attempt,
  AttemptRecord,
  AttemptStatus,
  ChargeCause,
  ChargeOptions,
  ChargeResult,
  Decision,
  Outcome,
  Sale,
  Scheduler,
  SubmitResult,
} from '../types.js';
import { guardNow, ownerOf, statusOf, successorOf, type GuardContext } from './context.js';
import { begin, override } from './decide.js';
import { get } from './query.js';
import { find } from './recall.js';
import { settle } from './settle.js';
import { within } from './deadline.js';
import { rescheduleRecovery } from './recover.js';
import { submitting } from './submits.js';
import { journal } from './writes.js';

/** `Guard.charge`. */
export async function charge(
  ctx: GuardContext,
  sale: Sale,
  submit: (attempt: Attempt) => Promise<SubmitResult>,
  options: ChargeOptions,
): Promise<ChargeResult> {
  const resolved = resolveChargeOptions(options, ctx.o.pendingTimeoutMs);
  if (typeof submit !== 'function') {
    throw new GuardInputError('INVALID_SUBMIT', `\`submit\` must be a function, got ${describeValue(submit)}`, { field: 'submit' });
  }
  let decision = await begin(ctx, sale);
  // An override can surface a new reason (SPEC §4), so ask again, a few times at most.
  for (let round = 0; round < 3 && decision.verdict !== 'allow'; round++) {
    const next = await ask(ctx, decision, resolved);
    if (next === undefined) return { status: decision.verdict === 'prompt' ? 'not-confirmed' : 'blocked', decision };
    decision = next;
  }
  const attempt = decision.attempt;
  if (!attempt) return { status: decision.verdict === 'prompt' ? 'not-confirmed' : 'blocked', decision };
  // Out with the processor until its answer is recorded: no `recover` asks about it meanwhile, and close() waits for it.
  const { answer, notes, invalid, record, applied } = await submitting(
    ctx,
    attempt.id,
    (async () => {
      const answer = await settleWithin(
        Promise.resolve().then(() => submit(attempt)),
        resolved.timeoutMs,
        ctx.o.scheduler,
      );
      // Whatever submit did, the attempt is settled and charge resolves (SPEC §4):
      // a detail that cannot be kept is cut or dropped, and the journal says so.
      const { outcome, notes, invalid } = settlementOf(answer, resolved.timeoutMs);
      const settled = await settleOrKeep(ctx, attempt.id, outcome);
      // Its answer is in, applied or kept (another tab's approval stands; the same answer again): no longer
      // this guard's charge, so a later change from another tab (a void) is taken in as any other.
      ownerOf(ctx).charging.delete(attempt.id);
      return { answer, notes, invalid, ...settled };
    })(),
    () => rescheduleRecovery(ownerOf(ctx)),
  );
  if (applied) journalNotes(ctx, attempt.id, notes);
  if (answer.timedOut) answer.late.then((late) => lateAnswer(ctx, attempt.id, late)).catch(() => undefined);
  const result: ChargeResult = { status: chargeStatus(record.status), decision, attempt: record };
  if (invalid !== undefined) {
    // A bug in the app's submit must not pass for a network timeout: said in the result and as an event.
    const error = invalidSubmitResult(invalid);
    ownerOf(ctx).events.emit({ type: 'invalid-submit-result', attemptId: attempt.id, error });
    return { ...result, cause: 'submit-returned-invalid-result', error };
  }
  const cause: ChargeCause | undefined = answer.timedOut ? 'timeout' : answer.error !== undefined ? 'submit-threw' : undefined;
  return cause === undefined ? result : { ...result, cause };
}

/** The error `charge` hands back (never throws) when `submit` resolved no `{ approved }` answer. */
function invalidSubmitResult(problem: string): GuardInputError {
  return new GuardInputError(
    'INVALID_SUBMIT_RESULT',
    `\`submit\` must resolve { approved: true | false, … } but ${problem}: a bug in the app's submit, not a network failure. ` +
      `The attempt was settled 'unknown' because the charge may have gone through: check with the processor before charging again`,
    { field: 'submit' },
  );
}

/** The override a prompt or block gets in `charge`, or `undefined` to stop. */
async function ask(ctx: GuardContext, decision: Decision, options: ResolvedChargeOptions): Promise<Decision | undefined> {
  if (decision.verdict === 'prompt') {
    const answer = options.confirm
      ? await callback('confirm', () => (options.confirm as NonNullable<typeof options.confirm>)(decision))
      : false;
    if (answer === false) return undefined;
    // The operator the sale was validated with: the caller's object is not read twice.
    const operator = ctx.decisions.get(decision)?.sale.operator ?? 'cashier';
    const request = answer === true ? { operator, reason: 'confirmed at the till' } : answer;
    return override(ctx, decision, request);
  }
  const fixed = decision.reasons.some((r) => !isLiftable(r.code));
  const request =
    !fixed && options.escalate
      ? await callback('escalate', () => (options.escalate as NonNullable<typeof options.escalate>)(decision))
      : false;
  if (!request) return undefined;
  try {
    return await override(ctx, decision, request);
  } catch (error) {
    if (error instanceof GuardOverrideError) return undefined;
    throw error;
  }
}

async function lateAnswer(ctx: GuardContext, attemptId: string, late: unknown): Promise<void> {
  // Read like a timely answer: a late approval with odd details is still an approval.
  const settlement = answerOutcome(late);
  // Taken over since (this store, or its file by another store object, after close() too): the answer
  // goes to the guard now in charge. Closed, and none took over: nowhere to record it.
  const owner = ownerOf(ctx);
  if (owner !== ctx) return lateAnswer(owner, attemptId, late);
  if (ctx.closed) return;
  if (settlement === undefined) {
    // Late or not, an answer that is no answer is a bug to hear about; the attempt stays as it is.
    ctx.events.emit({ type: 'invalid-submit-result', attemptId, error: invalidSubmitResult(answerProblem(late)) });
    return;
  }
  // It may have left memory since (settled, and unchanged for `window`): the store has it.
  const current = await Promise.resolve(find(ctx, attemptId)).catch(() => undefined);
  const status = current && statusOf(ctx, current, guardNow(ctx));
  const correction = settlement.outcome.status === 'approved' && (status === 'cancelled' || status === 'declined');
  if (status === 'unknown' || correction) {
    // Through settleAnswer, as a timely answer: a take-over still starting meanwhile is waited for.
    await settleAnswer(ctx, attemptId, settlement.outcome);
    journalNotes(ctx, attemptId, settlement.notes);
  } else if (status !== undefined && status !== settlement.outcome.status) {
    // Settled otherwise meanwhile (a check with the processor found nothing
    // yet): the processor's own answer disagrees. It cannot be applied, and
    // must not be lost: an approval here is money taken, probably twice.
    const answer = settlement.outcome.status;
    // The guard to tell: one still starting, that may have fenced this one's store, is waited for.
    const owner = await successorOf(ctx, true);
    journal(owner, {
      at: guardNow(owner),
      type: 'settle',
      attemptId,
      from: status,
      detail: `late answer from the processor: '${answer}', after the attempt was settled '${status}'; check the processor's records`,
    });
    owner.events.emit({ type: 'late-answer', attemptId, answer, status });
  }
}

/**
 * What an answer could not keep (a detail cut or dropped), journaled by the
 * guard that recorded it: after a take-over that is the successor, as the
 * guard the answer came to is fenced and writes nothing.
 */
function journalNotes(ctx: GuardContext, attemptId: string, notes: readonly string[]): void {
  const owner = ownerOf(ctx);
  for (const detail of notes) journal(owner, { at: guardNow(owner), type: 'settle', attemptId, detail });
}

/**
 * Records a processor answer for an attempt this guard submitted. If
 * another guard took the store over meanwhile (SPEC §6), the answer is in
 * hand, so it goes to that guard rather than being lost with this one.
 */
async function settleAnswer(ctx: GuardContext, attemptId: string, outcome: Outcome): Promise<AttemptRecord> {
  const owner = ownerOf(ctx);
  try {
    return await settle(owner, attemptId, outcome, true);
  } catch (error) {
    // Taken over while the settle read the store: the answer goes to the successor, once it has started.
    if (!(error instanceof GuardStateError && error.code === 'TAKEN_OVER')) throw error;
    const successor = await successorOf(ctx);
    if (successor !== owner) return settleAnswer(successor, attemptId, outcome);
    throw error;
  }
}

/**
 * Settles `charge`'s attempt with the processor's answer. Where that answer
 * cannot apply (the attempt was reversed meanwhile), what is recorded
 * stands, the disagreement is journaled (`kept`), and `applied` is false.
 */
async function settleOrKeep(ctx: GuardContext, attemptId: string, outcome: Outcome): Promise<{ record: AttemptRecord; applied: boolean }> {
  try {
    return { record: await settleAnswer(ctx, attemptId, outcome), applied: true };
  } catch (error) {
    const owner = ownerOf(ctx);
    const current =
      error instanceof GuardStateError && error.code === 'INVALID_TRANSITION' ? await kept(owner, attemptId, outcome) : undefined;
    if (current === undefined) throw error;
    return { record: current, applied: false };
  }
}

/** A processor answer that cannot be applied (a voided attempt approved): kept as it is, and said. */
async function kept(ctx: GuardContext, attemptId: string, answer: Outcome): Promise<AttemptRecord | undefined> {
  const record = await get(ctx, attemptId);
  if (record && record.status !== answer.status) {
    journal(ctx, {
      at: guardNow(ctx),
      type: 'settle',
      attemptId,
      from: record.status,
      detail: `the processor answered '${answer.status}' after the attempt was settled '${record.status}'; check the processor's records`,
    });
    ctx.events.emit({ type: 'late-answer', attemptId, answer: answer.status, status: record.status });
  }
  return record;
}

/**
 * What submit's answer (or its throw, or its silence) settles the attempt
 * as; for an answer that is none, `invalid` says what is wrong with it.
 */
function settlementOf(answer: Settled, timeoutMs: number): Settlement & { invalid?: string } {
  if (answer.timedOut) return unknownOutcome(`no answer within ${timeoutMs} ms`);
  if (answer.error !== undefined) return unknownOutcome(errorText(answer.error));
  const settled = answerOutcome(answer.value);
  if (settled) return settled;
  const invalid = answerProblem(answer.value);
  return { ...unknownOutcome(`submit ${invalid}, not { approved: true | false }: a bug in the app's submit`), invalid };
}

/** `charge`'s status for an attempt's: no money held (declined, cancelled, voided) reads `declined`. */
function chargeStatus(status: AttemptStatus): ChargeResult['status'] {
  if (status === 'approved' || status === 'refunded') return 'approved';
  return status === 'unknown' || status === 'pending' ? 'unknown' : 'declined';
}

type Settled =
  { timedOut: false; value?: unknown; error?: unknown } | { timedOut: true; late: Promise<unknown>; error?: undefined; value?: undefined };

/** Races a submit against a timeout on the guard's scheduler, keeping hold of the late answer. */
function settleWithin(work: Promise<unknown>, timeoutMs: number, scheduler: Scheduler): Promise<Settled> {
  const guarded = Promise.resolve(work);
  const answered = guarded.then(
    (value): Settled => ({ timedOut: false, value }),
    (error: unknown): Settled => ({ timedOut: false, error: error ?? new Error('submit rejected') }),
  );
  return within(scheduler, timeoutMs, answered, (): Settled => ({ timedOut: true, late: guarded }));
}

/**
 * Runs the app's `confirm` or `escalate`. What it throws is the app's error,
 * handed back as the guard's own (the charge stops, nothing was reserved),
 * with the original as `cause`.
 */
async function callback<T>(name: 'confirm' | 'escalate', run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new GuardInputError('CALLBACK_FAILED', `\`${name}\` threw: ${errorText(error)}; the charge stopped and nothing was charged`, {
      field: name,
      cause: error,
    });
  }
}
