/**
 * Settling: an attempt's outcome recorded (with a refund's sum moved on its
 * sale), a lost refund update repaired, and an unknown attempt resumed.
 */
import { GuardStateError, GuardStorageError, isGuardError } from '../errors.js';
import { canTransition, settleTargets } from '../lifecycle.js';
import { reasonMessage } from '../messages.js';
import { validateOutcome, type ValidOutcome } from '../outcome.js';
import { withChanges } from '../record.js';
import { refundKey, sameVersion } from '../claims.js';
import { resumeFindings } from '../resume.js';
import {
  EXTERNAL,
  applyRefund,
  externalRefund,
  externalRefundId,
  listsExternal,
  overAdded,
  overGrown,
  overRefund,
  overReport,
  refundedBy,
  revokeRefund,
  withRefundsOf,
} from '../refunds.js';
import { VERDICT_OF } from '../rules.js';
import type { Attempt, AttemptRecord, AttemptStatus, Outcome, StoreChange } from '../types.js';
import { assertOpen, guardNow, holdingMemory, requireRecord, statusOf, view, type GuardContext } from './context.js';
import { reserve } from './decide.js';
import { handle } from './handle.js';
import { find, recallFor } from './recall.js';
import { adopt, adoptUnlessRecovered } from './tabs.js';
import { track } from './recover.js';
import { journal, persist, storageError, write } from './writes.js';
import { watchClock } from './clock-steps.js';

/**
 * A retried settle: to the status the attempt has (SPEC §2), but for a
 * refund made outside the guard with an amount, which adds to the sale
 * each time, unless its `processorRef` says it is one already listed.
 */
function settledAlready(current: AttemptRecord, from: AttemptStatus, valid: ValidOutcome): boolean {
  if (valid.status !== 'refunded') return from === valid.status;
  // With a reference, only that reference listed is a retry: another one is a refund of its own, even of "the rest".
  if (valid.refundKey !== undefined) return listsExternal(current, valid.refundKey, valid.amount);
  return from === 'refunded' && valid.amount === undefined;
}

/** What a settle writes: see `plan`. */
interface Plan {
  changes: AttemptRecord[];
  sale?: string;
  /** A refund made outside the guard: the entry it listed on the sale (what it added, under which id). */
  refund?: { id: string; amount: number };
  over?: ReturnType<typeof overRefund>;
}

/**
 * `Guard.settle`, with `processor` false.
 *
 * `processor`: the outcome is the processor's own answer to a charge this
 * guard submitted. It is the truth about the money: an approval stands
 * over a `cancelled` or `declined` someone recorded meanwhile (the PIN pad's
 * Cancel, a check that found nothing yet), and the journal says so.
 */
export async function settle(ctx: GuardContext, attemptId: string, outcome: Outcome, processor: boolean): Promise<AttemptRecord> {
  return (await settleChanging(ctx, attemptId, outcome, processor)).record;
}

/**
 * `settle`, saying whether this call changed the attempt (`changed`), or
 * found it so already: a retried settle, or another call's (a double tap,
 * another tab or lane) that landed first. Whoever reports having settled
 * it (applyReconciliation) reports only the call that did.
 */
export function settleChanging(
  ctx: GuardContext,
  attemptId: string,
  outcome: Outcome,
  processor: boolean,
  on: SettleOn = {},
): Promise<{ record: AttemptRecord; changed: boolean }> {
  // What it reads back from the store (the attempt, a refund's sale) stays in memory until it is planned on and written.
  return holdingMemory(ctx, settleHeld(ctx, attemptId, outcome, processor, on));
}

/** A settle made on someone's behalf (applyReconciliation's). */
export interface SettleOn {
  /** Who settles it, said in the settle's own journal entry. */
  by?: string;
  /** Settles only an attempt (as it stands, read again where the store has claim) that still is as this says: else changes nothing. */
  onlyIf?: (current: AttemptRecord, status: AttemptStatus) => boolean;
}

