/**
 * The cashier's dialogs: a prompt for a suspected repeat, a block for an
 * earlier charge whose outcome is unknown, and the supervisor PIN pad. Each
 * returns a promise of the cashier's choice; Escape counts as "cancel".
 */
import { formatAge, formatMoney, type AttemptRecord, type Decision, type Locale } from '../../../src/index.js';
import { h } from './dom.js';
import type { Strings } from './strings.js';

export interface DialogContext {
  t: Strings;
  locale: Locale;
  /** Guard time now, to say how long ago an earlier sale was. */
  now: number;
}

export type BlockChoice =
  { kind: 'check'; attemptId: string } | { kind: 'retry'; attemptId: string } | { kind: 'override'; reason: string } | { kind: 'cancel' };

function openDialog<T>(
  testId: string,
  tone: 'warn' | 'block' | 'neutral',
  cancelValue: T,
  build: (finish: (value: T) => void) => Node[],
): Promise<T> {
  return new Promise<T>((resolve) => {
    const dialog = h('dialog', { class: `dialog dialog--${tone}`, 'data-testid': testId, 'aria-modal': 'true' });
    let done = false;
    const finish = (value: T) => {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(cancelValue);
    });
    dialog.append(...build(finish));
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** The reasons exactly as the guard words them, in its locale. */
function reasonList(decision: Decision): HTMLElement {
  return h('ul', { class: 'reasons' }, ...decision.reasons.map((reason) => h('li', { 'data-code': reason.code }, reason.message)));
}

/** The earlier sale the cashier needs to see: when, how much, which card. */
export function earlierSaleCard(record: AttemptRecord, { t, locale, now }: DialogContext, caption = t.earlierSale): HTMLElement {
  const when = new Date(record.approvedAt ?? record.createdAt);
  return h(
    'div',
    { class: 'earlier', 'data-testid': 'earlier-sale' },
    h('div', { class: 'earlier__caption' }, caption),
    h('div', { class: 'earlier__amount' }, formatMoney(record.amount, record.currency, locale)),
    h(
      'div',
      { class: 'earlier__meta' },
      h('span', { 'data-testid': 'earlier-time' }, `${when.toLocaleTimeString(locale)} · ${formatAge(now - when.getTime(), locale)}`),
      h('span', { 'data-testid': 'earlier-card' }, record.last4 ? `•••• ${record.last4}` : t.wallet),
      h('span', { class: `chip chip--${record.status}` }, t.status[record.status]),
    ),
  );
}

/** DUPLICATE_CHARGE and other prompts: "Charge again" resolves true, "Cancel" false. */
export function confirmRepeat(decision: Decision, earlier: AttemptRecord[], context: DialogContext): Promise<boolean> {
  const { t } = context;
  return openDialog('prompt-dialog', 'warn', false, (finish) => [
    h('h2', {}, t.promptTitle),
    reasonList(decision),
    ...earlier.map((record) => earlierSaleCard(record, context)),
    h(
      'div',
      { class: 'dialog__actions' },
      h('button', { class: 'btn btn--secondary', 'data-testid': 'prompt-cancel', onclick: () => finish(false) }, t.cancel),
      h('button', { class: 'btn btn--warn', 'data-testid': 'prompt-confirm', onclick: () => finish(true) }, t.chargeAgain),
    ),
  ]);
}

/**
 * UNKNOWN_OUTCOME (and any overridable block): settle the earlier attempt from
 * the processor's record, retry it with its own idempotency key, or have a
 * supervisor override.
 */
export function chooseBlockAction(decision: Decision, earlier: AttemptRecord[], context: DialogContext): Promise<BlockChoice> {
  const { t } = context;
  const unknown = earlier.find((record) => record.status === 'unknown');
  return openDialog<BlockChoice>('block-dialog', 'block', { kind: 'cancel' }, (finish) => {
    const reason = h('input', {
      class: 'input',
      'data-testid': 'override-reason',
      value: t.overrideReasonDefault,
      'aria-label': t.overrideReason,
    });
    const action = (testId: string, label: string, hint: string, choose: () => BlockChoice, tone = 'btn--secondary') =>
      h(
        'button',
        { class: `btn action ${tone}`, 'data-testid': testId, onclick: () => finish(choose()) },
        h('strong', {}, label),
        h('small', {}, hint),
      );
    return [
      h('h2', {}, decision.reasons.some((r) => r.code === 'UNKNOWN_OUTCOME') ? t.blockTitle : t.blocked),
      reasonList(decision),
      ...earlier.map((record) => earlierSaleCard(record, context)),
      h(
        'div',
        { class: 'dialog__choices' },
        unknown &&
          action('block-check', t.checkProcessor, t.checkProcessorHint, () => ({ kind: 'check', attemptId: unknown.id }), 'btn--primary'),
        unknown && action('block-retry', t.retrySameKey, t.retrySameKeyHint, () => ({ kind: 'retry', attemptId: unknown.id })),
        h(
          'div',
          { class: 'override' },
          action('block-override', t.supervisorOverride, t.supervisorOverrideHint, () => ({
            kind: 'override',
            reason: reason.value.trim() || t.overrideReasonDefault,
          })),
          h('label', { class: 'override__reason' }, h('span', {}, t.overrideReason), reason),
        ),
      ),
      h(
        'div',
        { class: 'dialog__actions' },
        h('button', { class: 'btn btn--ghost', 'data-testid': 'block-cancel', onclick: () => finish({ kind: 'cancel' }) }, t.cancel),
      ),
    ];
  });
}

/**
 * The supervisor's PIN pad, opened by the guard's `authorize` callback. Three
 * tries; resolves whether the PIN was accepted.
 */
export function askSupervisorPin(
  supervisor: string,
  demoPin: string,
  verify: (pin: string) => boolean,
  { t }: DialogContext,
): Promise<boolean> {
  return openDialog('pin-dialog', 'neutral', false, (finish) => {
    let triesLeft = 3;
    const input = h('input', {
      class: 'input input--pin',
      type: 'password',
      inputmode: 'numeric',
      autocomplete: 'off',
      maxlength: 8,
      'data-testid': 'pin-input',
      'aria-label': t.pinTitle,
    });
    const error = h('p', { class: 'pin__error', 'data-testid': 'pin-error', role: 'alert' });
    const submit = (event: Event) => {
      event.preventDefault();
      if (verify(input.value)) return finish(true);
      triesLeft -= 1;
      if (triesLeft === 0) return finish(false);
      error.textContent = t.pinWrong(triesLeft);
      input.value = '';
      input.focus();
    };
    queueMicrotask(() => input.focus());
    return [
      h('h2', {}, t.pinTitle),
      h('p', {}, t.pinPrompt(supervisor)),
      h('p', { class: 'pin__demo' }, t.pinDemo(demoPin)),
      // A form, so Enter on the PIN pad submits.
      h(
        'form',
        { onsubmit: submit },
        input,
        error,
        h(
          'div',
          { class: 'dialog__actions' },
          h('button', { type: 'button', class: 'btn btn--secondary', 'data-testid': 'pin-cancel', onclick: () => finish(false) }, t.cancel),
          h('button', { type: 'submit', class: 'btn btn--primary', 'data-testid': 'pin-submit' }, t.pinSubmit),
        ),
      ),
    ];
  });
}
