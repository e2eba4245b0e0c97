/** The `Attempt` a caller holds: settles through the guard, reads its status live. */
import { GuardInputError } from '../errors.js';
import type { Guard } from '../guard.js';
import { snapshot, unreadableMessage } from '../snapshot.js';
import type { ApprovalDetails, Attempt, AttemptRecord, AttemptStatus, DeclineDetails, Outcome } from '../types.js';
import { guardNow, statusOf, type GuardContext, type HandleStatus } from './context.js';

/**
 * The handle for `record`, its status read from this guard's memory; told
 * the status its attempt left memory with (see prune.ts), kept after that.
 */
export function handle(ctx: GuardContext, record: AttemptRecord): Attempt {
  const issued = new AttemptHandle(record, ctx.guard, (id) => {
    const current = ctx.index.get(id);
    return current && statusOf(ctx, current, guardNow(ctx));
  });
  const handles = ctx.handles.get(record.id);
  if (handles) handles.push(issued);
  else ctx.handles.set(record.id, [issued]);
  return issued;
}

class AttemptHandle implements Attempt, HandleStatus {
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

  /** @internal The status its attempt left the guard's memory with. */
  remember(status: AttemptStatus): void {
    this.#last = status;
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
