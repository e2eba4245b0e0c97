/**
 * Writes schema/scenario.schema.json from the zod scenario schema, the one
 * source of truth (run by `npm run build`). The file is committed, and
 * test/scenarios/schema.test.ts fails if it drifts from the zod schema.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scenarioJsonSchemaText } from '../src/scenarios/schema.js';

const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'schema', 'scenario.schema.json');
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, scenarioJsonSchemaText());
console.log(`wrote ${target}`);
