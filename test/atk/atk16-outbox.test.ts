/**
 * atk16: a write made while cut off that is still on its way to `local`
 * (its fsync not yet answered: a file store makes a put visible once it is
 * durable) when the connection comes back and the catch-up reaches its id.
 *
 * Finding (failed before the fix): the catch-up read the attempt's older
 * version from `local` (or nothing, for a record new to it), uploaded that,
 * and took the id out of the outbox; the write that was still on its way
 * found its id already listed, added nothing, and was never sent. The
 * database kept the attempt `pending` although the till approved it: every
 * other lane held the customer's next sale IN_FLIGHT, then UNKNOWN_OUTCOME,
 * until someone settled it by hand. Now the catch-up sends an id in that
 * id's line of writes: after a write already under way, and a write after
 * it puts the id back in the outbox.
 */
import { describe, expect, it } from 'vitest';
import { createGuard, memoryStore, type GuardStore } from '../../src/index.js';
import { sharedStore } from '../../src/shared/store.js';
import { deferred, type Deferred } from '../helpers/guard.js';
import { flush, lanes } from '../helpers/lanes.js';

const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_atk16_outbox' } };

/** A memoryStore whose puts become visible only once `held.gate` (when set) is resolved, as a file store's do after fsync. */
function slowLocal() {
  const inner = memoryStore();
  const held: { gate?: Deferred<void> } = {};
  const store: GuardStore = {
    ...inner,
    put: async (record) => {
      const gate = held.gate;
      if (gate) await gate.promise;
      await inner.put(record);
    },
  };
  return { store, held };
}

describe('atk16: the catch-up meets a write still on its way to local', () => {
  it('the approval written while cut off reaches the database, though its local write was not durable yet when the catch-up began', async () => {
    const { time, db, open } = lanes();
    const t1 = await open(time.terminal(), 'T1');
    const t2 = time.terminal();
    const local = slowLocal();
    const store2 = sharedStore(db.remote('T2'), { local: local.store });
    const g2 = await createGuard({
      merchantId: 'M1',
      terminalId: 'T2',
      secret: 'shared-lanes-test-secret-0123456789ab',
      store: store2,
      clock: t2.clock,
      scheduler: t2.scheduler,
    });
    db.disconnect('T2');
    const begun = await g2.begin(sale);
    const id = begun.attempt!.id;
    // The approval's local write waits for its fsync; meanwhile the network is back and the catch-up runs.
    local.held.gate = deferred<void>();
    const approved = begun.attempt!.approve();
    await flush();
    db.reconnect('T2');
    const caughtUp = store2.sync().catch(() => undefined);
    await flush();
    local.held.gate.resolve();
    local.held.gate = undefined;
    await approved;
    await caughtUp;
    await store2.sync().catch(() => undefined);
    await flush();
    const [row] = await db.remote('observer').get('M1', [id]);
    expect(row?.record.status).toBe('approved');
    // Another lane sees the sale as paid (a prompt), not as a charge in flight.
    expect((await t1.begin(sale)).reasons.map((r) => r.code)).toEqual(['DUPLICATE_CHARGE']);
  });
});
