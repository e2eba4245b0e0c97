/**
 * Deciding: a sale's facts, the rules' findings over memory (and the store's
 * history), the reservation of an allowed attempt, the Decision the caller
 * gets, and an override of it.
 */
import { GuardInputError, GuardOverrideError, GuardStorageError, errorText, isGuardError, GuardStateError } from '../errors.js';
import { randomId } from '../fingerprint.js';
import { reasonMessage } from '../messages.js';
import { readOverrideRequest } from '../override-request.js';
import { recordShape, withRareFields } from '../record.js';
import { VERDICT_OF, evaluate, isLiftable, strictest, type Finding, type SaleFacts } from '../rules.js';
import { validateSale } from '../sale.js';
import { claimOf, excluding } from '../claims.js';
import type { AttemptRecord, ClaimContext, Decision, OverrideNote, OverrideRequest, Reason, ReasonCode, Sale, Verdict } from '../types.js';
import { assertOpen, guardNow, holdingMemory, misconfiguration, type GuardContext } from './context.js';
import { within } from './deadline.js';
import { handle } from './handle.js';
import { prune } from './prune.js';
import { readFor, recall } from './recall.js';
import { adopt, adoptUnlessRecovered } from './tabs.js';
import { track } from './recover.js';
import { settle } from './settle.js';
import { journal, persist, storageError, write } from './writes.js';
import { watchClock } from './clock-steps.js';

/** Wall-clock moves beyond this, relative to the monotonic clock, are reported (SPEC §3). */
const CLOCK_ANOMALY_MS = 120_000;

interface Issued {
  verdict: Verdict;
  findings: Finding[];
  /** The attempt reserved, on an allow. */
  record?: AttemptRecord;
  /** A peek: nothing is journaled. */
  peek?: boolean;
  /** What an override of this decision lifts, when not just its own codes. */
  lifts?: ReasonCode[];
}

interface DecideMode {
  reserve: boolean;
  /** Set after another tab's claim won: re-evaluate once, never loop. */
  retried?: boolean;
  /** Warnings found on the first pass (a clock jump is reported once, then forgotten). */
  warnings?: Finding[];
  lifted?: readonly ReasonCode[];
  override?: OverrideNote;
}

/** `Guard.begin`: evaluate, and reserve on an allow. */
export async function begin(ctx: GuardContext, sale: Sale): Promise<Decision> {
  // Async so bad input rejects rather than throws; everything up to the
  // reservation still runs synchronously, before the first await.
  return decide(ctx, facts(ctx, sale), { reserve: true });
}

/** `Guard.peek`: the same evaluation, without reserving or recording anything. */
export async function peek(ctx: GuardContext, sale: Sale): Promise<Decision> {
  return decide(ctx, facts(ctx, sale), { reserve: false });
}

