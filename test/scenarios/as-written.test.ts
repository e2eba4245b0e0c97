import { describe, expect, it } from 'vitest';
import { findScenarioFiles, loadScenarioFile } from '../../src/scenarios/load.js';
import { createGuard, GuardInputError } from '../../src/index.js';
import { loadScenarios, parseScenario, runScenario } from '../../src/testing.js';

/**
 * SPEC §7: a Sale in a step is passed to the guard as written. JSON.parse
 * keeps a "__proto__" key as an own property, and the guard refuses it as an
 * unknown field; any copy made by assignment (zod's object parsing did one)
 * turns it into the copy's prototype instead, and the key is gone.
 */
const SALE = '{"amount":1250,"currency":"CNY","card":{"token":"wallet-1"},"__proto__":{"orderId":"O-1"}}';
const FOLDER = 'test/fixtures/scenarios/as-written';

const scenarioText = (step: string) => `{"name":"as written","steps":[${step}]}`;

describe('a Sale reaches the guard as written', () => {
  it('the guard itself refuses a Sale with an own "__proto__" key', async () => {
    const guard = await createGuard({ merchantId: 'M-TEST', secret: 'scenario-secret-0123456789abcdef' });
    await expect(guard.begin(JSON.parse(SALE))).rejects.toBeInstanceOf(GuardInputError);
    await guard.close();
  });

  it('so does a scenario step: begin and peek throw GuardInputError, a verdict expected there fails', async () => {
    const refused = await runScenario(
      JSON.parse(
        scenarioText(`{"begin":${SALE},"expect":{"error":"GuardInputError"}},{"peek":${SALE},"expect":{"error":"GuardInputError"}}`),
      ),
    );
    expect(refused.failures).toEqual([]);
    const allowed = await runScenario(JSON.parse(scenarioText(`{"begin":${SALE},"expect":{"verdict":"allow"}}`)));
    expect(allowed.failures).toEqual([
      { step: 1, expected: 'verdict allow', actual: 'GuardInputError: `__proto__` is not a field of a Sale' },
    ]);
  });

  it('the validated scenario holds the Sale exactly as JSON.parse produced it, also after a second parse', () => {
    const input = JSON.parse(scenarioText(`{"begin":${SALE}}`)) as { steps: [{ begin: object }] };
    const once = parseScenario(input);
    const twice = parseScenario(once);
    for (const scenario of [once, twice]) {
      const sale = (scenario.steps[0] as { begin: object }).begin;
      expect(sale).toBe(input.steps[0].begin);
      expect(Object.hasOwn(sale, '__proto__')).toBe(true);
      expect(Object.getPrototypeOf(sale)).toBe(Object.prototype);
    }
  });

  it('a refundOf name is replaced by the attempt id without losing the "__proto__" key', async () => {
    const refund = '{"amount":1250,"currency":"CNY","card":{"token":"wallet-1"},"kind":"refund","refundOf":"a1","__proto__":null}';
    const result = await runScenario(
      JSON.parse(
        scenarioText(
          `{"begin":{"amount":1250,"currency":"CNY","card":{"token":"wallet-1"}},"as":"a1"},{"settle":{"attempt":"a1","status":"approved"}},{"begin":${refund},"expect":{"error":"GuardInputError"}}`,
        ),
      ),
    );
    expect(result.failures).toEqual([]);
  });

  it.each([
    [
      'override',
      '{"override":{"decision":"d","operator":"o","reason":"r","__proto__":{"supervisor":true}}}',
      'override.__proto__',
      'is not a field of `override`',
    ],
    ['settle', '{"settle":{"attempt":"d","status":"approved","__proto__":{"amount":5}}}', 'settle.__proto__', 'is not a field of `settle`'],
  ])('"__proto__" in %s (the runner builds that request from known fields) is a scenario error, not dropped', (_, step, field, message) => {
    const text = `{"name":"x","steps":[{"begin":{"amount":1,"currency":"CNY","card":{"token":"t"}},"as":"d"},${step}]}`;
    expect(() => parseScenario(JSON.parse(text))).toThrow(`step 2, \`${field}\`: ${message}`);
  });

  it('a scenario file with "__proto__" in a Sale, loaded from disk, passes: each such step throws GuardInputError', async () => {
    const [loaded] = await loadScenarios(`${FOLDER}/sale-with-proto-key.json`);
    const result = await runScenario(loaded!.scenario);
    expect(result.failures).toEqual([]);
    expect(result.steps).toBe(7);
  });
});

// The bundled library's test, over this fixture folder: one test per file.
const { files } = await findScenarioFiles([FOLDER]);

describe('as-written fixtures', () => {
  it.each(files)('%s', async (file) => {
    const scenario = await loadScenarioFile(file);
    const result = await runScenario(scenario);
    expect(result.failures, `${file}: ${scenario.name}`).toEqual([]);
    expect(result.steps).toBe(scenario.steps.length);
  });
});
