/**
 * The cashier's dialogs: a prompt for a suspected repeat, a block for an
 * earlier charge whose outcome is unknown, and the supervisor PIN pad. Each
 * returns a promise of the cashier's choice; Escape counts as "cancel".
 */
import {
  formatAge,
  formatMoney,
  type AttemptRecord,
  type AttemptStatus,
  type Decision,
  type Locale,
  type RecoverResult,
} from '../../../src/index.js';
import { h } from './dom.js';
import type { Strings } from './strings.js';
import { clockTime, reasonText } from './words.js';

export interface DialogContext {
  t: Strings;
  locale: Locale;
  /** Guard time now, to say how long ago an earlier sale was. */
  now: number;
}

export type BlockChoice =
  /** The earlier attempt is settled: checked with the processor from this dialog, or meanwhile by the schedule. */
  | { kind: 'checked'; attemptId: string; error?: unknown }
  | { kind: 'retry'; attemptId: string }
  | { kind: 'override'; reason: string }
  | { kind: 'cancel' };

/** What the block dialog may do while it stays open. */
export interface BlockActions {
  /** "Check with the processor": one try of the guard's `recover` now (`guard.recoverNow`). */
  check(attemptId: string): Promise<RecoverResult>;
  /** Calls back when the attempt is settled or resumed meanwhile; returns the unsubscribe. */
  watch(attemptId: string, changed: (status: AttemptStatus) => void): () => void;
}

/** Why a check found nothing, in the cashier's words. */
export function noAnswerReason(error: unknown, t: Strings): string {
  if (error instanceof Error || error instanceof DOMException) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return t.noAnswer;
    if (error.name === 'TypeError') return t.networkError;
    return error.message;
  }
  return String(error);
}

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