/** `Guard.override`: the sale re-evaluated, lifting only the reason codes the decision showed. */
export async function override(ctx: GuardContext, decision: Decision, request: OverrideRequest): Promise<Decision> {
  assertOpen(ctx);
  const context = typeof decision === 'object' && decision !== null ? ctx.decisions.get(decision) : undefined;
  if (!context) {
    throw new GuardInputError(
      'UNKNOWN_DECISION',
      '`decision` must be a Decision this guard returned (from begin, peek or override), not already overridden and not being overridden right now',
      { field: 'decision' },
    );
  }
  if (context.verdict === 'allow') {
    throw new GuardInputError('NOT_OVERRIDABLE', '`decision` is an allow: there is nothing to override', { field: 'decision' });
  }
  if (context.codes.some((code) => !isLiftable(code))) {
    // IN_FLIGHT, the one code the rule table never lets an override lift.
    throw new GuardOverrideError(
      'IN_FLIGHT',
      'IN_FLIGHT can never be overridden: the same sale is being charged right now; wait for its result',
      {
        field: 'decision',
      },
    );
  }
  // Read once, checked, card data masked: what authorize sees is what is recorded.
  const { operator, reason, supervisor } = readOverrideRequest(request);
  // One confirmation, one charge: the decision is taken before the first
  // await, so a second tap (or a second supervisor PIN entry) while this one
  // waits for `authorize` or the store finds it gone. It is given back only
  // if this override reserved nothing.
  ctx.decisions.delete(decision);
  let result: Decision | undefined;
  try {
    if (context.verdict === 'block') await authorize(ctx, decision, operator, reason, supervisor);
    const who = { operator, reason, ...(supervisor === undefined ? {} : { supervisor }) };
    // A frozen copy: the note, the journal and listeners must not share (or change) the guard's list.
    const lifted: readonly ReasonCode[] = Object.freeze([...context.codes]);
    const note: OverrideNote = { ...who, lifted };
    result = await decide(ctx, context.sale, { reserve: true, lifted, override: note });
    if (result.attempt) {
      journal(ctx, { at: guardNow(ctx), type: 'override', attemptId: result.attempt.id, codes: lifted, ...who });
      ctx.events.emit({ type: 'override', decision: result, lifted, ...who });
    }
    return result;
  } finally {
    if (!result?.attempt && !ctx.closed) ctx.decisions.set(decision, context);
  }
}

async function authorize(
  ctx: GuardContext,
  decision: Decision,
  operator: string,
  reason: string,
  supervisor: string | undefined,
): Promise<void> {
  let answer: unknown = false;
  try {
    answer = ctx.o.authorize ? await ctx.o.authorize({ decision, operator, reason, supervisor }) : false;
  } catch (error) {
    throw new GuardOverrideError('NOT_AUTHORIZED', `\`authorize\` threw, so the override was refused: ${errorText(error)}`, {
      cause: error,
    });
  }
  if (answer !== true) {
    throw new GuardOverrideError(
      'NOT_AUTHORIZED',
      ctx.o.authorize
        ? 'the supervisor check (`authorize`) did not answer true: override refused; the sale stays blocked unless a supervisor approves'
        : 'overriding a block needs an `authorize` function in createGuard options',
    );
  }
}

function facts(ctx: GuardContext, input: Sale): SaleFacts {
  const { fields, card } = validateSale(input, ctx.o);
  const { merchantId, kind, currency, amount } = fields;
  // The validated fields become the facts as they are (a fresh object, never the caller's): the
  // fingerprint, BIN and last 4 are added to them, never a copy made (SPEC §8's per-begin CPU).
  const facts = fields as SaleFacts;
  facts.fingerprint = ctx.hasher.fingerprint({ merchantId, kind, currency, amount, cardKey: ctx.hasher.cardKey(card.material) });
  if (card.bin !== undefined) facts.bin = card.bin;
  if (card.last4 !== undefined) facts.last4 = card.last4;
  return facts;
}

/** A refund in another currency than its sale cannot be weighed against it. */
function checkRefundCurrency(ctx: GuardContext, sale: SaleFacts): void {
  const original = sale.refundOf === undefined ? undefined : ctx.index.get(sale.refundOf);
  if (original !== undefined && original.currency !== sale.currency) {
    throw new GuardInputError(
      'INVALID_SALE',
      `\`currency\` must be the refunded sale's currency (${original.currency}) for a refund of it`,
      {
        field: 'currency',
      },
    );
  }
}

/**
 * How long a decision waits for the store's history (an order's payments, a
 * refund's original): a store that hangs (a dead connection, a stuck disk)
 * makes the decision STORAGE_UNAVAILABLE under `onStorageError` in seconds,
 * never a till that hangs at Pay.
 */
const HISTORY_READ_TIMEOUT_MS = 5_000;

