import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { GuardEvent } from '../../src/index.js';
import { flush, sale, testGuard } from '../helpers/guard.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('events', () => {
  it('emits decision (with peek), settle (with from), resume and override, in order', async () => {
    const { guard, events } = await testGuard();
    const peeked = await guard.peek(sale());
    const begun = await guard.begin(sale());
    const id = begun.attempt?.id ?? '';
    await guard.settle(id, { status: 'unknown' });
    await guard.resume(id);
    await guard.settle(id, { status: 'approved' });
    const prompt = await guard.begin(sale());
    const overridden = await guard.override(prompt, { operator: 'o', reason: 'r' });

    const summary = events.map((e) => {
      switch (e.type) {
        case 'decision':
          return ['decision', e.decision.verdict, e.peek];
        case 'settle':
          return ['settle', e.from, e.record.status];
        case 'resume':
          return ['resume', e.record.status];
        case 'override':
          return ['override', e.decision.verdict, e.lifted];
        default:
          return [e.type];
      }
    });
    expect(summary).toEqual([
      ['decision', 'allow', true],
      ['decision', 'allow', false],
      ['settle', 'pending', 'unknown'],
      ['resume', 'pending'],
      ['settle', 'pending', 'approved'],
      ['decision', 'prompt', false],
      ['decision', 'allow', false],
      ['override', 'allow', ['DUPLICATE_CHARGE']],
    ]);
    const decisions = events.filter((e): e is Extract<GuardEvent, { type: 'decision' }> => e.type === 'decision');
    expect(decisions.map((e) => e.decision)).toEqual([peeked, begun, prompt, overridden]);
  });

  it('journals decisions that are not allows, settles, resumes and overrides, but not peeks', async () => {
    const { guard, store } = await testGuard();
    const { attempt } = await guard.begin(sale());
    await guard.peek(sale());
    await attempt?.approve();
    const prompt = await guard.begin(sale());
    await guard.override(prompt, { operator: 'o', reason: 'r' });
    await flush();
    expect(store.journal().map((e) => [e.type, e.verdict ?? e.to ?? null])).toEqual([
      ['start', null],
      ['settle', 'approved'],
      ['decision', 'prompt'],
      ['override', null],
    ]);
  });

  it('stops delivering to an unsubscribed listener', async () => {
    const { guard } = await testGuard();
    const seen: string[] = [];
    const off = guard.on('decision', (e) => seen.push(e.decision.verdict));
    await guard.peek(sale());
    off();
    await guard.peek(sale());
    expect(seen).toEqual(['allow']);
  });
});

describe('a listener that throws never takes the till down (issue 10)', () => {
  it('the guard keeps working and reports the error as a listener-error event', async () => {
    const { guard } = await testGuard();
    const reported: unknown[] = [];
    guard.on('decision', () => {
      throw new Error('the UI handler broke');
    });
    guard.on('listener-error', (event) => reported.push([event.event, (event.error as Error).message]));
    const begun = await guard.begin(sale());
    expect(begun.verdict).toBe('allow');
    await begun.attempt?.approve();
    expect((await guard.begin(sale())).verdict).toBe('prompt');
    expect(reported).toEqual([
      ['decision', 'the UI handler broke'],
      ['decision', 'the UI handler broke'],
    ]);
  });

  it('in a Node process, a throwing listener is no uncaught exception: the process lives on and logs it once', () => {
    const script = [
      "import { createGuard } from './src/index.ts';",
      "process.on('uncaughtException', (e) => { console.log('UNCAUGHT ' + e.message); process.exit(3); });",
      "const guard = await createGuard({ merchantId: 'M-1', secret: 'child-secret-0123456789' });",
      "guard.on('decision', () => { throw new Error('listener bug'); });",
      "const d = await guard.begin({ amount: 100, currency: 'CNY', card: { token: 'tok_1' } });",
      'await new Promise((r) => setTimeout(r, 50));',
      "console.log('ALIVE ' + d.verdict);",
    ].join('\n');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(child.stdout).toContain('ALIVE allow');
    expect(child.stdout).not.toContain('UNCAUGHT');
    expect(child.status).toBe(0);
    expect(child.stderr.match(/"decision" listener threw/g)).toHaveLength(1);
  });
});
