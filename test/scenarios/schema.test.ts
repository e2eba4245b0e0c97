import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { STEP_KINDS, scenarioJsonSchemaText } from '../../src/scenarios/schema.js';

const COMMITTED = 'schema/scenario.schema.json';

describe('schema/scenario.schema.json', () => {
  it('is exactly what the zod schema generates (run `npm run build` after changing src/scenarios/schema.ts)', () => {
    expect(readFileSync(COMMITTED, 'utf8')).toBe(scenarioJsonSchemaText());
  });

  it('describes one step shape per kind, each requiring its action and nothing unknown', () => {
    const schema = JSON.parse(scenarioJsonSchemaText()) as {
      $schema: string;
      required: string[];
      properties: { steps: { minItems: number; items: { anyOf: { required: string[]; additionalProperties: boolean }[] } } };
    };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.required).toEqual(['name', 'steps']);
    expect(schema.properties.steps.minItems).toBe(1);
    const shapes = schema.properties.steps.items.anyOf;
    expect(shapes.map((s) => s.required)).toEqual(STEP_KINDS.map((kind) => [kind]));
    expect(shapes.every((s) => s.additionalProperties === false)).toBe(true);
  });

  it('lets editors autocomplete the fields of a Sale', () => {
    const schema = JSON.parse(scenarioJsonSchemaText()) as {
      properties: { steps: { items: { anyOf: { properties: { begin?: { properties: object } } }[] } } };
    };
    const begin = schema.properties.steps.items.anyOf[0]?.properties.begin;
    expect(Object.keys(begin?.properties ?? {})).toEqual([
      'amount',
      'currency',
      'card',
      'kind',
      'merchantId',
      'terminalId',
      'orderId',
      'orderTotal',
      'refundOf',
      'operator',
    ]);
  });

  it('is shipped: package.json exports it and lists its folder in files', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, unknown>; files: string[] };
    expect(pkg.exports['./scenario.schema.json']).toBe(`./${COMMITTED}`);
    expect(pkg.files).toContain('schema');
  });
});