async function decide(ctx: GuardContext, sale: SaleFacts, mode: DecideMode): Promise<Decision> {
  assertOpen(ctx);
  // close() was called and waits for the charges out: a new one would start after it looked.
  if (mode.reserve && ctx.closing) throw new GuardStateError('CLOSED', 'this guard is closing (guard.close()): no new sale is reserved');
  if (ctx.misconfigured) throw ctx.misconfigured;
  // From here to the reservation nothing awaits, unless history must be read first.
  let unread: Finding | undefined;
  let recalled: readonly unknown[] = [];
  // Memory is swept before a read, and held while it is out: what the read
  // brings back never replaces a version memory let go of meanwhile.
  let now = guardNow(ctx);
  prune(ctx, now);
  // Whether the order's payments are left to the claim to read (see claimReads).
  const orderLeftToClaim = sale.orderId !== undefined && claimReads(ctx, mode);
  const reading = readFor(ctx, orderLeftToClaim ? { merchantId: sale.merchantId, refundOf: sale.refundOf } : sale);
  if (reading) {
    try {
      const ms = HISTORY_READ_TIMEOUT_MS;
      const unanswered = () =>
        Promise.reject(new GuardStorageError('UNAVAILABLE', `the store did not answer a read of its history within ${ms} ms`));
      recalled = await holdingMemory(ctx, within(ctx.o.scheduler, ms, reading, unanswered));
    } catch (error) {
      if (isGuardError(error) && !(error instanceof GuardStorageError)) throw error;
      // The store could not answer: decide on what memory holds, under onStorageError.
      storageError(ctx, error, 'load');
      unread = { code: 'STORAGE_UNAVAILABLE', facts: {} };
    }
    assertOpen(ctx);
    now = guardNow(ctx);
  }
  recall(ctx, recalled, now);
  checkRefundCurrency(ctx, sale);
  let findings = evaluate(sale, ctx.index, now, ctx.o);
  // On a shared store what holds the sale back in memory may be out of date:
  // another terminal settled it and its notice has not arrived. No rule may
  // depend on a notice (SPEC §9), so the store's versions are read first. A
  // peek reads them whatever memory says: it makes no claim that would meet
  // them, and another terminal's new reservation is not announced at all.
  const stale = !mode.reserve || findings.some(standsAgainst(mode.lifted ?? []));
  if (!unread && ctx.o.store.claim && stale && (await refreshed(ctx, sale, findings))) {
    assertOpen(ctx);
    now = guardNow(ctx);
    findings = evaluate(sale, ctx.index, now, ctx.o);
  }
  // Checked on every decision, those held back below included: a till cut off (or whose store
  // fails) is where a clock is most likely wrong, and the jump is reported on the first one after it.
  const anomaly = clockCheck(ctx, now);
  if (anomaly) findings.push(anomaly);
  if (unread && !(mode.lifted ?? []).includes('STORAGE_UNAVAILABLE')) {
    const policy = ctx.o.onStorageError;
    const shown = findings.filter((f) => VERDICT_OF[f.code] !== undefined).map((f) => f.code);
    const lifts = [...new Set([...(mode.lifted ?? []), ...shown, 'STORAGE_UNAVAILABLE' as const])];
    if (policy !== 'allow') {
      return issue(ctx, sale, now, {
        verdict: strictest([policy, ...findings.map((f) => VERDICT_OF[f.code])]),
        findings: [...findings, unread],
        lifts,
        peek: !mode.reserve,
      });
    }
    findings.push(unread);
  }
  const lifted = mode.lifted ?? [];
  // Cut off from the other terminals (SPEC §9): this decision sees only what this one knows.
  const cutOff = ctx.o.store.cutOff?.() === true && !(mode.warnings ?? []).some((f) => f.code === 'SHARED_UNAVAILABLE');
  if (cutOff) {
    const held = sharedPolicy(ctx, lifted);
    if (held !== 'allow') {
      const shown = findings.filter((f) => VERDICT_OF[f.code] !== undefined).map((f) => f.code);
      return issue(ctx, sale, now, {
        verdict: strictest([held, ...findings.map((f) => VERDICT_OF[f.code])]),
        findings: [...findings, SHARED_UNAVAILABLE, ...(mode.warnings ?? [])],
        lifts: [...new Set([...lifted, ...shown, 'SHARED_UNAVAILABLE' as const])],
        peek: !mode.reserve,
      });
    }
    findings.push(SHARED_UNAVAILABLE);
  }
  if (mode.warnings) findings.push(...mode.warnings);
  // An override lifts the codes it was shown. Any other reason makes this a
  // fresh decision that stands on its own, with every reason and its own
  // verdict, so lifting a prompt can never carry a block along with it.
  const unlifted = findings.some(standsAgainst(lifted));
  if (unlifted || !mode.reserve) {
    return issue(ctx, sale, now, { verdict: strictest(findings.map((f) => VERDICT_OF[f.code])), findings, peek: !mode.reserve });
  }
  const shown = findings.filter((f) => VERDICT_OF[f.code] === undefined); // warnings ride along

  // Reserve before the first await: a concurrent begin of the same sale in
  // this process now finds it and gets IN_FLIGHT.
  const record = newRecord(sale, now, mode.override);
  ctx.index.add(record);
  // Whether the store had to judge on this terminal's records alone, though it looked connected above.
  let cutOffMeanwhile = false;
  const failure = await reserve(ctx, record, (related, context) => {
    // Inside the store's transaction: take in what other tabs wrote, judge again.
    for (const other of related) if (other.id !== record.id) adopt(ctx, other);
    if (context?.cutOff === true && !cutOff) {
      cutOffMeanwhile = true;
      // The policy holds the sale: decide again, now knowing the store is cut off.
      if (sharedPolicy(ctx, lifted) !== 'allow') return false;
      // The claim was to read the order's payments and could not: decide again, reading them from
      // this till's own history (`local`) as any decision made cut off does, not on memory alone.
      if (orderLeftToClaim) return false;
    }
    return !evaluate(sale, excluding(ctx.index, record.id), now, ctx.o).some(standsAgainst(lifted));
  });
  if (failure !== undefined && ctx.storeFenced) {
    // The store was taken over under this guard (its file opened again): a take-over, not a disk failure.
    ctx.index.remove(record.id);
    assertOpen(ctx);
  }
  // Read again: the check on entry narrowed `ctx.misconfigured` for the compiler, but the reservation awaited.
  const misconfigured = misconfiguration(ctx);
  if (failure === undefined && misconfigured) {
    // Found while this reserved (a catch-up's key check): the sale was fingerprinted under a key no other
    // lane matches. Nothing is charged on it; its reservation is let go (a settle, which still goes through).
    await settle(ctx, record.id, { status: 'cancelled', message: 'secret not the merchant’s: not charged' }, false).catch(() => undefined);
    throw misconfigured;
  }
  if (failure === undefined) {
    ctx.charging.set(record.id, undefined);
    watchClock(ctx, now);
    track(ctx, record);
    // The store took a write again: what an earlier failure left in memory only is written now, before
    // the sale goes ahead (a crash after it must not lose a refund paid while the disk was away).
    if (ctx.unpersisted.size > 0) await persist(ctx, []);
    return issue(ctx, sale, now, { verdict: 'allow', findings: cutOffMeanwhile ? [...shown, SHARED_UNAVAILABLE] : shown, record });
  }
  if (failure === 'refused') {
    // Another tab's records stand against the sale; they are in the index
    // now, so deciding again gives its reasons. Once: never loop.
    ctx.index.remove(record.id);
    if (!mode.retried) return decide(ctx, sale, { ...mode, retried: true, warnings: shown });
    const held: Finding = { code: 'IN_FLIGHT', facts: { amount: sale.amount, currency: sale.currency } };
    return issue(ctx, sale, now, { verdict: 'block', findings: [...shown, held] });
  }
  const storageFinding: Finding = { code: 'STORAGE_UNAVAILABLE', facts: {} };
  const policy = lifted.includes('STORAGE_UNAVAILABLE') ? 'allow' : ctx.o.onStorageError;
  if (policy === 'allow') {
    // Proceed on memory only: the attempt still guards this process, and
    // other tabs are told of it so that they hold the sale too.
    ctx.unpersisted.add(record.id);
    ctx.charging.set(record.id, undefined);
    watchClock(ctx, now);
    ctx.o.store.announce?.(ctx.time.toWall(record));
    return issue(ctx, sale, now, { verdict: 'allow', findings: [...shown, storageFinding], record });
  }
  ctx.index.remove(record.id);
  // What the operator already lifted stays lifted: overriding this decision
  // must not bring the earlier prompt back, round after round.
  const lifts = [...new Set([...lifted, 'STORAGE_UNAVAILABLE' as const])];
  return issue(ctx, sale, now, { verdict: policy, findings: [...shown, storageFinding], lifts });
}