async function settleHeld(
  ctx: GuardContext,
  attemptId: string,
  outcome: Outcome,
  processor: boolean,
  { by, onlyIf }: SettleOn,
): Promise<{ record: AttemptRecord; changed: boolean }> {
  assertOpen(ctx);
  // A refund made outside the guard is named by its processorRef as given, under the secret (never by the
  // masked text: two references masked alike would be one refund).
  const valid = validateOutcome(outcome, (processorRef) => ctx.hasher.refundKey(processorRef));
  const found = find(ctx, attemptId);
  // Read again from memory after a read of the store: a settle of the same
  // attempt may have run meanwhile (a double tap on Void), and plans on it.
  const current = found instanceof Promise ? (await found, requireRecord(ctx, attemptId)) : found;
  const now = guardNow(ctx);
  // The status it is settled from: as the store's transaction found it, where the store has claim.
  let from = statusOf(ctx, current, now);
  if (onlyIf && !onlyIf(current, from)) return { record: view(ctx, current, now), changed: false };
  if (settledAlready(current, from, valid)) {
    // A retried settle changes nothing, but is the moment to write what
    // an earlier storage failure left in memory only, and to repair a
    // refund's original whose update was lost.
    await repairRefund(ctx, current, now);
    return { record: view(ctx, current, now), changed: false };
  }
  let next = plan(ctx, current, from, valid, now, processor);
  const { store } = ctx.o;
  const claim = store.claim?.bind(store);
  if (claim) {
    // Where tabs share the store, a settle reads what it changes and writes
    // it in one step: another tab's settle of this attempt (after the tab
    // charging it reloaded) is met, not overwritten with an outcome planned
    // on an older version; and another tab's refund of the same sale,
    // approved a moment ago, is counted.
    let settledThere = false;
    const sale = next.sale;
    const written = await write(ctx, () =>
      // This attempt; for a sale's refunded sum, the sale and its refunds in flight in other tabs.
      claim(sale === undefined ? { keys: [], ids: [attemptId] } : { keys: [refundKey(sale)], ids: [attemptId, sale] }, (related) => {
        // A store may judge more than once (an optimistic claim judged again on what it found): the last answer counts.
        settledThere = false;
        for (const other of related) adoptUnlessRecovered(ctx, other);
        const fresh = requireRecord(ctx, attemptId);
        const status = (from = statusOf(ctx, fresh, now));
        // Another tab settled it the same way meanwhile (recorded the same refund): a retried settle. Or it is no
        // longer what the caller settles (resumed on another lane, which this one had not heard yet).
        if (settledAlready(fresh, status, valid) || (onlyIf && !onlyIf(fresh, status))) return void (settledThere = true);
        next = plan(ctx, fresh, status, valid, now, processor);
        return next.changes.map((record) => ctx.time.toWall(record));
      }),
    ).then(
      () => true,
      (error: unknown) => {
        if (isGuardError(error) && !(error instanceof GuardStorageError)) throw error;
        return false; // a storage failure: written below, kept in memory if that fails too
      },
    );
    if (settledThere) return { record: view(ctx, requireRecord(ctx, attemptId), now), changed: false };
    for (const record of next.changes) ctx.index.add(record);
    // Written in the claim, or else by put; either way the moment to retry what a failed write left in memory only.
    if (!written) await persist(ctx, next.changes);
    else if (ctx.unpersisted.size > 0) await persist(ctx, []);
  } else {
    for (const record of next.changes) ctx.index.add(record);
    await persist(ctx, next.changes);
  }
  const [record] = next.changes as [AttemptRecord];
  if (processor && record.status === 'approved' && (from === 'cancelled' || from === 'declined')) {
    journal(ctx, {
      at: now,
      type: 'settle',
      attemptId,
      from,
      to: 'approved',
      detail: `the processor approved this charge after it was settled '${from}': recorded as approved`,
    });
  }
  const overruled = ctx.charging.get(attemptId);
  ctx.charging.delete(attemptId);
  ctx.recovered.delete(attemptId);
  if (overruled !== undefined) {
    journal(ctx, {
      at: now,
      type: 'settle',
      attemptId,
      from: overruled,
      to: record.status,
      detail: `another tab had settled it '${overruled}' while this one was charging it; the processor answered '${valid.status}' here`,
    });
  }
  if (next.over) reportOver(ctx, next.over);
  journal(ctx, {
    at: now,
    type: 'settle',
    attemptId,
    from,
    to: record.status,
    // What this refund added: the sale as the transaction found it may hold another tab's or lane's refund.
    ...(next.refund ? { amount: next.refund.amount } : {}),
    // Named by its processor reference: two lanes that each recorded it while one was cut off journal it
    // twice, and a report counts it once.
    ...(next.refund && valid.status === 'refunded' && valid.refundKey !== undefined ? { detail: `refund ${next.refund.id}` } : {}),
    // In this entry, not only in the caller's next one: a till killed between the two still tells who settled it.
    ...(by === undefined ? {} : { detail: by }),
  });
  ctx.events.emit({ type: 'settle', record: ctx.time.toWall(record), from });
  track(ctx, record, now);
  return { record: view(ctx, record, now), changed: true };
}

