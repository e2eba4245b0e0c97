import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GuardConfigError,
  GuardInputError,
  GuardOverrideError,
  GuardStateError,
  GuardStorageError,
  createGuard,
  type ChargeOptions,
  type Outcome,
  type OverrideRequest,
  type Sale,
} from '../../src/index.js';
import { SECRET, VISA, sale, testGuard } from '../helpers/guard.js';

/**
 * Every error the guard throws is one of its five classes (SPEC §4), whatever
 * the caller hands it: throwing getters, Proxies whose traps throw, revoked
 * Proxies, symbols, deep nesting, card numbers as keys.
 */
const CLASSES = [GuardInputError, GuardConfigError, GuardStateError, GuardOverrideError, GuardStorageError];

const revoked = (): object => {
  const r = Proxy.revocable({}, {});
  r.revoke();
  return r.proxy;
};

const TRAPS = ['get', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf'] as const;

function deep(levels: number): object {
  let value: object = { pan: VISA };
  for (let i = 0; i < levels; i++) value = { pan: value, card: value };
  return value;
}

/**
 * How to make a hostile object shaped like `base`. fast-check inspects the
 * values it generates (a revoked Proxy would throw in its hands), so it
 * generates the recipe and the property builds the object.
 */
type Recipe =
  | { kind: 'revoked' }
  | { kind: 'trap'; trap: (typeof TRAPS)[number] }
  | { kind: 'getter' | 'revoked field' | 'symbol' | 'deep' | 'nested trap'; key: string }
  | { kind: 'card number key' }
  | { kind: 'any'; value: unknown };

function recipeArb(base: Record<string, unknown>): fc.Arbitrary<Recipe> {
  const key = fc.constantFrom(...Object.keys(base));
  return fc.oneof(
    fc.constant({ kind: 'revoked' as const }),
    fc.constantFrom(...TRAPS).map((trap) => ({ kind: 'trap' as const, trap })),
    fc.record({
      kind: fc.constantFrom('getter' as const, 'revoked field' as const, 'symbol' as const, 'deep' as const, 'nested trap' as const),
      key,
    }),
    fc.constant({ kind: 'card number key' as const }),
    fc.anything().map((value) => ({ kind: 'any' as const, value })),
  );
}

function build(base: Record<string, unknown>, recipe: Recipe): unknown {
  switch (recipe.kind) {
    case 'revoked':
      return revoked();
    case 'trap':
      return new Proxy(
        { ...base },
        {
          [recipe.trap]: () => {
            throw new Error(`${recipe.trap} trap`);
          },
        },
      );
    case 'getter':
      return Object.defineProperty({ ...base }, recipe.key, {
        enumerable: true,
        get() {
          throw new TypeError(`getter ${recipe.key}`);
        },
      });
    case 'revoked field':
      return { ...base, [recipe.key]: revoked() };
    case 'symbol':
      return { ...base, [recipe.key]: Symbol(recipe.key) };
    case 'deep':
      return { ...base, [recipe.key]: deep(2_000) };
    case 'nested trap':
      return {
        ...base,
        [recipe.key]: new Proxy(
          {},
          {
            get: () => {
              throw new Error('nested trap');
            },
          },
        ),
      };
    case 'card number key':
      return { ...base, '4111 1111 1111 1111': true, [Symbol('s')]: 1 };
    case 'any':
      return recipe.value;
  }
}

async function expectOnlyGuardErrors(action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    expect(CLASSES.filter((Class) => error instanceof Class)).toHaveLength(1);
  }
}

describe('hostile input: only the five guard errors are ever thrown (property)', () => {
  it('begin, peek and charge with hostile sales and cards', async () => {
    const { guard } = await testGuard();
    const base = sale() as unknown as Record<string, unknown>;
    await fc.assert(
      fc.asyncProperty(recipeArb(base), fc.boolean(), async (recipe, inCard) => {
        const input = inCard ? { ...base, card: build({ pan: VISA }, recipe) } : build(base, recipe);
        await expectOnlyGuardErrors(() => guard.peek(input as Sale));
        await expectOnlyGuardErrors(() => guard.charge(input as Sale, async () => ({ approved: false })));
      }),
      { numRuns: 300 },
    );
  });

  it('charge with hostile options and answers', async () => {
    const { guard } = await testGuard();
    const options = { confirm: () => true, escalate: () => false, timeout: '1s' };
    const answers = { approved: true, authCode: 'A1', processorRef: 'r', code: 'c', message: 'm' };
    let amount = 1;
    await fc.assert(
      fc.asyncProperty(recipeArb(options), recipeArb(answers), async (optionsRecipe, answerRecipe) => {
        const opts = build(options, optionsRecipe);
        const answer = build(answers, answerRecipe);
        await expectOnlyGuardErrors(() => guard.charge(sale({ amount: amount++ }), async () => answer as never, opts as ChargeOptions));
      }),
      { numRuns: 300 },
    );
  });

  it('override, settle and resume with hostile requests, outcomes and ids', async () => {
    const { guard } = await testGuard({ authorize: () => true });
    const requests = { operator: 'o', reason: 'r', supervisor: 's' };
    const outcomes = { status: 'approved', authCode: 'A1', amount: 5 };
    let amount = 1;
    await fc.assert(
      fc.asyncProperty(recipeArb(requests), recipeArb(outcomes), recipeArb({ id: 'x' }), fc.string(), async (r, o, i, text) => {
        const request = build(requests, r);
        const outcome = build(outcomes, o);
        const id = amount % 2 === 0 ? text : build({ id: 'x' }, i);
        const first = await guard.begin(sale({ amount: amount }));
        await first.attempt?.approve();
        const prompt = await guard.begin(sale({ amount: amount++ }));
        await expectOnlyGuardErrors(() => guard.override(prompt, request as OverrideRequest));
        await expectOnlyGuardErrors(() => guard.settle(first.attempt?.id ?? '', outcome as Outcome));
        await expectOnlyGuardErrors(() => guard.settle(id as string, { status: 'voided' }));
        await expectOnlyGuardErrors(() => guard.resume(id as string));
      }),
      { numRuns: 200 },
    );
  });

  it('createGuard with hostile options', async () => {
    const options = { merchantId: 'M-1', secret: SECRET, window: '10m', clock: { now: () => 0, monotonic: () => 0 } };
    await fc.assert(
      fc.asyncProperty(recipeArb(options), async (recipe) => {
        const input = build(options, recipe);
        await expectOnlyGuardErrors(async () => (await createGuard(input as never)).close());
      }),
      { numRuns: 200 },
    );
  });
});
