import { AttemptIndex } from './attempt-index.js';
import { hasHistory, type HistoryStore } from './history.js';
import {
  GuardConfigError,
  GuardInputError,
  GuardOverrideError,
  GuardStateError,
  GuardStorageError,
  describeValue,
  errorText,
  isGuardError,
  quote,
} from './errors.js';
import { Emitter, type Listener } from './events.js';
import { snapshot, unreadableMessage } from './snapshot.js';
import { GuardTime } from './guard-time.js';
import { createHasher, randomId, type Hasher } from './fingerprint.js';
import { canTransition, isLive, isOpen } from './lifecycle.js';
import { reasonMessage } from './messages.js';
import { resolveChargeOptions, resolveOptions, type ResolvedChargeOptions, type ResolvedOptions } from './options.js';
import { readOverrideRequest } from './override-request.js';
import { NO_CARD_NUMBER, containsCardNumber } from './pan.js';
import { VERDICT_OF, evaluate, isLiftable, statusAt, strictest, type Finding, type SaleFacts } from './rules.js';
import { validateSale } from './sale.js';
import { answerOutcome, unknownOutcome, validateOutcome, type Settlement } from './outcome.js';
import { makeRecord, recordProblem, withChanges } from './record.js';
import { claimOf, excluding, refundKey, sameVersion } from './claims.js';
import { resumeFindings } from './resume.js';
import { applyRefund, externalRefund, overRefund, refundedBy, revokeRefund } from './refunds.js';
import type {
  ApprovalDetails,
  Attempt,
  AttemptFilter,
  AttemptRecord,
  AttemptStatus,
  ChargeOptions,
  ChargeResult,
  Decision,
  DeclineDetails,
  GuardEventType,
  GuardOptions,
  GuardStore,
  JournalEntry,
  Outcome,
  OverrideNote,
  OverrideRequest,
  Reason,
  ReasonCode,
  Sale,
  Scheduler,
  StoreChange,
  SubmitResult,
  Verdict,
} from './types.js';

/** Wall-clock moves beyond this, relative to the monotonic clock, are reported (SPEC §3). */
const CLOCK_ANOMALY_MS = 120_000;
const KEY_CHECK = 'keyCheck';
/** How often a running guard asks a store with history to prune what retention let go. */
const HISTORY_PRUNE_EVERY_MS = 60_000;

/** What a rule reads of a sale or an attempt in the store's history: its order's payments, a refund's original. */
interface RecallKeys {
  merchantId: string;
  orderId?: string | undefined;
  refundOf?: string | undefined;
}

/** What the guard remembers about a decision it returned, so `override` can trust it. */
interface DecisionContext {
  sale: SaleFacts;
  /** The verdict as issued: the caller's copy of the decision is not trusted for it. */
  verdict: Verdict;
  /** The blocking/prompting codes shown: what an override lifts. */
  codes: ReasonCode[];
}

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

// One live guard per store in a process: a second `createGuard` over the same
// store takes over, as after a crash (SPEC §6), and fences the first.
const owners = new WeakMap<GuardStore, Guard>();

/**
 * Create a guard: resolves and validates options, checks the secret against
 * the store, and hydrates the index from it.
 *
 * @example
 * const guard = await createGuard({ merchantId: 'M-0001', secret: process.env.GUARD_SECRET! });
 */
export async function createGuard(options: GuardOptions): Promise<Guard> {
  const resolved = resolveOptions(options);
  const guard = new Guard(resolved, createHasher(resolved.secret));
  await guard[HYDRATE]();
  return guard;
}

const HYDRATE = Symbol('hydrate');

export class Guard {
  readonly #o: ResolvedOptions;
  readonly #hasher: Hasher;
  readonly #index: AttemptIndex;
  readonly #events = new Emitter();
  readonly #decisions = new WeakMap<Decision, DecisionContext>();
  // Ages are measured on guard time; what leaves the guard is wall time (see GuardTime).
  readonly #time: GuardTime;
  #lastWall: number;
  #lastMono: number;
  // Writes not yet finished, so close() can wait for them.
  readonly #inflight = new Set<Promise<void>>();
  readonly #unpersisted = new Set<string>();
  /**
   * Attempts this guard reserved and has not settled: its own processor
   * answer for them always stands. The value is what another tab settled one
   * as meanwhile (taking it for a dead tab's), for the journal.
   */
  readonly #charging = new Map<string, AttemptStatus | undefined>();
  /** Pending records start-up reports as unknown, as stored (pending): what a resume compares the store with. */
  readonly #recovered = new Map<string, AttemptRecord>();
  /** Records other tabs announced from memory only (their writes failed): holds, never more. */
  readonly #announced = new Set<string>();
  #unsubscribe: (() => void) | undefined;
  #closed = false;
  /** The store, when it keeps history: memory holds hot records only (see history.ts). */
  readonly #history: HistoryStore | undefined;
  /** Guard time at which the store's history is next pruned (retention). */
  #nextHistoryPrune = Number.NEGATIVE_INFINITY;

  /** @internal Use {@link createGuard}. */
  constructor(options: ResolvedOptions, hasher: Hasher) {
    this.#o = options;
    this.#hasher = hasher;
    this.#history = hasHistory(options.store) ? options.store : undefined;
    this.#index = new AttemptIndex(options.retentionMs, options.windowMs, this.#history !== undefined);
    this.#time = new GuardTime(options.clock);
    this.#lastWall = options.clock.now();
    this.#lastMono = options.clock.monotonic();
  }

