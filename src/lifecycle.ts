import type { AttemptStatus } from './types.js';

/**
 * The transition table of SPEC §2. `unknown → pending` is `resume` only;
 * `settle` never takes an attempt back to `pending`.
 */
const NEXT: Readonly<Record<AttemptStatus, readonly AttemptStatus[]>> = {
  pending: ['approved', 'declined', 'unknown', 'cancelled'],
  unknown: ['approved', 'declined', 'cancelled', 'voided', 'pending'],
  approved: ['voided', 'refunded'],
  declined: [],
  cancelled: [],
  voided: [],
  refunded: [],
};

/** Every status: NEXT's keys, as a tuple (the scenario schema's enum and the file store's status codes). */
export const ATTEMPT_STATUSES = [
  'pending',
  'unknown',
  'approved',
  'declined',
  'cancelled',
  'voided',
  'refunded',
] as const satisfies readonly AttemptStatus[];

/** Whether `value` names a status (NEXT's keys: the compiler keeps them complete). */
export function isStatus(value: unknown): value is AttemptStatus {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(NEXT, value);
}

/** Where `settle` can take an attempt from `from` (`pending` is left out: only `resume` sets it). */
export function settleTargets(from: AttemptStatus): readonly AttemptStatus[] {
  return NEXT[from].filter((to) => to !== 'pending');
}

export function canTransition(from: AttemptStatus, to: AttemptStatus): boolean {
  return NEXT[from].includes(to);
}

/** Statuses that can make a new sale a duplicate (SPEC §2 "live attempts"). */
export function isLive(status: AttemptStatus): boolean {
  return status === 'pending' || status === 'unknown' || status === 'approved';
}

/** Open: no outcome known yet, so money may have moved (pending, unknown). */
export function isOpen(status: AttemptStatus): boolean {
  return status === 'pending' || status === 'unknown';
}
