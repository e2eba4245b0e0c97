/**
 * Writes the shipped schema files from their one source of truth (run by
 * `npm run build`): schema/scenario.schema.json from the zod scenario schema,
 * and schema/postgres.sql (`pos-duplicate-guard/postgres/schema.sql`) from
 * the DDL postgresStore runs. Both are committed; tests fail if they drift.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scenarioJsonSchemaText } from '../src/scenarios/schema.js';
import { DEFAULT_SCHEMA, schemaSql } from '../src/stores/postgres/schema.js';

const folder = join(dirname(fileURLToPath(import.meta.url)), '..', 'schema');
mkdirSync(folder, { recursive: true });
for (const [file, text] of [
  ['scenario.schema.json', scenarioJsonSchemaText()],
  ['postgres.sql', schemaSql(DEFAULT_SCHEMA)],
] as const) {
  writeFileSync(join(folder, file), text);
  console.log(`wrote ${join(folder, file)}`);
}
