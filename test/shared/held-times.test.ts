/**
 * A lane rewrites a record after its clock was set right (found by the
 * adversarial review `atk`): the unchanged times of the new version (createdAt,
 * pendingSince, approvedAt, and updatedAt for a lease) must reach the database,
 * and every other lane, where they were. Written with the skew of the write
 * they moved by the correction: forward (a slow lane set right), an approval
 * fell out of another lane's DUPLICATE_CHARGE window and a second charge of
 * the sale went through without a prompt; backward (a fast lane set right),
 * the unknown moved into the future and the other lane dropped every later
 * version as older: UNKNOWN_OUTCOME for good.
 */
import { describe, expect, it } from 'vitest';
import type { RecoverAnswer } from '../../src/index.js';
import type { TerminalTime } from '../../src/scenarios/virtual-time.js';
import { HeldTimes } from '../../src/shared/held-times.js';
import { flush, lanes } from '../helpers/lanes.js';
import { sampleRecord } from '../helpers/records.js';

const VISA = '4111 1111 1111 1111';
const MIN = 60_000;

/** Two lanes' guards recover on a 5 s schedule, with `recover` when given. */
function recoveringLanes() {
  const { time, db, open } = lanes();
  const openLane = (t: TerminalTime, id: string, recover?: () => Promise<RecoverAnswer>) =>
    open(t, id, { recoverAfter: '5s', ...(recover ? { recover } : {}) });
  return { time, db, open: openLane };
}

describe('a lane rewrites a record after its clock was set right', () => {
  it('a slow lane set right, then a partial refund of its sale: another lane still sees the approval inside the window', async () => {
    const { time, open } = recoveringLanes();
    const t1 = time.terminal();
    const t2 = time.terminal();
    t1.jump(-10 * MIN); // lane 1's clock runs 10 minutes slow
    const g1 = await open(t1, 'T1');
    const g2 = await open(t2, 'T2');
    const sale = { amount: 10_000, currency: 'CNY', card: { pan: VISA } };
    const d = await g1.begin(sale);
    await time.advance(1_000);
    await g1.settle(d.attempt!.id, { status: 'approved', authCode: '111111' });
    await time.advance(MIN);
    t1.jump(10 * MIN); // NTP sets it right
    await time.advance(MIN);
    const r = await g1.begin({ amount: 1_000, currency: 'CNY', card: { pan: VISA }, kind: 'refund', refundOf: d.attempt!.id });
    await time.advance(1_000);
    await g1.settle(r.attempt!.id, { status: 'approved' });
    await time.advance(MIN);
    // Three minutes after the approval, inside the 10-minute window: the same sale again on lane 2.
    const again = await g2.begin(sale);
    expect(again.reasons.map((x) => x.code)).toContain('DUPLICATE_CHARGE');
  });

  it("a fast lane set right while its charge is unknown: another lane learns the processor's approval", async () => {
    const { time, open } = recoveringLanes();
    const t1 = time.terminal();
    const t2 = time.terminal();
    let answer: (a: RecoverAnswer) => void = () => undefined;
    const g1 = await open(t1, 'T1', () => new Promise<RecoverAnswer>((resolve) => (answer = resolve)));
    const g2 = await open(t2, 'T2');
    const sale = { amount: 3_800, currency: 'CNY', card: { token: 'tok_lane' } };
    const d = await g1.begin(sale);
    await time.advance(1_000);
    await g1.settle(d.attempt!.id, { status: 'unknown' });
    t1.jump(-40_000); // lane 1 ran 40 s fast: NTP sets it right
    await time.advance(6_000); // the inquiry's lease is written: the unknown's stamps reach lane 2 40 s ahead
    answer({ status: 'approved', authCode: '123456' });
    await flush();
    await time.advance(1_000);
    expect((await g1.begin(sale)).reasons.map((x) => x.code)).toContain('DUPLICATE_CHARGE');
    expect((await g2.begin(sale)).reasons.map((x) => x.code)).toContain('DUPLICATE_CHARGE');
  });
});

describe('lanes whose clocks are under a second apart', () => {
  it('a void on the lane 900 ms behind reaches the lane that charged the sale: its re-charge goes through', async () => {
    const { time, open } = lanes();
    const t1 = time.terminal();
    const t2 = time.terminal();
    t2.jump(-900); // one clock, as far as skews go (under a second): its times are not moved
    const g1 = await open(t1, 'T1');
    const g2 = await open(t2, 'T2');
    const sale = { amount: 1_000, currency: 'CNY', card: { token: 'tok_900' } };
    const d = await g1.begin(sale);
    await time.advance(200);
    await g1.settle(d.attempt!.id, { status: 'approved', authCode: '123456' });
    await time.advance(100);
    await flush();
    // The manager voids it on lane 2, stamped 600 ms before the approval by lane 2's clock: once
    // taken on lane 1 as the older version and dropped, and the re-charge blocked as DUPLICATE_CHARGE.
    await g2.settle(d.attempt!.id, { status: 'voided' });
    await time.advance(100);
    await flush();
    expect((await g1.begin(sale)).verdict).toBe('allow');
  });
});

