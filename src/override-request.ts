import { GuardInputError, describeValue } from './errors.js';
import { redact } from './redact.js';
import { snapshot, unreadableMessage, type Shape } from './snapshot.js';
import type { OverrideRequest } from './types.js';

const SHAPE: Shape = { operator: 'value', reason: 'value', supervisor: 'value' };

function required(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new GuardInputError('INVALID_OVERRIDE', `\`${field}\` is required to override: a non-empty string, got ${describeValue(value)}`, {
      field,
    });
  }
  return value;
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
  const operator = redact(required('operator', request.operator));
  const reason = redact(required('reason', request.reason));
  const { supervisor } = request;
  if (supervisor === undefined) return { operator, reason };
  if (typeof supervisor !== 'string') {
    throw new GuardInputError('INVALID_OVERRIDE', `\`supervisor\` must be a string, got ${describeValue(supervisor)}`, {
      field: 'supervisor',
    });
  }
  return { operator, reason, supervisor: redact(supervisor) };
}