/** The reasons as the guard words them, in its locale (UNKNOWN_OUTCOME in the till's words: see `reasonText`). */
function reasonList(decision: Decision, earlier: AttemptRecord[], { t, locale }: DialogContext): HTMLElement {
  const about = (id: string | undefined) => earlier.find((record) => record.id === id);
  return h(
    'ul',
    { class: 'reasons' },
    ...decision.reasons.map((reason) => h('li', { 'data-code': reason.code }, reasonText(reason, about(reason.attemptId), t, locale))),
  );
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
      h(
        'span',
        { class: 'nowrap', 'data-testid': 'earlier-time' },
        `${clockTime(when.getTime())} · ${formatAge(now - when.getTime(), locale)}`,
      ),
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
    reasonList(decision, earlier, context),
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
 * UNKNOWN_OUTCOME (and any overridable block): check with the processor (the
 * dialog stays open, the button disabled, until the answer), retry the
 * earlier attempt safely (with its own idempotency key), or have a supervisor
 * override, with a reason the supervisor types. If the earlier attempt is
 * settled meanwhile (a scheduled check found it), the dialog closes by
 * itself: its choices no longer apply.
 */
export function chooseBlockAction(
  decision: Decision,
  earlier: AttemptRecord[],
  context: DialogContext,
  actions: BlockActions,
): Promise<BlockChoice> {
  const { t } = context;
  const unknown = earlier.find((record) => record.status === 'unknown');
  let stopWatching = () => {};
  const choice = openDialog<BlockChoice>('block-dialog', 'block', { kind: 'cancel' }, (finish) => {
    const action = (testId: string, label: string, hint: string, choose: () => BlockChoice, tone = 'btn--secondary') =>
      h(
        'button',
        { class: `btn action ${tone}`, 'data-testid': testId, onclick: () => finish(choose()) },
        h('strong', {}, label),
        h('small', {}, hint),
      );
    const checkResult = h('p', { class: 'check-result', 'data-testid': 'block-check-result', role: 'status', hidden: true });
    const checkLabel = h('strong', {}, t.checkProcessor);
    const checkButton = h(
      'button',
      {
        class: 'btn action btn--primary',
        'data-testid': 'block-check',
        onclick: () => {
          if (!unknown || checkButton.disabled) return;
          // Disabled before anything is awaited: a second tap in this turn finds it so.
          checkButton.disabled = true;
          checkButton.dataset.state = 'checking';
          checkLabel.textContent = t.checking;
          checkResult.hidden = true;
          actions
            .check(unknown.id)
            .then((result) => {
              if (result.status !== 'unknown' && result.status !== 'pending') {
                return finish({ kind: 'checked', attemptId: unknown.id, error: result.error });
              }
              checkResult.textContent =
                result.status === 'pending' ? t.maybeInFlight : `${t.stillUnknown(noAnswerReason(result.error, t))} ${t.checkAgainHint}`;
              checkResult.hidden = false;
            })
            .catch((error: unknown) => {
              checkResult.textContent = t.stillUnknown(noAnswerReason(error, t));
              checkResult.hidden = false;
            })
            .finally(() => {
              checkButton.disabled = false;
              delete checkButton.dataset.state;
              checkLabel.textContent = t.checkProcessor;
            });
        },
      },
      checkLabel,
      h('small', {}, t.checkProcessorHint),
    );
    if (unknown) {
      stopWatching = actions.watch(unknown.id, (status) => {
        if (status !== 'unknown') finish({ kind: 'checked', attemptId: unknown.id });
      });
    }
    return [
      h('h2', {}, decision.reasons.some((r) => r.code === 'UNKNOWN_OUTCOME') ? t.blockTitle : t.blocked),
      reasonList(decision, earlier, context),
      ...earlier.map((record) => earlierSaleCard(record, context)),
      h(
        'div',
        { class: 'dialog__choices' },
        unknown && checkButton,
        unknown && checkResult,
        unknown && action('block-retry', t.retrySafely, t.retrySafelyHint, () => ({ kind: 'retry', attemptId: unknown.id })),
        overrideChoice(t, (reason) => finish({ kind: 'override', reason })),
      ),
      h(
        'div',
        { class: 'dialog__actions' },
        h('button', { class: 'btn btn--ghost', 'data-testid': 'block-cancel', onclick: () => finish({ kind: 'cancel' }) }, t.cancel),
      ),
    ];
  });
  return choice.finally(() => stopWatching());
}

/**
 * "Supervisor override", then a form for the reason: empty (a reason typed
 * in advance would say nothing about this sale, and the audit journal keeps
 * it), and Confirm disabled until something is typed. Confirm hands the
 * reason on once, however often it is tapped; the PIN comes next.
 */
function overrideChoice(t: Strings, confirm: (reason: string) => void): HTMLElement {
  const reason = h('input', { class: 'input', 'data-testid': 'override-reason', autocomplete: 'off', required: true, maxlength: 200 });
  const confirmButton = h(
    'button',
    { type: 'submit', class: 'btn btn--warn', 'data-testid': 'override-confirm', disabled: true },
    t.overrideConfirm,
  );
  const typed = () => reason.value.trim();
  reason.addEventListener('input', () => {
    confirmButton.disabled = typed() === '';
  });
  const form = h(
    'form',
    {
      class: 'override',
      'data-testid': 'override-form',
      hidden: true,
      onsubmit: (event: Event) => {
        event.preventDefault();
        if (confirmButton.disabled || typed() === '') return;
        // Disabled before anything else: a second tap in this turn finds it so.
        confirmButton.disabled = true;
        confirm(typed());
      },
    },
    h('label', { class: 'override__reason' }, h('span', {}, t.overrideReason), reason),
    h('p', { class: 'override__hint', 'data-testid': 'override-hint' }, t.overrideReasonHint),
    h(
      'div',
      { class: 'override__actions' },
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn--secondary',
          'data-testid': 'override-back',
          onclick: () => {
            form.hidden = true;
            open.hidden = false;
            open.focus();
          },
        },
        t.overrideBack,
      ),
      confirmButton,
    ),
  );
  const open = h(
    'button',
    {
      class: 'btn action btn--secondary',
      'data-testid': 'block-override',
      onclick: () => {
        open.hidden = true;
        form.hidden = false;
        reason.focus();
      },
    },
    h('strong', {}, t.supervisorOverride),
    h('small', {}, t.supervisorOverrideHint),
  );
  return h('div', { class: 'override-choice' }, open, form);
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