/**
 * What a settle writes: the attempt, and the sale whose refunded sum it
 * moves (`sale`: that sale's id). Throws on an illegal transition or a
 * refund beyond what remains; reads only the index (and which attempts this
 * guard is charging) and changes nothing, so it can run again inside a store
 * transaction with what other tabs wrote. The journal entries and events of
 * a settle are not part of it: they depend on what that transaction found
 * and on what other tabs reported while the write was under way.
 */
function plan(
  { index, charging }: Pick<GuardContext, 'index' | 'charging'>,
  current: AttemptRecord,
  from: AttemptStatus,
  valid: ValidOutcome,
  now: number,
  processor = false,
): Plan {
  if (valid.status === 'refunded') {
    if (current.kind !== 'sale') illegal(current, from, 'refunded', 'only a sale can be refunded');
    if (from !== 'approved') illegal(current, from, 'refunded');
    // Refund attempts of this sale whose outcome is open may have paid out: they count as refunded (SPEC §3).
    const amount = externalRefund(current, valid.amount, index.openRefundsOf(current.id));
    // Listed under an id of its own: merged entry by entry with another lane's row of the sale (see EXTERNAL).
    const refund = { id: externalRefundId(valid.refundKey), amount };
    return { changes: [refundedBy(current, amount, now, [...(current.refunds ?? []), refund])], sale: current.id, refund };
  }
  const correction = processor && valid.status === 'approved' && (from === 'cancelled' || from === 'declined');
  if (!canTransition(from, valid.status) && !correction) illegal(current, from, valid.status);
  // A void returns the whole charge: after a refund it would return money twice.
  const voidsSale = valid.status === 'voided' && current.kind === 'sale';
  if (voidsSale && (current.refunded > 0 || index.openRefundsOf(current.id).length > 0)) {
    throw new GuardStateError(
      'HAS_REFUNDS',
      `attempt ${current.id} has refunds (${current.refunded} refunded${current.refunded > 0 ? '' : ', one in flight'}): voiding it would return its whole amount again; refund what remains instead`,
      { field: 'status' },
    );
  }
  const { status, ...details } = valid;
  let next = withChanges(current, { ...details, status, updatedAt: now, ...(status === 'approved' ? { approvedAt: now } : {}) });
  // Another tab settled this attempt while this one was charging it. The
  // processor's answer here stands, except over a reversal: a charge
  // reversed after it went through is voided.
  if (charging.get(current.id) === 'voided' && status === 'approved') next = withChanges(next, { status: 'voided' });
  // A refund attempt moves its original sale's refunded sum: approved
  // adds to it, voided (a reversal) takes it back.
  // A void of a sale names the sale too: its refunds in other tabs are read in the same step.
  const saleId = voidsSale
    ? current.id
    : current.kind === 'refund' && (status === 'approved' || status === 'voided')
      ? current.refundOf
      : undefined;
  const original = saleId === undefined || voidsSale ? undefined : index.get(saleId);
  const updated = !original ? undefined : status === 'approved' ? applyRefund(original, next, now) : revokeRefund(original, next, now);
  // Paid out beyond what remained on the sale: kept and reported, never counted as 0 (see applyRefund).
  const over = original && updated && status === 'approved' ? overRefund(original, updated, next, now) : undefined;
  return { changes: updated ? [next, updated] : [next], ...(saleId === undefined ? {} : { sale: saleId }), ...(over ? { over } : {}) };
}

function illegal(record: AttemptRecord, from: AttemptStatus, to: AttemptStatus, why = allowedFrom(from)): never {
  throw new GuardStateError('INVALID_TRANSITION', `attempt ${record.id} cannot go from '${from}' to '${to}': ${why}`, { field: 'status' });
}

/** What a refused settle could have done instead: the developer's next step. */
function allowedFrom(from: AttemptStatus): string {
  const targets = settleTargets(from);
  return targets.length === 0
    ? `'${from}' is final (a new charge is a new begin)`
    : `from '${from}' it can only be settled ${targets.map((s) => `'${s}'`).join(', ')}`;
}

/** An over-refund: journaled, and the sale's settle emitted with wall-clock times. */
function reportOver(ctx: GuardContext, over: NonNullable<ReturnType<typeof overRefund>>): void {
  journal(ctx, over.entry);
  const { event } = over;
  ctx.events.emit(event.type === 'settle' ? { ...event, record: ctx.time.toWall(event.record) } : event);
}

