import { GuardInputError, failAll, issue, type GuardIssue } from './errors.js';
import { DETAIL_MAX } from './outcome.js';
import { redact } from './redact.js';
import { snapshot, unreadableMessage, type Shape } from './snapshot.js';
import type { OverrideRequest } from './types.js';

const SHAPE: Shape = { operator: 'value', reason: 'value', supervisor: 'value' };

type OverrideIssue = GuardIssue<'INVALID_OVERRIDE'>;

/**
 * Each is kept in the attempt, in every journal line about it and in the
 * override event: bounded like a processor's details, so a paste gone wrong
 * is refused at the till instead of becoming a megabyte in the journal.
 */
const TOO_LONG = `must be at most ${DETAIL_MAX} characters`;

/** `value` when it is a non-empty string of at most DETAIL_MAX characters; otherwise an issue is added to `found`. */
function required(field: 'operator' | 'reason', value: unknown, found: OverrideIssue[]): string {
  if (typeof value === 'string' && value.length > DETAIL_MAX) {
    found.push(issue('INVALID_OVERRIDE', field, TOO_LONG, value));
    return '';
  }
  if (typeof value === 'string' && value.trim() !== '') return value;
  const who = field === 'operator' ? 'who is overriding (a cashier or supervisor id)' : 'why, as typed at the till';
  // A missing field is just missing: "got undefined (undefined)" would add nothing.
  const got = value === undefined ? [] : [value];
  found.push(issue('INVALID_OVERRIDE', field, `is required to override: a non-empty string saying ${who}`, ...got));
  return '';
}

/**
 * Who overrides and why: `operator` and `reason` required, `supervisor`
 * optional, read once from the caller's object.
 *
 * They are free text a person types at the till, kept in the attempt, the
 * journal and the `override` event, and handed to `authorize`. Card data in
 * them is masked here (redact.ts), before any of that, rather than refused:
 * the override a cashier is asked for at the counter must not fail over what
 * was typed in a note. `authorize` sees the masked text, so what was
 * authorised is what is recorded.
 */
export function readOverrideRequest(input: unknown): OverrideRequest {
  const copy = snapshot(input, SHAPE, { root: 'request', prefix: '' }, (field, cause) => {
    throw new GuardInputError('INVALID_OVERRIDE', unreadableMessage(field), { field, cause });
  });
  const request = (typeof copy === 'object' && copy !== null ? copy : {}) as Record<string, unknown>;
  // All three are checked, and every problem reported in one error.
  const found: OverrideIssue[] = [];
  const operator = redact(required('operator', request.operator, found));
  const reason = redact(required('reason', request.reason, found));
  const { supervisor } = request;
  if (supervisor !== undefined && typeof supervisor !== 'string') {
    found.push(issue('INVALID_OVERRIDE', 'supervisor', 'must be a string: the id of who authorised it', supervisor));
  } else if (typeof supervisor === 'string' && supervisor.length > DETAIL_MAX) {
    found.push(issue('INVALID_OVERRIDE', 'supervisor', TOO_LONG, supervisor));
  }
  if (found.length > 0) failAll(GuardInputError, found);
  return supervisor === undefined ? { operator, reason } : { operator, reason, supervisor: redact(supervisor as string) };
}