/**
 * Whether the reservation's claim will read the order's payments itself: a
 * claiming store reads what is filed under the order's key in the claim's
 * own transaction and hands it to the judge, so reading them first cost a
 * round trip more on every sale with an order id (on PostgreSQL, a third of
 * a till's begins) for nothing. A refund's original is still read first: its
 * currency is checked before anything is reserved. Cut off, the claim sees
 * this terminal's knowledge only, and the order is read from `local` (cut
 * off during the claim itself, the claim is refused and decided again so). And
 * deciding again after a claim was refused, it is read first as before: what
 * the claim handed back is not hot, and memory lets it go at the next sweep.
 */
function claimReads(ctx: GuardContext, mode: DecideMode): boolean {
  const { store } = ctx.o;
  return mode.reserve && mode.retried !== true && typeof store.claim === 'function' && store.cutOff?.() !== true;
}

/**
 * Reads what a shared store holds for the sale's keys into memory (a claim
 * that writes nothing), and the attempts memory holds against it, by id: a
 * store files live records only, so one settled elsewhere (declined, voided)
 * is no longer under the keys, and only its id finds the new version
 * (without BroadcastChannel, nothing else tells this tab). False if it could not.
 */
async function refreshed(ctx: GuardContext, sale: SaleFacts, findings: readonly Finding[]): Promise<boolean> {
  const { store } = ctx.o;
  const claim = (store.claim as NonNullable<typeof store.claim>).bind(store);
  const { keys } = claimOf({ ...sale, id: '' } as AttemptRecord);
  const against = findings.flatMap((finding) => (finding.attemptId === undefined ? [] : [finding.attemptId]));
  const ids = [...new Set([...(sale.refundOf === undefined ? [] : [sale.refundOf]), ...against])];
  const reading = write(ctx, () =>
    claim({ keys, ids }, (related) => {
      for (const other of related) adoptUnlessRecovered(ctx, other);
      return undefined;
    }),
  );
  const ms = HISTORY_READ_TIMEOUT_MS;
  try {
    await holdingMemory(
      ctx,
      within(ctx.o.scheduler, ms, reading, () => Promise.reject(new Error(`no answer within ${ms} ms`))),
    );
    return true;
  } catch {
    // Decided on memory, which errs on the side of holding the sale.
    return false;
  }
}