  /** @internal */
  async [HYDRATE](): Promise<void> {
    const { store } = this.#o;
    const keyCheck = await this.#storeCall('getMeta', () => store.getMeta(KEY_CHECK));
    const secretChanged = keyCheck !== undefined && keyCheck !== this.#hasher.keyCheck;
    if (secretChanged && !this.#o.resetOnSecretChange) {
      throw new GuardConfigError(
        'SECRET_CHANGED',
        '`secret` differs from the one this store was written with: fingerprints would no longer match its history. Restore the old secret, or pass `resetOnSecretChange: true` to start a new history.',
        { field: 'secret' },
      );
    }
    // Fence first, then load: a guard still running over this store must
    // not reserve anything the load below would miss. Its calls from now on
    // fail with TAKEN_OVER; the writes it already issued are waited for.
    const previous = owners.get(store);
    owners.set(store, this);
    // The fenced guard hears nothing more (nor writes back its stale copies on a wipe).
    if (previous) previous.#unsubscribe?.();
    try {
      if (previous) await Promise.all(previous.#inflight);
      await this.#load(keyCheck, secretChanged);
    } catch (error) {
      // A guard that fails to start gives the store back to the one it fenced.
      if (owners.get(store) === this) {
        if (previous && !previous.#closed) owners.set(store, previous);
        else owners.delete(store);
      }
      throw error;
    }
  }

  async #load(keyCheck: string | undefined, secretChanged: boolean): Promise<void> {
    const { store } = this.#o;
    const now = this.#now();
    if (secretChanged) {
      const stale = await this.#storeCall('load', () => store.load());
      await this.#storeCall('delete', () => Promise.all(stale.map((record) => store.delete(record.id))));
    }
    // A store with history prunes what retention let go, and hands over the hot records; the rest stay with it.
    const history = this.#history;
    const pastRetention =
      history && !secretChanged ? await this.#storeCall('prune', () => history.prune(this.#time.wallOf(now - this.#o.retentionMs) + 1)) : 0;
    this.#nextHistoryPrune = now + HISTORY_PRUNE_EVERY_MS;
    const scope = history ? { since: this.#time.wallOf(now - this.#o.windowMs) } : undefined;
    const records = secretChanged ? [] : await this.#storeCall('load', () => store.load(scope));
    if (keyCheck !== this.#hasher.keyCheck) await this.#storeCall('setMeta', () => store.setMeta(KEY_CHECK, this.#hasher.keyCheck));

    const problems: string[] = [];
    const kept: AttemptRecord[] = [];
    for (const stored of records) {
      const problem = recordProblem(stored);
      if (problem) problems.push(problem);
      else kept.push(this.#time.fromWall(makeRecord(stored)));
    }
    this.#index.addAll(kept, now);
    // The process that wrote a `pending` died mid-charge: the charge may have gone through.
    const pending = kept.filter((record) => record.status === 'pending');
    for (const record of pending) {
      this.#recovered.set(record.id, record);
      this.#index.add(makeRecord({ ...record, status: 'unknown' }));
    }
    // A crash between an approved refund's write and its original's leaves
    // the original short: count it now (idempotent, so nothing is doubled).
    const refunds = kept.filter((record) => record.kind === 'refund' && record.status === 'approved');
    const originals = await Promise.all(
      refunds.map((record) => this.#readFor({ merchantId: record.merchantId, refundOf: record.refundOf }) ?? Promise.resolve([])),
    );
    this.#recall(originals.flat());
    for (const record of refunds) void this.#repairRefund(record, now).catch(() => undefined);
    const pruned = pastRetention + this.#prune(now);
    this.#unsubscribe = storeCallSync('subscribe', () => store.subscribe?.((change) => this.#change(change)));
    const warnings = [...(storeCallSync('warnings', () => store.warnings?.()) ?? []), ...problems.map((p) => `skipped ${p}`)];
    this.#journal({
      at: now,
      type: 'start',
      detail: `loaded ${records.length}, kept ${this.#index.size}, pruned ${pruned}, in-flight at crash ${pending.length}${warnings.length ? `; ${warnings.join('; ')}` : ''}`,
    });
  }

  // ── evaluation ────────────────────────────────────────────────────────

  /**
   * Evaluate a sale before submitting it. On `allow`, reserves a `pending`
   * attempt synchronously (so a concurrent `begin` of the same sale sees it)
   * and persists it before resolving: pass `attempt.idempotencyKey` to the processor.
   */
  async begin(sale: Sale): Promise<Decision> {
    // Async so bad input rejects rather than throws; everything up to the
    // reservation still runs synchronously, before the first await.
    return this.#decide(this.#facts(sale), { reserve: true });
  }

  /** The same evaluation as `begin`, without reserving or recording anything. */
  async peek(sale: Sale): Promise<Decision> {
    return this.#decide(this.#facts(sale), { reserve: false });
  }

  /**
   * Proceed despite a `prompt` (operator + reason) or an overridable `block`
   * (the guard's `authorize` must answer `true`). The sale is re-evaluated:
   * the override lifts only the reason codes it was shown.
   */
  async override(decision: Decision, request: OverrideRequest): Promise<Decision> {
    this.#assertOpen();
    const context = typeof decision === 'object' && decision !== null ? this.#decisions.get(decision) : undefined;
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
        { field: 'decision' },
      );
    }
    // Read once, checked, card data masked: what authorize sees is what is recorded.
    const { operator, reason, supervisor } = readOverrideRequest(request);
    // One confirmation, one charge: the decision is taken before the first
    // await, so a second tap (or a second supervisor PIN entry) while this one
    // waits for `authorize` or the store finds it gone. It is given back only
    // if this override reserved nothing.
    this.#decisions.delete(decision);
    let result: Decision | undefined;
    try {
      if (context.verdict === 'block') await this.#authorize(decision, operator, reason, supervisor);
      const who = { operator, reason, ...(supervisor === undefined ? {} : { supervisor }) };
      // A frozen copy: the note, the journal and listeners must not share (or change) the guard's list.
      const lifted: readonly ReasonCode[] = Object.freeze([...context.codes]);
      const note: OverrideNote = { ...who, lifted };
      result = await this.#decide(context.sale, { reserve: true, lifted, override: note });
      if (result.attempt) {
        this.#journal({ at: this.#now(), type: 'override', attemptId: result.attempt.id, codes: lifted, ...who });
        this.#events.emit({ type: 'override', decision: result, lifted, ...who });
      }
      return result;
    } finally {
      if (!result?.attempt && !this.#closed) this.#decisions.set(decision, context);
    }
  }

  async #authorize(decision: Decision, operator: string, reason: string, supervisor: string | undefined): Promise<void> {
    let answer: unknown = false;
    try {
      answer = this.#o.authorize ? await this.#o.authorize({ decision, operator, reason, supervisor }) : false;
    } catch (error) {
      throw new GuardOverrideError('NOT_AUTHORIZED', 'the supervisor check threw: override refused', { cause: error });
    }
    if (answer !== true) {
      throw new GuardOverrideError(
        'NOT_AUTHORIZED',
        this.#o.authorize
          ? 'the supervisor check did not authorise this override'
          : 'overriding a block needs an `authorize` function in createGuard options',
      );
    }
  }

  #facts(input: Sale): SaleFacts {
    const sale = validateSale(input, this.#o);
    const cardKey = this.#hasher.cardKey(sale.card.material);
    const { card, ...rest } = sale;
    const facts: SaleFacts = {
      ...rest,
      fingerprint: this.#hasher.fingerprint({
        merchantId: sale.merchantId,
        kind: sale.kind,
        currency: sale.currency,
        amount: sale.amount,
        cardKey,
      }),
    };
    if (card.bin !== undefined) facts.bin = card.bin;
    if (card.last4 !== undefined) facts.last4 = card.last4;
    return facts;
  }

  /**
   * Brings into memory what a rule about `sale` reads beyond the hot
   * records, from a store that keeps history: the live records on its order
   * and a refund's original. Awaits only when there is something to read.
   * The records stay until the next sweep; a version memory holds wins.
   */
  #recallFor(sale: RecallKeys): Promise<void> | undefined {
    return this.#readFor(sale)?.then((records) => {
      this.#recall(records);
      this.#assertOpen();
    });
  }

  /** What `#recallFor` reads, not yet taken into memory; `undefined` when there is nothing to read. */
  #readFor({ merchantId, orderId, refundOf }: RecallKeys): Promise<(AttemptRecord | undefined)[]> | undefined {
    const history = this.#history;
    // Read even when memory holds them now: a sweep before they are used may take them out.
    if (!history || (orderId === undefined && refundOf === undefined)) return undefined;
    return Promise.all([
      orderId === undefined ? [] : this.#storeCall('byOrder', () => history.byOrder(merchantId, orderId)),
      refundOf === undefined ? undefined : this.#storeCall('get', () => history.get(refundOf)),
    ]).then(([onOrder, sold]) => [...onOrder, sold]);
  }

  /** Records read back from the store's history, into memory unless memory holds a version of them. */
  #recall(stored: readonly (AttemptRecord | undefined)[]): void {
    const now = this.#now();
    for (const record of stored) {
      if (record === undefined || recordProblem(record) !== undefined || this.#index.get(record.id) !== undefined) continue;
      const recalled = this.#time.fromWall(makeRecord(record));
      // Past retention, and not pruned from the store yet: gone already.
      if (this.#index.deadline(recalled) > now) this.#index.add(recalled);
      else this.#pruneHistory(now);
    }
  }

  /** A refund in another currency than its sale cannot be weighed against it. */
  #checkRefundCurrency(sale: SaleFacts): void {
    const original = sale.refundOf === undefined ? undefined : this.#index.get(sale.refundOf);
    if (original !== undefined && original.currency !== sale.currency) {
      throw new GuardInputError(
        'INVALID_SALE',
        `\`currency\` must be the refunded sale's currency (${original.currency}) for a refund of it`,
        { field: 'currency' },
      );
    }
  }

  async #decide(sale: SaleFacts, mode: DecideMode): Promise<Decision> {
    this.#assertOpen();
    // From here to the reservation nothing awaits, unless history must be read first.
    let unread: Finding | undefined;
    let recalled: readonly (AttemptRecord | undefined)[] = [];
    const reading = this.#readFor(sale);
    if (reading) {
      try {
        recalled = await reading;
      } catch (error) {
        if (isGuardError(error) && !(error instanceof GuardStorageError)) throw error;
        // The store could not answer: decide on what memory holds, under onStorageError.
        this.#storageError(error, 'load');
        unread = { code: 'STORAGE_UNAVAILABLE', facts: {} };
      }
      this.#assertOpen();
    }
    const now = this.#now();
    this.#prune(now);
    // After the sweep, which would take them out of memory again.
    this.#recall(recalled);
    this.#checkRefundCurrency(sale);
    const findings = evaluate(sale, this.#index, now, this.#o);
    if (unread && !(mode.lifted ?? []).includes('STORAGE_UNAVAILABLE')) {
      const policy = this.#o.onStorageError;
      const shown = findings.filter((f) => VERDICT_OF[f.code] !== undefined).map((f) => f.code);
      const lifts = [...new Set([...(mode.lifted ?? []), ...shown, 'STORAGE_UNAVAILABLE' as const])];
      if (policy !== 'allow') {
        return this.#issue(sale, now, {
          verdict: strictest([policy, ...findings.map((f) => VERDICT_OF[f.code])]),
          findings: [...findings, unread],
          lifts,
          peek: !mode.reserve,
        });
      }
      findings.push(unread);
    }
    const anomaly = this.#clockCheck(now);
    if (anomaly) findings.push(anomaly);
    if (mode.warnings) findings.push(...mode.warnings);
    const lifted = mode.lifted ?? [];
    // An override lifts the codes it was shown. Any other reason makes this a
    // fresh decision that stands on its own, with every reason and its own
    // verdict, so lifting a prompt can never carry a block along with it.
    const unlifted = findings.some(standsAgainst(lifted));
    if (unlifted || !mode.reserve) {
      return this.#issue(sale, now, { verdict: strictest(findings.map((f) => VERDICT_OF[f.code])), findings, peek: !mode.reserve });
    }
    const shown = findings.filter((f) => VERDICT_OF[f.code] === undefined); // warnings ride along

    // Reserve before the first await: a concurrent begin of the same sale in
    // this process now finds it and gets IN_FLIGHT.
    const record = this.#newRecord(sale, now, mode.override);
    this.#index.add(record);
    const failure = await this.#reserve(record, (related) => {
      // Inside the store's transaction: take in what other tabs wrote, judge again.
      for (const other of related) if (other.id !== record.id) this.#adopt(other);
      return !evaluate(sale, excluding(this.#index, record.id), now, this.#o).some(standsAgainst(lifted));
    });
    if (failure === undefined) {
      this.#charging.set(record.id, undefined);
      return this.#issue(sale, now, { verdict: 'allow', findings: shown, record });
    }
    if (failure === 'refused') {
      // Another tab's records stand against the sale; they are in the index
      // now, so deciding again gives its reasons. Once: never loop.
      this.#index.remove(record.id);
      if (!mode.retried) return this.#decide(sale, { ...mode, retried: true, warnings: shown });
      const held: Finding = { code: 'IN_FLIGHT', facts: { amount: sale.amount, currency: sale.currency } };
      return this.#issue(sale, now, { verdict: 'block', findings: [...shown, held] });
    }
    const storageFinding: Finding = { code: 'STORAGE_UNAVAILABLE', facts: {} };
    const policy = lifted.includes('STORAGE_UNAVAILABLE') ? 'allow' : this.#o.onStorageError;
    if (policy === 'allow') {
      // Proceed on memory only: the attempt still guards this process, and
      // other tabs are told of it so that they hold the sale too.
      this.#unpersisted.add(record.id);
      this.#charging.set(record.id, undefined);
      this.#o.store.announce?.(this.#time.toWall(record));
      return this.#issue(sale, now, { verdict: 'allow', findings: [...shown, storageFinding], record });
    }
    this.#index.remove(record.id);
    // What the operator already lifted stays lifted: overriding this decision
    // must not bring the earlier prompt back, round after round.
    const lifts = [...new Set([...lifted, 'STORAGE_UNAVAILABLE' as const])];
    return this.#issue(sale, now, { verdict: policy, findings: [...shown, storageFinding], lifts });
  }

  /**
   * Persist a reservation: through the store's atomic claim where several
   * tabs or processes share it (`judge` decides inside it), else by `put`.
   * `undefined` on success.
   */
  async #reserve(record: AttemptRecord, judge: (related: AttemptRecord[]) => boolean): Promise<undefined | 'refused' | { error: unknown }> {
    const { store } = this.#o;
    try {
      if (store.claim) {
        const claim = store.claim.bind(store);
        const stored = this.#time.toWall(record);
        const written = await this.#write(() => claim(claimOf(record), (related) => (judge(related) ? [stored] : undefined)));
        return written ? undefined : 'refused';
      }
      await this.#write(() => store.put(this.#time.toWall(record)));
      return undefined;
    } catch (error) {
      this.#storageError(error, 'put');
      return { error };
    }
  }

  /**
   * Turns findings into the Decision the caller gets, and remembers what an
   * override of it may lift (`lifts`: by default its blocking and prompting
   * codes).
   */
  #issue(sale: SaleFacts, now: number, issued: Issued): Decision {
    const { verdict, findings, record, peek = false } = issued;
    const reasons: Reason[] = findings.map((f) => {
      const reason: Reason = { code: f.code, message: reasonMessage(this.#o.locale, f.code, f.facts) };
      if (f.attemptId !== undefined) reason.attemptId = f.attemptId;
      if (f.ageMs !== undefined) reason.ageMs = f.ageMs;
      return Object.freeze(reason);
    });
    const decision: Decision = { verdict, reasons: Object.freeze(reasons) as Reason[], fingerprint: sale.fingerprint };
    if (record) decision.attempt = this.#handle(record);
    Object.freeze(decision);
    if (verdict !== 'allow') {
      const codes = issued.lifts ?? findings.filter((f) => VERDICT_OF[f.code] !== undefined).map((f) => f.code);
      this.#decisions.set(decision, { sale, verdict, codes });
      if (!peek) {
        this.#journal({
          at: now,
          type: 'decision',
          verdict,
          codes: reasons.map((r) => r.code),
          amount: sale.amount,
          ...(sale.operator ? { operator: sale.operator } : {}),
        });
      }
    }
    if (this.#events.has('decision')) this.#events.emit({ type: 'decision', decision, peek });
    return decision;
  }

  #newRecord(sale: SaleFacts, now: number, override: OverrideNote | undefined): AttemptRecord {
    const id = randomId('pdg_', 12);
    // makeRecord leaves out the optional fields the sale does not have.
    return makeRecord({
      ...sale,
      v: 1,
      id,
      // The id doubles as the idempotency key: 96 random bits, URL-safe,
      // fixed for the attempt's life, and one string less per attempt.
      idempotencyKey: id,
      status: 'pending',
      createdAt: now,
      updatedAt: now,
      pendingSince: now,
      refunded: 0,
      override,
    });
  }

  #clockCheck(now: number): Finding | undefined {
    const wall = this.#time.lastWall;
    const mono = this.#time.monotonicOf(now);
    const driftMs = wall - this.#lastWall - (mono - this.#lastMono);
    this.#lastWall = wall;
    this.#lastMono = mono;
    if (Math.abs(driftMs) <= CLOCK_ANOMALY_MS) return undefined;
    this.#journal({ at: now, type: 'clock-anomaly', detail: `wall clock moved ${driftMs} ms against the monotonic clock` });
    this.#events.emit({ type: 'clock-anomaly', driftMs });
    return { code: 'CLOCK_ANOMALY', facts: { driftMs } };
  }

  // ── lifecycle ─────────────────────────────────────────────────────────

  /**
   * Record what happened to an attempt. Illegal transitions throw
   * `GuardStateError` and change nothing; settling to the current status is a
   * no-op (a retried call). Works after a restart, by id.
   */
  async settle(attemptId: string, outcome: Outcome): Promise<AttemptRecord> {
    return this.#settle(attemptId, outcome, false);
  }

  /**
   * `processor`: the outcome is the processor's own answer to a charge this
   * guard submitted. It is the truth about the money: an approval stands
   * over a `cancelled` or `declined` someone recorded meanwhile (the PIN pad's
   * Cancel, a check that found nothing yet), and the journal says so.
   */
  async #settle(attemptId: string, outcome: Outcome, processor: boolean): Promise<AttemptRecord> {
    this.#assertOpen();
    const valid = validateOutcome(outcome);
    const found = this.#find(attemptId);
    const current = found instanceof Promise ? await found : found;
    const now = this.#now();
    const from = this.#statusOf(current, now);
    if (valid.status === 'refunded' ? from === 'refunded' && valid.amount === undefined : from === valid.status) {
      // A retried settle changes nothing, but is the moment to write what
      // an earlier storage failure left in memory only, and to repair a
      // refund's original whose update was lost.
      await this.#repairRefund(current, now);
      return this.#view(current, now);
    }
    let plan = this.#plan(current, from, valid, now, processor);
    const { store } = this.#o;
    const claim = store.claim?.bind(store);
    if (claim && plan.sale) {
      // A sale's refunded sum is read and written in one step where tabs
      // share the store: another tab's refund of the same sale, approved a
      // moment ago, is counted, not overwritten.
      let settledThere = false;
      const written = await this.#write(() =>
        // The sale, this attempt, and the sale's refunds in flight in other tabs.
        claim({ keys: [refundKey(plan.sale as string)], ids: [attemptId, plan.sale as string] }, (related) => {
          for (const other of related) this.#adopt(other);
          const fresh = this.#require(attemptId);
          const status = this.#statusOf(fresh, now);
          // Another tab settled it the same way meanwhile: a retried settle.
          if (valid.status !== 'refunded' && status === valid.status) return void (settledThere = true);
          plan = this.#plan(fresh, status, valid, now, processor);
          return plan.changes.map((record) => this.#time.toWall(record));
        }),
      ).then(
        () => true,
        (error: unknown) => {
          if (isGuardError(error) && !(error instanceof GuardStorageError)) throw error;
          return false; // a storage failure: written below, kept in memory if that fails too
        },
      );
      if (settledThere) return this.#view(this.#require(attemptId), now);
      for (const record of plan.changes) this.#index.add(record);
      if (!written) await this.#persist(plan.changes);
    } else {
      for (const record of plan.changes) this.#index.add(record);
      await this.#persist(plan.changes);
    }
    const [record] = plan.changes as [AttemptRecord];
    if (processor && record.status === 'approved' && (from === 'cancelled' || from === 'declined')) {
      this.#journal({
        at: now,
        type: 'settle',
        attemptId,
        from,
        to: 'approved',
        detail: `the processor approved this charge after it was settled '${from}': recorded as approved`,
      });
    }
    const overruled = this.#charging.get(attemptId);
    this.#charging.delete(attemptId);
    this.#recovered.delete(attemptId);
    if (overruled !== undefined) {
      this.#journal({
        at: now,
        type: 'settle',
        attemptId,
        from: overruled,
        to: record.status,
        detail: `another tab had settled it '${overruled}' while this one was charging it; the processor answered '${valid.status}' here`,
      });
    }
    if (plan.over) this.#reportOver(plan.over);
    this.#journal({
      at: now,
      type: 'settle',
      attemptId,
      from,
      to: record.status,
      ...(valid.status === 'refunded' ? { amount: record.refunded - current.refunded } : {}),
    });
    this.#events.emit({ type: 'settle', record: this.#time.toWall(record), from });
    return this.#view(record, now);
  }

  /**
   * What a settle writes: the attempt, and the sale whose refunded sum it
   * moves (`sale`: that sale's id). Throws on an illegal transition or a
   * refund beyond what remains; reads only the index, so it can run again
   * inside a store transaction with what other tabs wrote.
   */
  #plan(
    current: AttemptRecord,
    from: AttemptStatus,
    valid: Outcome,
    now: number,
    processor = false,
  ): { changes: AttemptRecord[]; sale?: string; over?: ReturnType<typeof overRefund> } {
    if (valid.status === 'refunded') {
      if (current.kind !== 'sale') this.#illegal(current, from, 'refunded', 'only a sale can be refunded');
      if (from !== 'approved') this.#illegal(current, from, 'refunded');
      // Refund attempts of this sale whose outcome is open may have paid out: they count as refunded (SPEC §3).
      const amount = externalRefund(current, valid.amount, this.#index.openRefundsOf(current.id));
      return { changes: [refundedBy(current, amount, now)], sale: current.id };
    }
    const correction = processor && valid.status === 'approved' && (from === 'cancelled' || from === 'declined');
    if (!canTransition(from, valid.status) && !correction) this.#illegal(current, from, valid.status);
    // A void returns the whole charge: after a refund it would return money twice.
    if (
      valid.status === 'voided' &&
      current.kind === 'sale' &&
      (current.refunded > 0 || this.#index.openRefundsOf(current.id).length > 0)
    ) {
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
    if (this.#charging.get(current.id) === 'voided' && status === 'approved') next = withChanges(next, { status: 'voided' });
    // A refund attempt moves its original sale's refunded sum: approved
    // adds to it, voided (a reversal) takes it back.
    const saleId = current.kind === 'refund' && (status === 'approved' || status === 'voided') ? current.refundOf : undefined;
    const original = saleId === undefined ? undefined : this.#index.get(saleId);
    const updated = !original ? undefined : status === 'approved' ? applyRefund(original, next, now) : revokeRefund(original, next, now);
    // Paid out beyond what remained on the sale: kept and reported, never counted as 0 (see applyRefund).
    const over = original && updated && status === 'approved' ? overRefund(original, updated, next, now) : undefined;
    return { changes: updated ? [next, updated] : [next], ...(saleId === undefined ? {} : { sale: saleId }), ...(over ? { over } : {}) };
  }

  /** An over-refund: journaled, and the sale's settle emitted with wall-clock times. */
  #reportOver(over: NonNullable<ReturnType<typeof overRefund>>): void {
    this.#journal(over.entry);
    const { event } = over;
    this.#events.emit(event.type === 'settle' ? { ...event, record: this.#time.toWall(event.record) } : event);
  }

  /** Makes sure an approved refund attempt is counted on its original (idempotent), and retries unpersisted writes. */
  async #repairRefund(record: AttemptRecord, now: number): Promise<void> {
    // Its original is in memory: recalled from history by the caller.
    const original =
      record.kind === 'refund' && record.status === 'approved' && record.refundOf !== undefined
        ? this.#index.get(record.refundOf)
        : undefined;
    const updated = original && applyRefund(original, record, now);
    if (updated) this.#index.add(updated);
    if (updated || this.#unpersisted.size > 0) await this.#persist(updated ? [updated] : []);
    const over = original && updated && overRefund(original, updated, record, now);
    if (over) this.#reportOver(over);
  }

  /**
   * Put an `unknown` attempt back to `pending` with the same idempotency key:
   * the safe retry after a timeout, deduplicated by the processor.
   */
  async resume(attemptId: string): Promise<Attempt> {
    this.#assertOpen();
    const found = this.#find(attemptId);
    const held = found instanceof Promise ? await found : found;
    // The rules read its order's payments, as for a new begin of its sale.
    const reading = this.#recallFor(held);
    if (reading) await reading;
    const now = this.#now();
    const current = this.#require(attemptId);
    const from = this.#statusOf(current, now);
    if (!canTransition(from, 'pending')) this.#illegal(current, from, 'pending', "only an 'unknown' attempt can be resumed");
    this.#refuseResume(current, now);
    const record = withChanges(current, { status: 'pending', pendingSince: now, updatedAt: now });
    // Reserved before the first await, as a begin is: a second resume finds it pending.
    this.#index.add(record);
    const stored = this.#recovered.get(current.id) ?? this.#time.toWall(current);
    let theirs: AttemptRecord | undefined;
    const failure = await this.#reserve(record, (related) => {
      for (const other of related) {
        // Another tab resumed or settled this very attempt since this one read it.
        if (other.id === current.id) theirs = sameVersion(other, stored) ? undefined : other;
        else this.#adopt(other);
      }
      return theirs === undefined && resumeFindings(current, this.#index, now, this.#o).length === 0;
    });
    if (failure === 'refused') {
      this.#index.add(current);
      if (theirs) this.#adopt(theirs);
      const status = this.#statusOf(this.#index.get(current.id) ?? current, now);
      if (status !== 'unknown') {
        throw new GuardStateError(
          status === 'pending' ? 'IN_FLIGHT' : 'INVALID_TRANSITION',
          `attempt ${current.id} was ${status === 'pending' ? 'resumed' : `settled '${status}'`} in another tab or process meanwhile`,
          { field: 'attemptId' },
        );
      }
      this.#refuseResume(current, now);
      throw new GuardStateError('IN_FLIGHT', `attempt ${current.id} cannot be resumed: another tab holds its sale`, { field: 'attemptId' });
    }
    if (failure !== undefined) {
      // Kept in memory, retried on the next write; other tabs are told of it.
      this.#unpersisted.add(record.id);
      this.#o.store.announce?.(this.#time.toWall(record));
    }
    this.#charging.set(record.id, undefined);
    this.#recovered.delete(record.id);
    this.#journal({ at: now, type: 'resume', attemptId, from, to: 'pending' });
    this.#events.emit({ type: 'resume', record: this.#time.toWall(record) });
    return this.#handle(record);
  }

  /**
   * Refuses to resume `record` when the rules stand against it as they would
   * against a new begin of its sale (see resumeFindings): resuming would put a
   * second charge in flight, or charge again what was paid since.
   */
  #refuseResume(record: AttemptRecord, now: number): void {
    const findings = resumeFindings(record, this.#index, now, this.#o);
    const first = findings.find((f) => f.code === 'IN_FLIGHT') ?? findings.find((f) => VERDICT_OF[f.code] === 'block') ?? findings[0];
    if (!first) return;
    const other = first.attemptId === undefined ? '' : ` (attempt ${first.attemptId})`;
    const why =
      first.code === 'IN_FLIGHT'
        ? 'is being charged right now: wait for its result'
        : 'stands against it: a new charge of this sale goes through begin and its confirmation';
    throw new GuardStateError(
      first.code,
      `attempt ${record.id} cannot be resumed: ${first.code}${other} ${why}. ${reasonMessage(this.#o.locale, first.code, first.facts)}`,
      { field: 'attemptId' },
    );
  }

  /** A snapshot of one attempt, or `undefined`. A stale `pending` reads `unknown`. */
  async get(attemptId: string): Promise<AttemptRecord | undefined> {
    this.#assertOpen();
    const history = this.#history;
    if (this.#index.get(attemptId) === undefined && history && typeof attemptId === 'string' && !containsCardNumber(attemptId)) {
      this.#recall([await this.#storeCall('get', () => history.get(attemptId))]);
      this.#assertOpen();
    }
    const record = this.#index.get(attemptId);
    return record && this.#view(record, this.#now());
  }

  /** Attempts matching a filter, oldest first; `{ status: 'unknown' }` lists what needs reconciling. */
  async attempts(filter: AttemptFilter = {}): Promise<AttemptRecord[]> {
    this.#assertOpen();
    if (typeof filter !== 'object' || filter === null) {
      throw new GuardInputError(
        'INVALID_FILTER',
        `\`filter\` must be an object such as { status: 'unknown' }, got ${describeValue(filter)}`,
        { field: 'filter' },
      );
    }
    filter = snapshot(filter, { status: 'ref' }, { root: 'filter', prefix: 'filter.' }, (field, error) => {
      throw new GuardInputError('INVALID_FILTER', unreadableMessage(field), { field, cause: error });
    }) as AttemptFilter;
    const statuses = filter.status === undefined ? undefined : new Set(Array.isArray(filter.status) ? filter.status : [filter.status]);
    // Open attempts are all in memory; anything else may be in the store's history too.
    const history = this.#history && (!statuses || [...statuses].some((status) => !isOpen(status))) ? this.#history : undefined;
    const stored = history ? await this.#storeCall('load', () => history.load()) : [];
    this.#assertOpen();
    const now = this.#now();
    this.#prune(now);
    const records = new Map<string, AttemptRecord>();
    for (const record of stored) {
      const held = recordProblem(record) === undefined ? this.#time.fromWall(record) : undefined;
      // Past retention, and not pruned from the store yet: gone already.
      if (held && this.#index.deadline(held) > now) records.set(held.id, held);
      else if (held) this.#pruneHistory(now);
    }
    // What memory holds is this guard's latest version.
    for (const record of this.#index.values()) records.set(record.id, record);
    const out: AttemptRecord[] = [];
    for (const held of records.values()) {
      const record = this.#view(held, now);
      if (statuses && !statuses.has(record.status)) continue;
      if (filter.merchantId !== undefined && record.merchantId !== filter.merchantId) continue;
      if (filter.orderId !== undefined && record.orderId !== filter.orderId) continue;
      if (filter.kind !== undefined && record.kind !== filter.kind) continue;
      out.push(record);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  // ── one-call path ─────────────────────────────────────────────────────

  /**
   * begin → confirm a prompt / escalate a block → submit → settle. A throw or
   * a timeout in `submit` settles as `unknown`: the charge may have gone
   * through. If a timed-out submit answers later, its answer is recorded.
   */
  async charge(sale: Sale, submit: (attempt: Attempt) => Promise<SubmitResult>, options: ChargeOptions = {}): Promise<ChargeResult> {
    const resolved = resolveChargeOptions(options, this.#o.pendingTimeoutMs);
    if (typeof submit !== 'function') {
      throw new GuardInputError('INVALID_SUBMIT', `\`submit\` must be a function, got ${describeValue(submit)}`, { field: 'submit' });
    }
    let decision = await this.begin(sale);
    // An override can surface a new reason (SPEC §4), so ask again, a few times at most.
    for (let round = 0; round < 3 && decision.verdict !== 'allow'; round++) {
      const next = await this.#ask(decision, resolved);
      if (next === undefined) return { status: decision.verdict === 'prompt' ? 'not-confirmed' : 'blocked', decision };
      decision = next;
    }
    const attempt = decision.attempt;
    if (!attempt) return { status: decision.verdict === 'prompt' ? 'not-confirmed' : 'blocked', decision };
    const answer = await settleWithin(
      Promise.resolve().then(() => submit(attempt)),
      resolved.timeoutMs,
      this.#o.scheduler,
    );
    // Whatever submit did, the attempt is settled and charge resolves (SPEC §4):
    // a detail that cannot be kept is cut or dropped, and the journal says so.
    const { outcome, notes } = settlementOf(answer, resolved.timeoutMs);
    const { record, applied } = await this.#settleOrKeep(attempt.id, outcome);
    for (const detail of applied ? notes : []) this.#journal({ at: this.#now(), type: 'settle', attemptId: attempt.id, detail });
    if (answer.timedOut) answer.late.then((late) => this.#lateAnswer(attempt.id, late)).catch(() => undefined);
    return { status: chargeStatus(record.status), decision, attempt: record };
  }

  /** The override a prompt or block gets in `charge`, or `undefined` to stop. */
  async #ask(decision: Decision, options: ResolvedChargeOptions): Promise<Decision | undefined> {
    if (decision.verdict === 'prompt') {
      const answer = options.confirm
        ? await callback('confirm', () => (options.confirm as NonNullable<typeof options.confirm>)(decision))
        : false;
      if (answer === false) return undefined;
      // The operator the sale was validated with: the caller's object is not read twice.
      const operator = this.#decisions.get(decision)?.sale.operator ?? 'cashier';
      const request = answer === true ? { operator, reason: 'confirmed at the till' } : answer;
      return this.override(decision, request);
    }
    const fixed = decision.reasons.some((r) => !isLiftable(r.code));
    const request =
      !fixed && options.escalate
        ? await callback('escalate', () => (options.escalate as NonNullable<typeof options.escalate>)(decision))
        : false;
    if (!request) return undefined;
    try {
      return await this.override(decision, request);
    } catch (error) {
      if (error instanceof GuardOverrideError) return undefined;
      throw error;
    }
  }

  async #lateAnswer(attemptId: string, late: unknown): Promise<void> {
    // Read like a timely answer: a late approval with odd details is still an approval.
    const settlement = answerOutcome(late);
    const owner = this.#closed ? undefined : owners.get(this.#o.store);
    if (owner !== this) return owner === undefined ? undefined : owner.#lateAnswer(attemptId, late);
    if (settlement === undefined) return;
    const current = this.#index.get(attemptId);
    const status = current && this.#statusOf(current, this.#now());
    const correction = settlement.outcome.status === 'approved' && (status === 'cancelled' || status === 'declined');
    if (status === 'unknown' || correction) {
      await this.#settle(attemptId, settlement.outcome, true);
      for (const detail of settlement.notes) this.#journal({ at: this.#now(), type: 'settle', attemptId, detail });
    } else if (status !== undefined && status !== settlement.outcome.status) {
      // Settled otherwise meanwhile (a check with the processor found nothing
      // yet): the processor's own answer disagrees. It cannot be applied, and
      // must not be lost: an approval here is money taken, probably twice.
      const answer = settlement.outcome.status;
      this.#journal({
        at: this.#now(),
        type: 'settle',
        attemptId,
        from: status,
        detail: `late answer from the processor: '${answer}', after the attempt was settled '${status}'; check the processor's records`,
      });
      this.#events.emit({ type: 'late-answer', attemptId, answer, status });
    }
  }

  /**
   * Records a processor answer for an attempt this guard submitted. If
   * another guard took the store over meanwhile (SPEC §6), the answer is in
   * hand, so it goes to that guard rather than being lost with this one.
   */
  async #settleAnswer(attemptId: string, outcome: Outcome): Promise<AttemptRecord> {
    return this.#owner().#settle(attemptId, outcome, true);
  }

  /**
   * Settles `charge`'s attempt with the processor's answer. Where that answer
   * cannot apply (the attempt was reversed meanwhile), what is recorded
   * stands, the disagreement is journaled (`#kept`), and `applied` is false.
   */
  async #settleOrKeep(attemptId: string, outcome: Outcome): Promise<{ record: AttemptRecord; applied: boolean }> {
    try {
      return { record: await this.#settleAnswer(attemptId, outcome), applied: true };
    } catch (error) {
      const current =
        error instanceof GuardStateError && error.code === 'INVALID_TRANSITION' ? await this.#owner().#kept(attemptId, outcome) : undefined;
      if (current === undefined) throw error;
      return { record: current, applied: false };
    }
  }

  /** A processor answer that cannot be applied (a voided attempt approved): kept as it is, and said. */
  async #kept(attemptId: string, answer: Outcome): Promise<AttemptRecord | undefined> {
    const record = await this.get(attemptId);
    if (record && record.status !== answer.status) {
      this.#journal({
        at: this.#now(),
        type: 'settle',
        attemptId,
        from: record.status,
        detail: `the processor answered '${answer.status}' after the attempt was settled '${record.status}'; check the processor's records`,
      });
      this.#events.emit({ type: 'late-answer', attemptId, answer: answer.status, status: record.status });
    }
    return record;
  }

  /** This guard, or the one that took its store over since (unless this one was closed). */
  #owner(): Guard {
    const owner = owners.get(this.#o.store);
    return owner !== undefined && !this.#closed ? owner : this;
  }

  // ── events, shutdown ──────────────────────────────────────────────────

  /** Observe the guard: `decision`, `override`, `settle`, `resume`, `storage-error`, `clock-anomaly`, `prune`, `late-answer`, `listener-error`. Returns an unsubscribe. */
  on<T extends GuardEventType>(type: T, listener: Listener<T>): () => void {
    return this.#events.on(type, listener);
  }

  /** Waits for pending writes and closes the store. Further calls throw `GuardStateError`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#unsubscribe?.();
    } catch {
      // The store's own unsubscribe failing must not keep the guard open.
    }
    await Promise.all(this.#inflight);
    this.#events.clear();
    if (owners.get(this.#o.store) === this) {
      owners.delete(this.#o.store);
      const { store } = this.#o;
      await this.#storeCall('close', async () => store.close?.());
    }
  }

  // ── internals ─────────────────────────────────────────────────────────

  /** The status a record reports now: a stale `pending` reads `unknown`. */
  #statusOf(record: AttemptRecord, now: number): AttemptStatus {
    return statusAt(record, now, this.#o.pendingTimeoutMs);
  }

  #now(): number {
    // Whole milliseconds: records and ages stay integers, in storage and in messages.
    return this.#time.now();
  }

  #assertOpen(): void {
    if (this.#closed) throw new GuardStateError('CLOSED', 'this guard is closed');
    if (owners.get(this.#o.store) !== this) {
      throw new GuardStateError('TAKEN_OVER', 'another guard was created over this store and took it over; use that one');
    }
  }

  /** The attempt `attemptId` if memory holds it; a bad id throws. */
  #held(attemptId: string): AttemptRecord | undefined {
    if (typeof attemptId !== 'string') {
      throw new GuardInputError('INVALID_ATTEMPT_ID', `\`attemptId\` must be a string, got ${describeValue(attemptId)}`, {
        field: 'attemptId',
      });
    }
    // Attempt ids are the guard's own: one holding a card number was never issued, and is not quoted back.
    if (containsCardNumber(attemptId)) {
      throw new GuardInputError('INVALID_ATTEMPT_ID', `\`attemptId\` ${NO_CARD_NUMBER}`, { field: 'attemptId' });
    }
    return this.#index.get(attemptId);
  }

  /** The attempt `attemptId`, from memory or else the store's history; throws if there is none. */
  #require(attemptId: string): AttemptRecord {
    const record = this.#held(attemptId);
    if (!record) {
      throw new GuardStateError('UNKNOWN_ATTEMPT', `no attempt ${quote(attemptId)}: never begun here, or pruned after retention`, {
        field: 'attemptId',
      });
    }
    return record;
  }

  /**
   * `#require`, reading the store's history when memory does not hold the
   * attempt, and for a refund its original sale too. Awaits nothing for a
   * hot attempt, so a settle of one still runs synchronously up to its write.
   */
  #find(attemptId: string): AttemptRecord | Promise<AttemptRecord> {
    const held = this.#held(attemptId);
    const history = this.#history;
    if (held) {
      const reading = held.kind === 'refund' ? this.#recallFor({ merchantId: held.merchantId, refundOf: held.refundOf }) : undefined;
      return reading ? reading.then(() => this.#require(attemptId)) : held;
    }
    if (!history) return this.#require(attemptId);
    return this.#storeCall('get', () => history.get(attemptId)).then(async (stored) => {
      this.#recall([stored]);
      this.#assertOpen();
      const record = this.#require(attemptId);
      await this.#recallFor({ merchantId: record.merchantId, refundOf: record.refundOf });
      return this.#require(attemptId);
    });
  }

  #illegal(record: AttemptRecord, from: AttemptStatus, to: AttemptStatus, why?: string): never {
    throw new GuardStateError('INVALID_TRANSITION', `attempt ${record.id} cannot go from '${from}' to '${to}'${why ? `: ${why}` : ''}`, {
      field: 'status',
    });
  }

  /** What callers see: a stale `pending` reads `unknown`, times are wall-clock times. */
  #view(record: AttemptRecord, now: number): AttemptRecord {
    const status = this.#statusOf(record, now);
    return this.#time.toWall(status === record.status ? record : withChanges(record, { status }));
  }

  #handle(record: AttemptRecord): Attempt {
    return new AttemptHandle(record, this, (id) => {
      const current = this.#index.get(id);
      return current && this.#statusOf(current, this.#now());
    });
  }

  #prune(now: number): number {
    const gone = this.#index.expire(now, { pinned: (id) => this.#unpersisted.has(id) });
    const { store } = this.#o;
    if (now >= this.#nextHistoryPrune) this.#pruneHistory(now);
    if (gone.length === 0) return 0;
    for (const record of gone) {
      this.#charging.delete(record.id);
      this.#announced.delete(record.id);
      this.#recovered.delete(record.id);
      void this.#write(() => store.delete(record.id)).catch((error) => this.#storageError(error, 'delete'));
      if (isOpen(record.status)) {
        // An outcome nobody reconciled in 7 days: say so, loudly.
        this.#journal({ at: now, type: 'prune', attemptId: record.id, from: record.status, detail: 'unreconciled after 7 days' });
        this.#events.emit({ type: 'prune', attemptId: record.id, status: record.status });
      }
    }
    return gone.length;
  }

  /**
   * Asks a store with history to delete what retention let go: once a
   * minute, and at once when a lookup met such a record (it is never used).
   */
  #pruneHistory(now: number): void {
    const history = this.#history;
    if (!history) return;
    this.#nextHistoryPrune = now + HISTORY_PRUNE_EVERY_MS;
    // Expired at `updatedAt + retention <= now`: strictly before the next millisecond.
    const before = this.#time.wallOf(now - this.#o.retentionMs) + 1;
    void this.#write(() => history.prune(before)).catch((error) => this.#storageError(error, 'prune'));
  }

  /** What a shared store says another tab or process changed. */
  #change(change: StoreChange): void {
    if (this.#closed) return;
    if (change.type === 'record') this.#adopt(change.record);
    else if (change.type === 'unpersisted') this.#adoptAnnounced(change.record);
    else void this.#restore(change.detail);
  }

  /** A record another tab or process wrote: take it into the index. */
  #adopt(record: AttemptRecord): void {
    if (this.#closed) return;
    const now = this.#now();
    if (recordProblem(record) !== undefined) return;
    const adopted = this.#time.fromWall(makeRecord(record));
    if (this.#index.deadline(adopted) <= now) return;
    // A message or a store read can be older than what this guard holds.
    const held = this.#index.get(adopted.id);
    if (held && held.updatedAt > adopted.updatedAt) return;
    // This guard is charging it: the processor's answer here is the truth,
    // whatever another tab (that took it for a dead tab's) settled it as.
    if (held && this.#charging.has(held.id) && adopted.status !== held.status) {
      this.#charging.set(held.id, adopted.status);
      return;
    }
    this.#announced.delete(adopted.id);
    this.#index.add(adopted);
  }

  /**
   * A record another tab holds in memory only (its write failed, and it
   * charges anyway): a hold on its sale, and never more. It can add a live
   * record this guard did not know, or update one it learnt the same way;
   * it can never change what the store gave this guard, nor release a hold.
   */
  #adoptAnnounced(record: AttemptRecord): void {
    if (recordProblem(record) !== undefined || !isLive(record.status)) return;
    const held = this.#index.get(record.id);
    if (held && !this.#announced.has(record.id)) return;
    const now = this.#now();
    // Its times are the sender's word: none may lie ahead, or a forged hold would never turn unknown (liftable) nor expire.
    const clamp = (t: number) => Math.min(t, now);
    const given = this.#time.fromWall(makeRecord(record));
    const adopted = withChanges(given, {
      createdAt: clamp(given.createdAt),
      updatedAt: clamp(given.updatedAt),
      pendingSince: clamp(given.pendingSince),
      ...(given.approvedAt === undefined ? {} : { approvedAt: clamp(given.approvedAt) }),
    });
    if (this.#index.deadline(adopted) <= now) return;
    this.#announced.add(record.id);
    this.#index.add(adopted);
  }

  /**
   * The storage was deleted under this guard (site data cleared): write back
   * everything it holds, its live records filed under their claim keys
   * again, so that other tabs see its charges in flight; and say so.
   */
  async #restore(detail: string): Promise<void> {
    const { store } = this.#o;
    const records = [...this.#index.values()];
    this.#storageError(
      new GuardStorageError('WIPED', `${detail}: writing back the ${records.length} attempts this guard holds`),
      'restore',
    );
    this.#journal({ at: this.#now(), type: 'storage', detail: `${detail}; wrote back ${records.length} attempts` });
    const writes: Promise<unknown>[] = [this.#write(() => store.setMeta(KEY_CHECK, this.#hasher.keyCheck))];
    // A put files a live record under its claim keys again.
    for (const record of records) writes.push(this.#write(() => store.put(this.#time.toWall(record))));
    const failed = (await Promise.allSettled(writes)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) this.#storageError(failed.reason, 'restore');
  }

  /**
   * Issues a store write now, in call order, without waiting for earlier
   * ones to finish: stores apply writes in the order they are called (see
   * GuardStore), and a file store can then fsync fifty concurrent begins
   * together instead of one after another.
   */
  #write<T>(write: () => Promise<T>): Promise<T> {
    let pending: Promise<T>;
    try {
      pending = write();
    } catch (error) {
      pending = Promise.reject(error);
    }
    const settled = pending.then(
      () => undefined,
      () => undefined,
    );
    this.#inflight.add(settled);
    void settled.then(() => this.#inflight.delete(settled));
    return pending;
  }

  async #persist(records: AttemptRecord[]): Promise<void> {
    const { store } = this.#o;
    // Retry what an earlier storage failure left in memory only.
    const retry =
      this.#unpersisted.size === 0
        ? []
        : [...this.#unpersisted]
            .map((id) => this.#index.get(id))
            .filter((r): r is AttemptRecord => r !== undefined && !records.includes(r));
    const writes = [...retry, ...records].map((record) =>
      this.#write(() => store.put(this.#time.toWall(record))).then(
        () => {
          this.#unpersisted.delete(record.id);
        },
        (error: unknown) => {
          // The outcome is real whether or not the disk took it: keep it in
          // memory, retry on the next write, and tell the app.
          this.#unpersisted.add(record.id);
          this.#storageError(error, 'put');
          store.announce?.(this.#time.toWall(record));
        },
      ),
    );
    await Promise.all(writes);
  }

  #storageError(error: unknown, operation: string): void {
    this.#events.emit({ type: 'storage-error', error, operation });
  }

  #journal(entry: JournalEntry): void {
    const { store } = this.#o;
    // Not awaited: the journal is an audit trail, not the write-ahead record.
    const stamped = { ...entry, at: this.#time.wallOf(entry.at) };
    void this.#write(() => store.appendJournal(stamped)).catch((error) => this.#storageError(error, 'appendJournal'));
  }

  async #storeCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw storeFailure(operation, error);
    }
  }
}