describe('HeldTimes', () => {
  const record = sampleRecord('a', { createdAt: 1_000_000, updatedAt: 1_000_000, pendingSince: 1_000_000 });

  it('writes a time it handed out back as the same database time under a new skew, and reads it back as handed out', () => {
    const times = new HeldTimes(10);
    const held = times.read(record, 5_000, 5_000, 1_000, 1); // written and read with one skew: as it is
    expect(held).toBe(record);
    // The terminal's clock is set 40 s back: its skew grows by 40 s. A settle keeps createdAt and takes a new updatedAt.
    const settled = { ...held, status: 'approved' as const, updatedAt: 1_000_000 + 60_000, approvedAt: 1_000_000 + 60_000 };
    const row = times.write(settled, 45_000);
    expect(row.createdAt + 45_000).toBe(record.createdAt + 5_000); // the same database time
    expect(row.updatedAt).toBe(settled.updatedAt); // a new time: on the clock of now
    expect(times.read(row, 45_000, 45_000, 1_000, 2)).toMatchObject({ createdAt: held.createdAt, updatedAt: settled.updatedAt });
  });

  it("moves another writer's times by the difference of the skews, unless it is under a second", () => {
    const times = new HeldTimes(10);
    expect(times.read(record, 5_000, 5_900, 1_000, 1)).toBe(record);
    expect(times.read(sampleRecord('b', { createdAt: 1, updatedAt: 1, pendingSince: 1 }), 65_000, 5_000, 1_000, 1)).toMatchObject({
      createdAt: 60_001,
    });
  });

  it("reads a recover lease's end on the clock as it is now, whatever it handed out before", () => {
    const times = new HeldTimes(10);
    const leased = { ...record, recovery: { tries: 1, leaseUntil: 1_120_000 } };
    expect(times.read(leased, 0, 0, 1_000, 1)).toBe(leased);
    // The clock set 40 s back: the lease ends 40 s later by it, while the attempt's own times stay as held.
    expect(times.read(leased, 0, -40_000, 1_000, 1)).toMatchObject({ createdAt: record.createdAt, recovery: { leaseUntil: 1_160_000 } });
  });

  it("an older version read after a newer one was written: the newer one's times keep their database times", () => {
    const times = new HeldTimes(10);
    times.read(record, 0, 0, 1_000, 1); // the pending
    const unknown = { ...record, status: 'unknown' as const, updatedAt: 1_001_000 };
    times.write(unknown, 0); // the unknown written…
    times.landed(unknown, 2);
    times.read(record, 0, 0, 1_000, 1); // …and a read answered late with the pending
    // The clock set 40 s back: a lease keeps the unknown's updatedAt, which must stay where it was.
    const leased = { ...unknown, recovery: { tries: 1, leaseUntil: 1_200_000 } };
    expect(times.write(leased, 40_000)).toMatchObject({ createdAt: 1_000_000 - 40_000, updatedAt: 1_001_000 - 40_000 });
  });

  it("hands each attempt's versions with updatedAt in version order, whatever the writers' clocks say", () => {
    const times = new HeldTimes(10);
    const pending = times.read(record, 0, 0, 1_000, 1);
    // Another writer, 900 ms behind (one clock within 1 s): its settle, 200 ms later, is stamped 700 ms earlier.
    const settled = { ...record, status: 'approved' as const, updatedAt: record.updatedAt - 700, approvedAt: record.updatedAt - 700 };
    const read = times.read(settled, 900, 0, 1_000, 2);
    expect(read.updatedAt).toBeGreaterThanOrEqual(pending.updatedAt);
    expect(read.approvedAt).toBe(settled.approvedAt); // only the order moves
    // Written back unchanged (a lease), it keeps its database time.
    expect(times.write({ ...read, recovery: { tries: 1 } }, 0).updatedAt).toBe(settled.updatedAt + 900);
    // The pending read again, answered late: older than the version handed.
    expect(times.read({ ...record, updatedAt: record.updatedAt + 5_000 }, 0, 0, 1_000, 1).updatedAt).toBeLessThan(read.updatedAt);
  });

  it('keeps at most its limit of attempts, the oldest dropped first', () => {
    const times = new HeldTimes(2);
    for (const id of ['a', 'b', 'c']) times.read(sampleRecord(id, { createdAt: 7, updatedAt: 7, pendingSince: 7 }), 0, 0, 1_000, 1);
    // 'a' was dropped: its time is not known any more, and is written as a time on the clock of now.
    expect(times.write(sampleRecord('a', { createdAt: 7, updatedAt: 7, pendingSince: 7 }), 100).createdAt).toBe(7);
    // 'c' is known: its database time (7, read with skew 0) is kept under the new skew.
    expect(times.write(sampleRecord('c', { createdAt: 7, updatedAt: 7, pendingSince: 7 }), 100).createdAt).toBe(7 - 100);
  });
});
