import * as z from 'zod/mini';
import { parseDuration } from '../duration.js';
import { GUARD_ERROR_NAMES } from '../errors.js';
import { REASON_CODES } from '../rules.js';
import { LOCALES, SHARED_UNAVAILABLE_POLICIES, STORAGE_ERROR_POLICIES } from '../options.js';
import { SETTLE_STATUSES, validateOutcome } from '../outcome.js';
import { ATTEMPT_STATUSES } from '../lifecycle.js';

/**
 * The scenario file format (SPEC §7), in one place: the loader validates with
 * it, the runner's types come from it, and `scripts/build-schema.ts` turns it
 * into `schema/scenario.schema.json` for editors. Change it here only.
 *
 * Two kinds of values live in a scenario, and they are validated differently:
 * - instructions to the runner (step kinds, names, clock moves, expectations)
 *   are strict, so a typo fails at load time instead of silently testing
 *   nothing;
 * - inputs handed to the guard (the Sale, override text, config values) are
 *   typed only loosely, because scenarios deliberately pass bad input and
 *   expect the guard to refuse it (`expect: { error: 'GuardInputError' }`).
 */

export { GUARD_ERROR_NAMES as ERROR_NAMES, REASON_CODES };

export { ATTEMPT_STATUSES };

/** Statuses `settle` accepts; `pending` comes back only through `resume`. */
export { SETTLE_STATUSES };