class AttemptHandle implements Attempt {
  readonly id: string;
  readonly idempotencyKey: string;
  readonly fingerprint: string;
  readonly amount: number;
  readonly currency: string;
  readonly #guard: Guard;
  readonly #status: (id: string) => AttemptStatus | undefined;
  /** The status last read: what a settled attempt reports once it has left memory (history.ts). */
  #last: AttemptStatus;

  constructor(record: AttemptRecord, guard: Guard, status: (id: string) => AttemptStatus | undefined) {
    this.id = record.id;
    this.idempotencyKey = record.idempotencyKey;
    this.fingerprint = record.fingerprint;
    this.amount = record.amount;
    this.currency = record.currency;
    this.#guard = guard;
    this.#status = status;
    this.#last = record.status;
  }

  get status(): AttemptStatus {
    this.#last = this.#status(this.id) ?? this.#last;
    return this.#last;
  }

  approve(details: ApprovalDetails = {}) {
    return this.#settle(withStatus(details, 'approved'));
  }
  decline(details: DeclineDetails = {}) {
    return this.#settle(withStatus(details, 'declined'));
  }
  markUnknown(details: DeclineDetails = {}) {
    return this.#settle(withStatus(details, 'unknown'));
  }
  cancel(details: DeclineDetails = {}) {
    return this.#settle(withStatus(details, 'cancelled'));
  }
  void(details: ApprovalDetails = {}) {
    return this.#settle(withStatus(details, 'voided'));
  }

