/**
 * `pos-duplicate-guard/testing`: the QA scenarios (JSON files of steps and
 * expected decisions) and the store conformance suite, for your own test
 * suites. Node only (the loader reads files); `storeContract` runs under
 * vitest, an optional peer dependency.
 *
 * @example
 * import { loadScenarios, runScenario } from 'pos-duplicate-guard/testing';
 * for (const { file, scenario } of await loadScenarios('qa/scenarios')) {
 *   test(`${file}: ${scenario.name}`, async () => {
 *     expect((await runScenario(scenario)).failures).toEqual([]);
 *   });
 * }
 *
 * @module pos-duplicate-guard/testing
 */
export { runScenario } from './scenarios/runner.js';
export type { RunScenarioOptions, ScenarioFailure, ScenarioResult } from './scenarios/runner.js';
export { loadScenarios, loadScenarioFile, parseScenario, readScenarioFiles, ScenarioFileError } from './scenarios/load.js';
export type { LoadedScenario, ScenarioProblem } from './scenarios/load.js';
export { scenarioSchema, stepSchema, STEP_KINDS } from './scenarios/schema.js';
export type {
  DecisionExpectation,
  ErrorExpectation,
  Scenario,
  ScenarioConfig,
  ScenarioConfigChanges,
  ScenarioInput,
  ScenarioStep,
  StepKind,
} from './scenarios/schema.js';
export { storeContract } from './testing/store-contract.js';
export type { MakeStore, StoreCapability, StoreContractOptions, StoreUnderTest } from './testing/store-contract.js';
export { virtualTime } from './scenarios/virtual-time.js';
export type { VirtualTime } from './scenarios/virtual-time.js';