/**
 * Persist a reservation: through the store's atomic claim where several
 * tabs or processes share it (`judge` decides inside it), else by `put`.
 * `undefined` on success.
 */
export async function reserve(
  ctx: GuardContext,
  record: AttemptRecord,
  judge: (related: AttemptRecord[], context: ClaimContext | undefined) => boolean,
): Promise<undefined | 'refused' | { error: unknown }> {
  const { store } = ctx.o;
  try {
    if (store.claim) {
      const claim = store.claim.bind(store);
      const stored = ctx.time.toWall(record);
      const written = await write(ctx, () =>
        claim(claimOf(record), (related, context) => (judge(related, context) ? [stored] : undefined)),
      );
      return written ? undefined : 'refused';
    }
    await write(ctx, () => store.put(ctx.time.toWall(record)));
    return undefined;
  } catch (error) {
    storageError(ctx, error, 'put');
    return { error };
  }
}

/**
 * Turns findings into the Decision the caller gets, and remembers what an
 * override of it may lift (`lifts`: by default its blocking and prompting
 * codes).
 */
function issue(ctx: GuardContext, sale: SaleFacts, now: number, issued: Issued): Decision {
  const { verdict, findings, record, peek = false } = issued;
  const reasons: Reason[] = findings.map((f) => {
    const reason: Reason = { code: f.code, message: reasonMessage(ctx.o.locale, f.code, f.facts) };
    if (f.attemptId !== undefined) reason.attemptId = f.attemptId;
    if (f.ageMs !== undefined) reason.ageMs = f.ageMs;
    return Object.freeze(reason);
  });
  const decision: Decision = { verdict, reasons: Object.freeze(reasons) as Reason[], fingerprint: sale.fingerprint };
  if (record) decision.attempt = handle(ctx, record);
  Object.freeze(decision);
  if (verdict !== 'allow') {
    const codes = issued.lifts ?? findings.filter((f) => VERDICT_OF[f.code] !== undefined).map((f) => f.code);
    ctx.decisions.set(decision, { sale, verdict, codes });
    if (!peek) {
      journal(ctx, {
        at: now,
        type: 'decision',
        verdict,
        codes: reasons.map((r) => r.code),
        amount: sale.amount,
        ...(sale.operator ? { operator: sale.operator } : {}),
      });
    }
  }
  if (ctx.events.has('decision')) ctx.events.emit({ type: 'decision', decision, peek });
  return decision;
}