  async #settle(outcome: Outcome): Promise<AttemptRecord> {
    const record = await this.#guard.settle(this.id, outcome);
    this.#last = record.status;
    return record;
  }

  toJSON() {
    return { id: this.id, idempotencyKey: this.idempotencyKey, status: this.status, amount: this.amount, currency: this.currency };
  }
}

/** What submit's answer (or its throw, or its silence) settles the attempt as. */
function settlementOf(answer: Settled, timeoutMs: number): Settlement {
  if (answer.timedOut) return unknownOutcome(`no answer within ${timeoutMs} ms`);
  if (answer.error !== undefined) return unknownOutcome(errorText(answer.error));
  return answerOutcome(answer.value) ?? unknownOutcome('submit resolved no { approved } answer');
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
  return new Promise<Settled>((resolve) => {
    const timedOut = () => resolve({ timedOut: true, late: guarded });
    let cancel: () => void;
    try {
      cancel = scheduler.after(timeoutMs, timedOut);
    } catch {
      // The charge is submitted already: a broken scheduler must not leave it without a timeout.
      const timer = setTimeout(timedOut, Math.min(timeoutMs, 2 ** 31 - 1));
      cancel = () => clearTimeout(timer);
    }
    guarded.then(
      (value) => {
        cancel();
        resolve({ timedOut: false, value });
      },
      (error: unknown) => {
        cancel();
        resolve({ timedOut: false, error: error ?? new Error('submit rejected') });
      },
    );
  });
}

