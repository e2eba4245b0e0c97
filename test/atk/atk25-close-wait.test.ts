/**
 * atk25: close() stops the clock watch first (stopRecovery → haltRecovery),
 * then waits up to pendingTimeout for the charge this guard has out. The
 * charge is still out, unwatched: a step of the wall clock meanwhile is lost
 * if the process is killed before the charge's answer or timeout (a service
 * manager's stop timeout, a power-off after "shutting down…").
 */
import { describe, expect, it } from 'vitest';
import { CLOCK_STEPS } from '../../src/clock-steps.js';
import { createGuard, memoryStore } from '../../src/index.js';
import { virtualTime } from '../../src/testing.js';
import { SECRET } from '../helpers/guard.js';

const DAY = 86_400_000;
const START = Date.parse('2026-02-20T09:00:00Z');
const sale = { amount: 1_250, currency: 'CNY', card: { token: 'tok_atk25_close' } };
const codes = (decision: { reasons: { code: string }[] }) => decision.reasons.map((r) => r.code);
const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('atk25: close() waiting on a charge out', () => {
  it('close() called mid-charge (the till shutting down) stops the watch while the charge is still out: NTP sets the clock 9 days right, the process is killed 60 s later, and the retry after the restart is allowed (a double charge)', async () => {
    const store = memoryStore();
    const time = virtualTime(START);
    const open = () => createGuard({ merchantId: 'M1', secret: SECRET, store, clock: time.clock, scheduler: time.scheduler });
    const g = await open();
    let submitted = false;
    void g.charge(sale, () => ((submitted = true), new Promise<never>(() => undefined)));
    while (!submitted) await turn();
    await time.advance(1_000);
    const closing = g.close(); // waits for the charge: its answer or its timeout (2 min)
    void closing;
    await time.advance(1_000);
    time.jump(9 * DAY); // NTP, the charge still out with the processor
    await time.advance(60_000); // the service manager's stop timeout: killed before the charge's timeout
    await turn();
    expect(await store.getMeta(CLOCK_STEPS)).toBeDefined();
    time.restart();
    const after = await open();
    const retry = await after.begin(sale);
    expect(codes(retry)).toContain('UNKNOWN_OUTCOME');
    await after.close();
  });
});
