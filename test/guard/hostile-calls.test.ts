import { describe, expect, it } from 'vitest';
import { createGuard, isGuardError, memoryStore, type GuardStore } from '../../src/index.js';
import { SECRET, revokedProxy, sale, throwingGetter, thrown } from '../helpers/guard.js';

/** SPEC §4: every error the guard throws is one of the five GuardError classes. */

async function expectGuardError(action: () => unknown): Promise<void> {
  const error = await thrown(action);
  expect(isGuardError(error), `threw ${(error as Error)?.name}: ${(error as Error)?.message}`).toBe(true);
}

describe('Attempt handle methods', () => {
  it('approve() with details whose getter throws', async () => {
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET });
    const { attempt } = await guard.begin(sale());
    await expectGuardError(() => attempt!.approve(throwingGetter('authCode')));
  });

  it('decline() with a revoked Proxy as details', async () => {
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET });
    const { attempt } = await guard.begin(sale());
    await expectGuardError(() => attempt!.decline(revokedProxy()));
  });

  /** `{ status: 'approved', ...details }`: a `status` in the details wins, so approve() can record a decline and release the sale. */
  it('approve() records approved, whatever the details hold', async () => {
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET });
    const { attempt } = await guard.begin(sale());
    const processorAnswer = { authCode: 'A1', status: 'declined' };
    const record = await attempt!.approve(processorAnswer as never).catch((e: unknown) => e);
    if (!isGuardError(record)) expect((record as { status: string }).status).toBe('approved');
    // The sale it charged must still hold a repeat back.
    expect((await guard.begin(sale())).verdict).not.toBe('allow');
  });
});

describe('guard methods with hostile arguments', () => {
  it('attempts() with a filter whose getter throws', async () => {
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET });
    await expectGuardError(() => guard.attempts(throwingGetter('status')));
  });

  it('attempts() with a revoked Proxy filter', async () => {
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET });
    await expectGuardError(() => guard.attempts(revokedProxy()));
  });

  it('charge() whose confirm throws', async () => {
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET });
    await (await guard.begin(sale())).attempt!.approve();
    await expectGuardError(() =>
      guard.charge(sale(), async () => ({ approved: true }), {
        confirm: () => {
          throw new Error('ui crashed');
        },
      }),
    );
  });

  it('charge() whose escalate throws', async () => {
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET });
    await (await guard.begin(sale())).attempt!.markUnknown();
    await expectGuardError(() =>
      guard.charge(sale(), async () => ({ approved: true }), {
        escalate: () => {
          throw new Error('pin pad gone');
        },
      }),
    );
  });
});

describe('a store whose own calls throw', () => {
  const store = (extra: Partial<Record<'subscribe' | 'warnings' | 'close', () => never>>): GuardStore => ({ ...memoryStore(), ...extra });
  const boom = (): never => {
    throw new Error('store bug');
  };
  it('createGuard over a store whose subscribe throws', async () =>
    expectGuardError(() => createGuard({ merchantId: 'M-0001', secret: SECRET, store: store({ subscribe: boom }) })));
  it('createGuard over a store whose warnings throws', async () =>
    expectGuardError(() => createGuard({ merchantId: 'M-0001', secret: SECRET, store: store({ warnings: boom }) })));
  it('close() over a store whose close throws', async () => {
    const guard = await createGuard({ merchantId: 'M-0001', secret: SECRET, store: store({ close: boom }) });
    await expectGuardError(() => guard.close());
  });
});