/** Makes sure an approved refund attempt is counted on its original (idempotent), and retries unpersisted writes. */
export async function repairRefund(ctx: GuardContext, record: AttemptRecord, now: number): Promise<void> {
  // Its original is in memory: recalled from history by the caller.
  const original =
    record.kind === 'refund' && record.status === 'approved' && record.refundOf !== undefined ? ctx.index.get(record.refundOf) : undefined;
  const updated = original && applyRefund(original, record, now);
  if (updated) ctx.index.add(updated);
  if (updated || ctx.unpersisted.size > 0) await persist(ctx, updated ? [updated] : []);
  const over = original && updated && overRefund(original, updated, record, now);
  if (over) reportOver(ctx, over);
}

/**
 * What a shared store's catch-up sent has reached the others: a refund
 * settled while cut off, or a sale whose refunds or void it carries. The
 * catch-up merges a sale's row with the stored one itself (keptRefunds in
 * shared/store.ts); what it cannot see is counted here, in one claim on the
 * sale's refund key (which finds every approved refund of it) and the ids
 * it lists: a refund approved elsewhere whose row lost the race to this
 * one's counted, one reversed on another lane taken back (see recounted).
 * Then the money to recover this terminal's write found is reported, once.
 */
export async function recountSent(ctx: GuardContext, change: Extract<StoreChange, { type: 'sent' }>): Promise<void> {
  const { store } = ctx.o;
  const sent = change.record;
  const saleId =
    sent.kind === 'refund' && (sent.status === 'approved' || sent.status === 'voided')
      ? sent.refundOf
      : sent.kind === 'sale' && (sent.status === 'voided' || sent.refunded > 0 || (sent.refunds?.length ?? 0) > 0)
        ? sent.id
        : undefined;
  if (ctx.closed || !store.claim || saleId === undefined) return;
  const now = guardNow(ctx);
  const listedIds = [...(ctx.index.get(saleId)?.refunds ?? []), ...(sent.refunds ?? [])].map((r) => r.id);
  const ids = [...new Set([saleId, sent.id, ...listedIds.filter((id) => !id.startsWith(EXTERNAL))])];
  let counted: ReturnType<typeof recounted>;
  const claim = store.claim.bind(store);
  const written = await write(ctx, () =>
    claim({ keys: [refundKey(saleId)], ids }, (related) => {
      for (const other of related) adoptUnlessRecovered(ctx, other);
      const sale = ctx.index.get(saleId);
      counted = sale && recounted(ctx, sale, related, sent, now);
      return counted ? [ctx.time.toWall(counted.updated)] : [];
    }),
  ).catch((error: unknown) => {
    storageError(ctx, error, 'claim');
    return false;
  });
  if (ctx.closed) return;
  if (written && counted) ctx.index.add(counted.updated);
  const sale = (written && counted?.updated) || ctx.index.get(saleId);
  if (!sale) return;
  // Money to recover: what the sale sent here (merged with the database's row: see keptRefunds in
  // shared/store.ts) listed beyond the versions known before, as far as it stands once counted again;
  // else what the recount found. Once, by the terminal whose write found it.
  const known = sent.id === saleId ? change.known : undefined;
  const overs = known ? overAdded(sale, sent, known) : written && counted ? counted.overs : [];
  const from = written && counted ? counted.from : sale.status;
  for (const e of overs) reportOver(ctx, overReport(sale, from, e.id, e.over ?? 0, now));
  // Journaled: the store may let go of what it kept to tell this again after a restart.
  await change.reported?.();
}

/**
 * `sale` (the database's version) counted again against its refund
 * attempts (`related`, and the index, as the database holds them) and the
 * row this terminal sent of it (`sent`): the refunds `sent` lists that the
 * kept row does not (its own, made outside the guard too) listed, a listed
 * refund since voided taken back, an approved one not listed counted.
 * `overs`: the money to recover this finds beyond what `sale` listed.
 * `undefined` when the list already agrees.
 */
function recounted(ctx: GuardContext, sale: AttemptRecord, related: readonly AttemptRecord[], sent: AttemptRecord, now: number) {
  let updated = sent.id === sale.id ? withRefundsOf(sale, sent, now) : sale;
  for (const entry of updated.refunds ?? []) {
    const refund = ctx.index.get(entry.id);
    if (refund?.status === 'voided') updated = revokeRefund(updated, refund, now) ?? updated;
  }
  for (const found of related) {
    const refund = ctx.index.get(found.id);
    if (refund?.kind !== 'refund' || refund.refundOf !== sale.id || refund.status !== 'approved') continue;
    updated = applyRefund(updated, refund, now) ?? updated;
  }
  return updated === sale ? undefined : { updated, from: sale.status, overs: overGrown(updated, sale) };
}

