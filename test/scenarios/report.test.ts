import { describe, expect, it } from 'vitest';
import { formatScenario, type ReportedScenario } from '../../src/scenarios/report.js';
import type { ScenarioStep } from '../../src/testing.js';

/** A scenario whose only step failed, as the runner reports it. */
function failed(step: unknown): ReportedScenario {
  return {
    file: 'qa/x.json',
    result: {
      name: 'x',
      passed: false,
      failures: [{ step: 1, expected: 'verdict allow', actual: 'GuardInputError: `card` …' }],
      steps: 1,
      ms: 1,
    },
    steps: [step as ScenarioStep],
  };
}

const stepLine = (text: string) => text.split('\n').find((line) => line.startsWith('    step 1: ')) ?? '';

/** `{"a":{"a":…1…}}`, `levels` deep, built as text and parsed the way a file is. */
const nested = (levels: number): unknown => JSON.parse(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);

describe('formatScenario: the failing step, rendered', () => {
  it('renders a value nested 100,000 levels deep without overflowing the stack, cut at a few levels', () => {
    const step = { begin: { amount: 100, currency: 'CNY', card: nested(100_000) }, expect: { verdict: 'allow' } };
    const line = stepLine(formatScenario(failed(step)));
    expect(line).toMatch(/^ {4}step 1: \{"begin":\{"amount":100,"currency":"CNY","card":\{"a":\{"a":.*…/);
    expect(line.length).toBeLessThan(1_200);
  });

  it('bounds long strings, long keys and wide objects and arrays', () => {
    const wide = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]));
    const step = {
      begin: { operator: 'x'.repeat(1_000_000), ['y'.repeat(1_000_000)]: 1, extra: wide, list: Array.from({ length: 100_000 }, () => 1) },
    };
    const line = stepLine(formatScenario(failed(step)));
    expect(line.length).toBeLessThan(1_200);
    expect(line).toContain('"operator":"xxxxxxxx');
    expect(line).toContain('…');
  });

  it('renders an ordinary step exactly as its JSON, a PAN masked', () => {
    const step = {
      begin: { amount: 1250, currency: 'CNY', card: { pan: '4111 1111 1111 1111' } },
      as: 'a1',
      expect: { verdict: 'allow', absent: ['IN_FLIGHT'] },
    };
    expect(stepLine(formatScenario(failed(step)))).toBe(
      `    step 1: ${JSON.stringify(step).replace('4111 1111 1111 1111', '[card number removed]')}`,
    );
  });

  it.each([
    ['a PAN written with dots', { pan: '4111.1111.1111.1111' }],
    ['a PAN as a number', { pan: 4111111111111111 }],
    ['a PAN split into an array', { pan: ['4111', '1111', '1111', '1111'] }],
    ['a PAN in an object', { pan: { number: '4111 1111 1111 1111' } }],
    ['a PAN under another case', { PAN: '4111/1111/1111/1111' }],
  ])('never echoes card data: %s', (_, card) => {
    const line = stepLine(formatScenario(failed({ begin: { amount: 1, currency: 'CNY', card } })));
    expect(line).toContain('[card number removed]');
    expect(line.replace(/\D/g, '')).not.toContain('41111111');
  });

  it('shows an own "__proto__" key, as JSON.parse made it', () => {
    const step = JSON.parse('{"begin":{"amount":1,"currency":"CNY","card":{"token":"t"},"__proto__":{"orderId":"O-1"}}}') as unknown;
    expect(stepLine(formatScenario(failed(step)))).toBe(
      '    step 1: {"begin":{"amount":1,"currency":"CNY","card":{"token":"t"},"__proto__":{"orderId":"O-1"}}}',
    );
  });

  it('masks expiry dates and the fields the guard refuses as sensitive (CVV, PIN, track data)', () => {
    const step = {
      begin: {
        amount: 1,
        currency: 'CNY',
        card: { last4: '1111', expiry: '1229' },
        cvv2: 987,
        track_2: 'B4111111111111111^X^2912',
        pinBlock: 'A1B2C3D4',
      },
    };
    const line = stepLine(formatScenario(failed(step)));
    expect(line).toBe(
      '    step 1: {"begin":{"amount":1,"currency":"CNY","card":{"last4":"1111","expiry":"[expiry removed]"},"cvv2":"[removed]","track_2":"[removed]","pinBlock":"[removed]"}}',
    );
  });

  it('masks card numbers in the scenario name, expected and actual too', () => {
    const reported = failed({ advance: '1s' });
    reported.result = {
      ...reported.result,
      name: 'card 4111 1111 1111 1111 twice',
      failures: [{ step: 1, expected: 'pan 4111111111111111', actual: 'got 4111-1111-1111-1111' }],
    };
    const text = formatScenario(reported);
    expect(text).not.toMatch(/4111.?1111.?1111.?1111/);
    expect(text.split('\n')[0]).toMatch(/^✗ card \[card number removed\] twice /);
  });
});