/** Every step has exactly one of these keys. The order is the order of the step union below. */
export const STEP_KINDS = [
  'begin',
  'peek',
  'override',
  'settle',
  'resume',
  'advance',
  'clockJump',
  'restart',
  'expectAttempt',
  'disconnect',
  'reconnect',
  'processor',
  'recoverNow',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

const DEFAULT_MERCHANT_ID = 'M-TEST';
const DEFAULT_SECRET = 'scenario-secret-0123456789abcdef';
const DEFAULT_START = '2026-01-01T00:00:00Z';
/** The terminal a step without `terminal` acts on (SPEC §7, several terminals). */
export const DEFAULT_TERMINAL = 'T1';

const describe = <T extends z.ZodMiniType>(schema: T, description: string, examples?: unknown[]): T =>
  schema.check(z.meta(examples === undefined ? { description } : { description, examples }));

const name = describe(z.string().check(z.minLength(1, { error: 'must be a non-empty name' })), "A name given by an earlier step's `as`.");

// ── durations ───────────────────────────────────────────────────────────

const DURATION_TEXT = 'parts like "90s", "10m", "9m59s", "1d12h" (units d, h, m, s, ms)';
const isDuration = (signed: boolean) => (value: string | number) => {
  try {
    parseDuration(value, { field: 'duration', signed });
    return true;
  } catch {
    return false;
  }
};

// The runner's own clock moves are checked strictly (pattern + the guard's parser).
const UNSIGNED_RULE = `must be a Duration: milliseconds, or ${DURATION_TEXT}`;
const SIGNED_RULE = `must be a signed Duration: milliseconds, or an optional + or - then ${DURATION_TEXT}`;

const unsignedDuration = describe(
  z
    .union(
      [z.string().check(z.regex(/^(\d+(ms|d|h|m|s))+$/, { error: UNSIGNED_RULE })), z.int().check(z.minimum(0, { error: UNSIGNED_RULE }))],
      {
        error: UNSIGNED_RULE,
      },
    )
    .check(z.refine(isDuration(false), { error: UNSIGNED_RULE })),
  `A Duration: milliseconds, or ${DURATION_TEXT}.`,
  ['20s', '10m', '9m59s'],
);

const signedDuration = describe(
  z
    .union([z.string().check(z.regex(/^[+-]?(\d+(ms|d|h|m|s))+$/, { error: SIGNED_RULE })), z.int({ error: SIGNED_RULE })], {
      error: SIGNED_RULE,
    })
    .check(z.refine(isDuration(true), { error: SIGNED_RULE })),
  `A signed Duration: milliseconds, or an optional + or - followed by ${DURATION_TEXT}.`,
  ['-1h', '+5m'],
);

// Config durations are handed to createGuard, which must be the one to refuse a bad one.
const configDuration = z.union([z.string(), z.number()], { error: 'must be a Duration (a string or a number of milliseconds)' });

// ── config ──────────────────────────────────────────────────────────────

const configShape = {
  merchantId: describe(z.string(), `The guard's merchantId. Default "${DEFAULT_MERCHANT_ID}".`),
  secret: describe(z.string(), 'The HMAC secret (at least 16 bytes). Change it in a `restart` to test SECRET_CHANGED.'),
  terminalId: describe(
    z.string(),
    "The guard's terminalId. With several terminals (a step's `terminal`), each guard gets its terminal's id instead.",
  ),
  window: describe(
    configDuration,
    `How long an approved sale makes the same sale a DUPLICATE_CHARGE: milliseconds or ${DURATION_TEXT}. Default "10m".`,
  ),
  pendingTimeout: describe(configDuration, `A pending older than this reports as unknown: milliseconds or ${DURATION_TEXT}. Default "2m".`),
  retention: describe(configDuration, `How long settled records are kept: milliseconds or ${DURATION_TEXT}. Default "24h".`),
  locale: describe(z.enum(LOCALES), 'Language of reason messages. Default "en".'),
  onStorageError: describe(z.enum(STORAGE_ERROR_POLICIES), 'Verdict when the write-ahead record cannot be saved. Default "prompt".'),
  onSharedUnavailable: describe(
    z.enum(SHARED_UNAVAILABLE_POLICIES),
    'Verdict while a terminal is cut off from the shared store (a `disconnect` step): every decision carries SHARED_UNAVAILABLE; "prompt" or "block" also hold the sale. Default "allow".',
  ),
  recoverAfter: describe(
    configDuration,
    `When \`recover\` first tries an unknown attempt, then doubling (try k at recoverAfter × (2^k − 1)): milliseconds or ${DURATION_TEXT}. Default "5s". Giving it (or recoverTries) gives the guard a \`recover\`, as a \`processor\` or \`recoverNow\` step does.`,
  ),
  recoverTries: describe(
    z.number(),
    'Scheduled `recover` tries before an unknown attempt is left for a person (recovery-exhausted). Default 3; 0: only `recoverNow` tries.',
  ),
  resetOnSecretChange: describe(z.boolean(), 'Start a new history when the secret changed, instead of failing with SECRET_CHANGED.'),
  authorize: describe(z.boolean(), 'What the supervisor check answers when a block is overridden. Default false.'),
};

const configChanges = z.partial(z.strictObject(configShape));

const configSchema = describe(
  z.strictObject({
    ...configChanges.def.shape,
    merchantId: z._default(configShape.merchantId, DEFAULT_MERCHANT_ID),
    secret: z._default(configShape.secret, DEFAULT_SECRET),
    authorize: z._default(configShape.authorize, false),
  }),
  'createGuard options for this scenario, plus `authorize` as a boolean.',
);

// ── sale ────────────────────────────────────────────────────────────────

// Described field by field so editors autocomplete a Sale, but every value is
// accepted here: a wrong amount or a CVV is the guard's to refuse.
const loose = (description: string, examples?: unknown[]) => z.optional(describe(z.unknown(), description, examples));

const SALE_NOTE =
  'A Sale, passed to the guard as written (a `refundOf` naming an attempt is replaced by its id). Bad values are allowed on purpose: expect GuardInputError.';

const saleSchema = describe(
  z.looseObject({
    amount: loose('Integer minor units, 1..9007199254740991 (1250 = 12.50).', [1250]),
    currency: loose('ISO 4217 code.', ['CNY', 'USD']),
    card: loose('{ "pan": "..." } | { "token": "..." } | { "last4": "1111", "bin"?: "411111", "expiry"?: "12/29" }.', [
      { pan: '4111 1111 1111 1111' },
      { token: 'wallet-token-1' },
    ]),
    kind: loose('"sale" (default) or "refund".', ['sale', 'refund']),
    merchantId: loose("Default: the guard's merchantId."),
    terminalId: loose(
      "The terminal that takes the sale. With several terminals (steps naming one), only the step's own terminal: another is refused (INVALID_SALE on terminalId).",
    ),
    orderId: loose('The order this sale pays for: enables the order rules.'),
    orderTotal: loose('Minor units: the order total, enables the overpay rule.'),
    refundOf: loose('For a refund: the attempt being refunded, by its `as` name (or a literal attempt id).'),
    operator: loose('Who took the sale.'),
  }),
  SALE_NOTE,
);

// ── expectations ────────────────────────────────────────────────────────

const errorExpect = describe(
  z.strictObject({ error: describe(z.enum(GUARD_ERROR_NAMES), 'The error class the step must throw; the step must change nothing.') }),
  'The step must throw this error class and change nothing.',
);

const decisionExpect = describe(
  z.strictObject({
    verdict: describe(z.enum(['allow', 'prompt', 'block']), 'The verdict the decision must have.'),
    reasons: z.optional(describe(z.array(z.enum(REASON_CODES)), 'Codes that must all be among the reasons (others may be present too).')),
    absent: z.optional(describe(z.array(z.enum(REASON_CODES)), 'Codes that must not be among the reasons.')),
  }),
  'What the decision must be.',
);

const terminalId = describe(
  z.string().check(z.minLength(1, { error: 'must be a non-empty terminal id' })),
  'A terminal id, e.g. "T2": a terminal named for the first time is created with the scenario\'s `config` and this `terminalId`.',
  ['T1', 'T2'],
);

const stepCommon = {
  note: z.optional(describe(z.string(), 'Free text for the reader; ignored by the runner.')),
  terminal: z.optional(
    describe(
      terminalId,
      `The terminal this step runs on (default "${DEFAULT_TERMINAL}"). Using it makes the scenario one of several terminals on one shared in-memory store, each with a local store of its own; \`advance\` moves every terminal's clocks whatever this says.`,
      ['T2'],
    ),
  ),
};
const errorOnly = { ...stepCommon, expect: z.optional(errorExpect) };
const decisionStep = {
  ...stepCommon,
  as: z.optional(describe(name, 'Names the decision, and the attempt when one is reserved, for later steps.')),
  expect: z.optional(z.union([decisionExpect, errorExpect])),
};

// ── steps (one per kind, in STEP_KINDS order) ───────────────────────────

const beginStep = z.strictObject({
  begin: describe(saleSchema, `guard.begin(sale): evaluate and, on allow, reserve a pending attempt. ${SALE_NOTE}`),
  ...decisionStep,
});
const peekStep = z.strictObject({
  peek: describe(saleSchema, `guard.peek(sale): evaluate without reserving anything. ${SALE_NOTE}`),
  ...decisionStep,
});

const overrideStep = z.strictObject({
  override: describe(
    z.strictObject({
      decision: describe(name, 'The decision to override, by its `as` name.'),
      operator: z.optional(describe(z.string(), 'Who overrides. Required by the guard: leave it out to test GuardInputError.')),
      reason: z.optional(describe(z.string(), 'Why. Required by the guard: leave it out to test GuardInputError.')),
      supervisor: z.optional(
        describe(z.boolean(), 'A supervisor override (a block): the guard asks `authorize`, answered by config.authorize.'),
      ),
    }),
    'guard.override(decision, { operator, reason, supervisor? }).',
  ),
  ...decisionStep,
});

const settleStep = z.strictObject({
  settle: describe(
    z.strictObject({
      attempt: describe(name, 'The attempt, by its `as` name.'),
      status: describe(z.enum(SETTLE_STATUSES), 'The outcome.'),
      amount: z.optional(describe(z.number(), 'With status "refunded": minor units refunded (default: the rest).')),
      processorRef: z.optional(
        describe(z.string(), 'With status "refunded": the processor\'s reference of the refund; the same one recorded twice counts once.'),
      ),
    }),
    'guard.settle(attempt, { status, amount?, processorRef? }).',
  ),
  ...errorOnly,
});

const resumeStep = z.strictObject({
  resume: describe(
    z.strictObject({ attempt: describe(name, 'The unknown attempt to put back to pending; it keeps its name.') }),
    'guard.resume(attempt).',
  ),
  ...errorOnly,
});

const advanceStep = z.strictObject({
  advance: describe(unsignedDuration, "Moves the wall and the monotonic clocks forward together: every terminal's."),
  ...errorOnly,
});

const clockJumpStep = z.strictObject({
  clockJump: describe(signedDuration, "Moves only the wall clock (someone changed the system time), of the step's terminal only."),
  ...errorOnly,
});

const restartStep = z.strictObject({
  restart: describe(
    z.union([z.literal(true), configChanges], { error: 'must be true, or an object of config fields to change' }),
    "Drops the guard (the step's terminal's) without close() and creates a new one over the same store, as after a crash; the monotonic clock starts again. An object changes those config fields for the new guard.",
  ),
  ...errorOnly,
});

const expectAttemptStep = z.strictObject({
  expectAttempt: describe(
    z.strictObject({
      attempt: describe(name, 'The attempt, by its `as` name.'),
      status: describe(z.enum(ATTEMPT_STATUSES), 'The status guard.get(attempt) must report.'),
    }),
    "Checks an attempt's status.",
  ),
  ...errorOnly,
});

const disconnectStep = z.strictObject({
  disconnect: describe(
    terminalId,
    'Cuts this terminal off from the shared store (network down): its decisions carry SHARED_UNAVAILABLE and its writes go to its local store until `reconnect`.',
  ),
  ...errorOnly,
});

const conflictsExpect = describe(
  z.strictObject({
    conflicts: describe(
      z.array(name),
      "Every attempt named by the conflicts the catch-up reported (both attempts of each: this terminal's and the other's), by `as` name, in any order; `[]`: none.",
    ),
  }),
  'What the catch-up must report.',
);

const reconnectStep = z.strictObject({
  reconnect: describe(
    terminalId,
    'Brings this terminal back to the shared store and waits for its catch-up: what it wrote while cut off is sent, what it missed is read, and probable double charges are reported as conflicts.',
  ),
  ...stepCommon,
  expect: z.optional(z.union([conflictsExpect, errorExpect])),
});

// ── recovery (SPEC §10) ─────────────────────────────────────────────────

/** The one string an answer may be: `recover` throws (the processor could not be reached). */
export const THROW_ANSWER = 'throw';

const ANSWER_RULE = `must be null (still unknown), "${THROW_ANSWER}" (recover throws) or an outcome such as { "status": "voided" }`;

/**
 * An outcome `recover` answers, checked at load as the guard checks a
 * `settle` outcome (validateOutcome), and strictly: a field the guard would
 * silently drop (`"authcode"`) is a typo in the scenario. Statuses that
 * cannot settle an unknown attempt (`refunded`, `unknown`) are outcomes all
 * the same: the guard's answer to them is what a scenario tests.
 */
const outcomeAnswer = z
  .strictObject({
    status: describe(
      z.enum(SETTLE_STATUSES, {
        error: `must be one of ${SETTLE_STATUSES.map((s) => `"${s}"`).join(', ')} (an outcome's status; "pending" comes back only through resume)`,
      }),
      'What the processor says. approved, declined, cancelled or voided settle the attempt; unknown is still unknown; refunded cannot settle it (an error, and no more scheduled tries).',
    ),
    authCode: z.optional(describe(z.string(), 'With "approved": the authorisation code.')),
    processorRef: z.optional(describe(z.string(), "The processor's reference.")),
    code: z.optional(describe(z.string(), 'With "declined": the decline code.')),
    message: z.optional(describe(z.string(), "The processor's text.")),
    amount: z.optional(describe(z.number(), 'Only with "refunded": minor units.')),
  })
  .check(
    z.superRefine((outcome, ctx) => {
      try {
        validateOutcome(outcome);
      } catch (error) {
        const field = (error as { field?: string }).field;
        const message = error instanceof Error ? error.message : String(error);
        // validateOutcome says "`amount` is only for …": the loader names the field itself.
        const rule = field === undefined ? message : message.replace(`\`${field}\` `, '');
        ctx.issues.push({ code: 'custom', message: rule, input: outcome, path: field === undefined ? [] : [field] });
      }
    }),
  );

const processorAnswer = describe(
  z.union([z.null(), z.literal(THROW_ANSWER), outcomeAnswer], { error: ANSWER_RULE }),
  `What \`recover\` returns on one try: null (it returns undefined: still unknown), "${THROW_ANSWER}" (it throws: still unknown), or an outcome.`,
  [null, THROW_ANSWER, { status: 'approved', authCode: 'A1B2C3' }, { status: 'voided' }],
);

export type ProcessorAnswer = z.output<typeof processorAnswer>;

const PROCESSOR_TERMINAL = 'the processor answers every terminal alike (the script is per attempt, whichever terminal tries it)';
const PROCESSOR_EXPECT =
  'which only scripts answers: check what they did with `expectAttempt`, or with `recoverNow` and `expect: { "status": … }`';

const processorStep = z.strictObject({
  processor: describe(
    z.strictObject({
      attempt: describe(name, 'The attempt, by its `as` name.'),
      answers: describe(
        z.array(processorAnswer),
        'What `recover` returns for this attempt on its successive tries (scheduled or recoverNow), in order, whichever terminal tries it and across restarts; past the end, still unknown. A later `processor` step for the same attempt replaces what is left.',
      ),
    }),
    'Scripts the processor: what the status inquiry or reversal answers for one attempt. Gives the guard a `recover`; an attempt with no script is still unknown on every try.',
  ),
  note: stepCommon.note,
  // Refused with a reason rather than as unknown fields: both are easy to write by habit.
  terminal: z.optional(
    describe(z.never({ error: `is not for a \`processor\` step: ${PROCESSOR_TERMINAL}` }), `Not here: ${PROCESSOR_TERMINAL}.`),
  ),
  expect: z.optional(
    describe(z.never({ error: `is not for a \`processor\` step, ${PROCESSOR_EXPECT}` }), `Not here: a processor step ${PROCESSOR_EXPECT}.`),
  ),
});

const recoverNowExpect = describe(
  z.strictObject({
    status: describe(z.enum(ATTEMPT_STATUSES), "The attempt's status after the try (what recoverNow resolves with)."),
  }),
  "The attempt's status after the try.",
);

const recoverNowStep = z.strictObject({
  recoverNow: describe(
    z.strictObject({ attempt: describe(name, 'The attempt, by its `as` name.') }),
    'guard.recoverNow(attempt): one `recover` try now (the "Check with the processor" button), counted, exhausted attempts included; nothing for an attempt that is not unknown.',
  ),
  ...stepCommon,
  expect: z.optional(z.union([recoverNowExpect, errorExpect])),
});

/** Options of this union are in {@link STEP_KINDS} order: the loader relies on it to explain errors. */
export const stepSchema = z.union([
  beginStep,
  peekStep,
  overrideStep,
  settleStep,
  resumeStep,
  advanceStep,
  clockJumpStep,
  restartStep,
  expectAttemptStep,
  disconnectStep,
  reconnectStep,
  processorStep,
  recoverNowStep,
]);

const atLeastOneStep = z.minLength(1, { error: 'must have at least one step' });

const scenarioFields = {
  $schema: z.optional(describe(z.string(), 'Path or URL of scenario.schema.json, for editors.')),
  name: describe(z.string().check(z.minLength(1, { error: 'must be a non-empty string' })), 'One line: what this scenario proves.'),
  description: z.optional(describe(z.string(), 'What happens at the till and why the expected verdicts are right.')),
  tags: z._default(describe(z.array(z.string()), 'For `--tag` filtering.', [['double-tap', 'refund']]), []),
  config: z._default(configSchema, { merchantId: DEFAULT_MERCHANT_ID, secret: DEFAULT_SECRET, authorize: false }),
  start: z._default(
    describe(
      z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. "2026-03-01T09:00:00Z"' }),
      'Wall-clock time at the first step.',
    ),
    DEFAULT_START,
  ),
};

export const scenarioSchema = describe(
  z.strictObject({
    ...scenarioFields,
    steps: describe(z.array(stepSchema).check(atLeastOneStep), 'Run in order; each has exactly one action.'),
  }),
  'A pos-duplicate-guard QA scenario: a guard on a memoryStore() with a virtual clock, driven step by step; or, when a step names a `terminal` or cuts one off, several terminals on one shared in-memory store.',
);

/**
 * {@link scenarioSchema} with the steps left unchecked, for the loader: it
 * checks them one by one against {@link stepSchema}, so that a file of a
 * million broken steps stops at the first few instead of building a zod
 * issue for each (which ran out of memory, or of stack).
 */
export const scenarioShellSchema = z.strictObject({
  ...scenarioFields,
  steps: z.array(z.unknown()).check(atLeastOneStep),
});

/** A scenario as written in a file (defaults not applied yet). */
export type ScenarioInput = z.input<typeof scenarioSchema>;
/** A validated scenario with defaults applied. */
export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioStep = Scenario['steps'][number];
export type ScenarioConfig = Scenario['config'];
/** The config fields a `restart` may change. */
export type ScenarioConfigChanges = z.output<typeof configChanges>;
export type DecisionExpectation = z.output<typeof decisionExpect>;
export type ErrorExpectation = z.output<typeof errorExpect>;
export type ConflictsExpectation = z.output<typeof conflictsExpect>;
export type RecoverNowExpectation = z.output<typeof recoverNowExpect>;

/**
 * The JSON Schema shipped as `pos-duplicate-guard/scenario.schema.json`.
 *
 * No `$id`: an id claims a canonical URL, and none exists while the package
 * is not on a registry (an unpkg URL would 404). Editors and validators key
 * the schema by the path they were given instead (docs/scenarios.md).
 */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenarioSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  // `$schema` first, then a title editors show.
  const { $schema, ...rest } = forStrictValidators(schema);
  return { $schema, title: 'pos-duplicate-guard scenario', ...rest };
}

/** Keywords whose values are data, not schemas: left exactly as zod wrote them. */
const DATA_KEYWORDS = new Set(['default', 'examples', 'const', 'enum']);

/**
 * The schema as ajv accepts it in its default strict mode, so the command
 * QA teams copy works without flags: a type list (`["string", "number"]`,
 * what zod writes for a Duration) becomes `anyOf` one type each (strict mode
 * refuses union types), and `format` is dropped where a `pattern` already
 * says the same (ajv refuses a format it has no plugin for, and `date-time`
 * needs ajv-formats). Both mean exactly what they meant before.
 */
export function forStrictValidators(schema: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'format' && typeof schema.pattern === 'string') continue;
    if (key === 'type' && Array.isArray(value)) out.anyOf = value.map((type: unknown) => ({ type }));
    else out[key] = DATA_KEYWORDS.has(key) ? value : strictValue(value);
  }
  return out;
}

function strictValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strictValue);
  return typeof value === 'object' && value !== null ? forStrictValidators(value as Record<string, unknown>) : value;
}

/** The committed file's exact text: 2-space JSON and a final newline. */
export function scenarioJsonSchemaText(): string {
  return `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`;
}