/** `Guard.resume`: an `unknown` attempt back to `pending`, with the same idempotency key. */
export function resume(ctx: GuardContext, attemptId: string): Promise<Attempt> {
  // What it reads back from the store (the attempt, its order's payments) stays in memory until it is judged on.
  return holdingMemory(ctx, resumeHeld(ctx, attemptId));
}

async function resumeHeld(ctx: GuardContext, attemptId: string): Promise<Attempt> {
  assertOpen(ctx);
  const found = find(ctx, attemptId);
  const held = found instanceof Promise ? await found : found;
  // The rules read its order's payments, as for a new begin of its sale.
  const reading = recallFor(ctx, held);
  if (reading) await reading;
  const now = guardNow(ctx);
  const current = requireRecord(ctx, attemptId);
  const from = statusOf(ctx, current, now);
  if (!canTransition(from, 'pending')) illegal(current, from, 'pending', "only an 'unknown' attempt can be resumed");
  refuseResume(ctx, current, now);
  const record = withChanges(current, { status: 'pending', pendingSince: now, updatedAt: now });
  // Its own stamp, on this guard's clock: whenever the version it resumes was first seen dated ahead, this one was not.
  ctx.index.forgetSighting(attemptId);
  // Reserved before the first await, as a begin is: a second resume finds it pending.
  ctx.index.add(record);
  const stored = ctx.recovered.get(current.id) ?? ctx.time.toWall(current);
  let theirs: AttemptRecord | undefined;
  const failure = await reserve(ctx, record, (related) => {
    for (const other of related) {
      // Another tab resumed or settled this very attempt since this one read it.
      if (other.id === current.id) theirs = sameVersion(other, stored) ? undefined : other;
      else adopt(ctx, other);
    }
    return theirs === undefined && resumeFindings(current, ctx.index, now, ctx.o).length === 0;
  });
  if (failure === 'refused') {
    ctx.index.add(current);
    if (theirs) adopt(ctx, theirs);
    const status = statusOf(ctx, ctx.index.get(current.id) ?? current, now);
    if (status !== 'unknown') {
      throw new GuardStateError(
        status === 'pending' ? 'IN_FLIGHT' : 'INVALID_TRANSITION',
        `attempt ${current.id} was ${status === 'pending' ? 'resumed' : `settled '${status}'`} in another tab or process meanwhile`,
        { field: 'attemptId' },
      );
    }
    refuseResume(ctx, current, now);
    throw new GuardStateError('IN_FLIGHT', `attempt ${current.id} cannot be resumed: another tab holds its sale`, { field: 'attemptId' });
  }
  if (failure !== undefined) {
    // Kept in memory, retried on the next write; other tabs are told of it.
    ctx.unpersisted.add(record.id);
    ctx.o.store.announce?.(ctx.time.toWall(record));
  }
  ctx.charging.set(record.id, undefined);
  watchClock(ctx, now);
  ctx.recovered.delete(record.id);
  journal(ctx, { at: now, type: 'resume', attemptId, from, to: 'pending' });
  ctx.events.emit({ type: 'resume', record: ctx.time.toWall(record) });
  track(ctx, record);
  return handle(ctx, record);
}

/**
 * Refuses to resume `record` when the rules stand against it as they would
 * against a new begin of its sale (see resumeFindings): resuming would put a
 * second charge in flight, or charge again what was paid since.
 */
function refuseResume(ctx: GuardContext, record: AttemptRecord, now: number): void {
  const findings = resumeFindings(record, ctx.index, now, ctx.o);
  const first = findings.find((f) => f.code === 'IN_FLIGHT') ?? findings.find((f) => VERDICT_OF[f.code] === 'block') ?? findings[0];
  if (!first) return;
  const other = first.attemptId === undefined ? '' : ` (attempt ${first.attemptId})`;
  const why =
    first.code === 'IN_FLIGHT'
      ? 'is being charged right now: wait for its result'
      : 'stands against it: a new charge of this sale goes through begin and its confirmation';
  throw new GuardStateError(
    first.code,
    `attempt ${record.id} cannot be resumed: ${first.code}${other} ${why}. ${reasonMessage(ctx.o.locale, first.code, first.facts)}`,
    { field: 'attemptId' },
  );
}
