import { describe, expect, it } from 'vitest';
import { findScenarioFiles, loadScenarioFile } from '../../src/scenarios/load.js';
import { runScenario } from '../../src/testing.js';

/**
 * The bundled library (`scenarios/`, shipped in the package): one vitest
 * test per file, so `npm test` names the scenario that broke. Each file is
 * loaded inside its own test, so one invalid file fails alone.
 */
const FOLDER = 'scenarios';
const { files, errors } = await findScenarioFiles([FOLDER]);

describe('bundled scenarios', () => {
  it('the library is there: at least one scenario file', () => {
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s', async (file) => {
    const scenario = await loadScenarioFile(file);
    const result = await runScenario(scenario);
    expect(result.failures, `${file}: ${scenario.name}`).toEqual([]);
    expect(result.steps).toBe(scenario.steps.length);
  });
});