/**
 * An Attempt method's details with its status: read once inside a try (a
 * getter or a Proxy there is the caller's code: its throw becomes a
 * GuardInputError), and the status the method names wins over any in them.
 */
function withStatus(details: object, status: Exclude<Outcome['status'], 'refunded'>): Outcome {
  const copy = snapshot(details ?? {}, {}, { root: 'details', prefix: '' }, (field, error) => {
    throw new GuardInputError('INVALID_OUTCOME', unreadableMessage(field), { field, cause: error });
  }) as Record<string, unknown>;
  return { ...copy, status };
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

/** What a store threw, as the guard's own error (a GuardError it threw passes as it is). */
function storeFailure(operation: string, error: unknown): unknown {
  if (isGuardError(error)) return error;
  return new GuardStorageError('STORE_FAILED', `the store failed in ${operation}: ${errorText(error)}`, { cause: error });
}

/** A store's synchronous call (subscribe, warnings), its throw made the guard's own. */
function storeCallSync<T>(operation: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw storeFailure(operation, error);
  }
}

/** A finding that holds the sale back (not a warning) and that the override did not lift. */
function standsAgainst(lifted: readonly ReasonCode[]): (finding: Finding) => boolean {
  return (finding) => VERDICT_OF[finding.code] !== undefined && !lifted.includes(finding.code);
}