function newRecord(sale: SaleFacts, now: number, override: OverrideNote | undefined): AttemptRecord {
  // The id doubles as the idempotency key: 96 random bits, URL-safe,
  // fixed for the attempt's life, and one string less per attempt.
  const id = randomId('pdg_', 12);
  // Field by field, not `makeRecord({ ...sale, … })`: a literal spreading an
  // object and adding keys to it is built in dictionary mode, which cost
  // about 40% of a begin's CPU.
  const record = recordShape(
    id,
    id,
    sale.fingerprint,
    'pending',
    sale.kind,
    sale.amount,
    sale.currency,
    sale.merchantId,
    now,
    now,
    now,
    0,
    undefined,
    undefined,
    sale.bin,
    sale.last4,
    sale.orderId,
    sale.terminalId,
  );
  return withRareFields(record, { operator: sale.operator, orderTotal: sale.orderTotal, refundOf: sale.refundOf, override });
}

function clockCheck(ctx: GuardContext, now: number): Finding | undefined {
  const wall = ctx.time.lastWall;
  const mono = ctx.time.monotonicOf(now);
  const driftMs = wall - ctx.lastWall - (mono - ctx.lastMono);
  ctx.lastWall = wall;
  ctx.lastMono = mono;
  if (Math.abs(driftMs) <= CLOCK_ANOMALY_MS) return undefined;
  journal(ctx, { at: now, type: 'clock-anomaly', detail: `wall clock moved ${driftMs} ms against the monotonic clock` });
  ctx.events.emit({ type: 'clock-anomaly', driftMs });
  return { code: 'CLOCK_ANOMALY', facts: { driftMs } };
}

const SHARED_UNAVAILABLE: Finding = { code: 'SHARED_UNAVAILABLE', facts: {} };

/** What a decision made while cut off from the other terminals becomes: `onSharedUnavailable`, unless an override lifted it. */
function sharedPolicy(ctx: GuardContext, lifted: readonly ReasonCode[]): Verdict {
  return lifted.includes('SHARED_UNAVAILABLE') ? 'allow' : ctx.o.onSharedUnavailable;
}

/** A finding that holds the sale back (not a warning) and that the override did not lift. */
function standsAgainst(lifted: readonly ReasonCode[]): (finding: Finding) => boolean {
  return (finding) => VERDICT_OF[finding.code] !== undefined && !lifted.includes(finding.code);
}
