/**
 * `npm run size` (after the build): the bundle budgets of SPEC §8, enforced,
 * and the budget of the package itself (what `npm install` downloads).
 *
 * size-limit measures the entries of `.size-limit.json` (esbuild bundle,
 * minified, gzip, with every dependency); this adds the rule size-limit
 * cannot state: the browser adapter must add under 2 KB on top of the core,
 * i.e. size(core + idb) - size(core). A fixed limit on the combined entry
 * would let the adapter grow whenever the core shrinks.
 *
 * Exits 1 when any budget fails, or when size-limit itself fails.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** size-limit counts "KB" as 1000 bytes; so does this. */
const SPEC_ADAPTER_BUDGET_BYTES = 2_000;
/**
 * What the idb adapter is held to today: 2.34 KB after issues 10 and 11 moved
 * the tabs' claim filing, the wipe check and announcements into it. SPEC §8's
 * 2 KB is issue 12's to restore (the claim contract moves into the core).
 * 2.37 KB since its options are copied once, so a getter or Proxy in them is
 * a GuardConfigError (review2). 2.79 KB since it keeps history (issue 12):
 * get, byOrder, prune, load({ since }) and the schema-2 upgrade that indexes
 * records by updatedAt and [status, kind] add 0.44 KB, with claim and
 * byOrder sharing one reader of what is filed. 2.84 KB once the core it is
 * measured against split into modules (the difference moves by a few bytes).
 * 3.02 KB since it keeps the journal's chain (issue 15): each entry sealed
 * against the head read in its own transaction, and `journal()` to read it back;
 * 3.10 KB with `journal-from` written when a trim drops sealed entries.
 * 2.57 KB once simplified (2026-12-08): the connection and the store one
 * module, one error mapper, the loads, journal walks and filing shared;
 * 2.80 KB with atk32's fixes (filings kept together in a transaction, a
 * reopen retried and limited, a request's own error kept).
 */
const ADAPTER_BUDGET_BYTES = 2_850;
/**
 * SPEC §8's core budget (24 KB; stretch 20 KB). Not met today: 46.72 KB, of
 * it zod/mini 6.3 KB and @noble/hashes 3.3 KB, the guard's own code ~34 KB
 * (docs/performance.md). `.size-limit.json` holds the core at its measured
 * size so it cannot grow unnoticed; this line keeps the gap in view.
 */
const SPEC_CORE_BUDGET_BYTES = 24_000;
/**
 * The tarball `npm pack` makes, packed (gzip, what is downloaded) and
 * unpacked (what lands in node_modules). Issue 16 measured 1,351,037 bytes
 * packed and 5,268,895 unpacked (182 files) with source maps; 471.9 KB and
 * 1,848.8 KB (156 files) without them; 373.1 KB and 1,485.8 KB (160 files)
 * once the bin shared the library's chunks instead of bundling its own copy.
 * The budgets leave ~7% for what the CLI and docs still gain; raise them on
 * purpose, with the reason. Raised to 410 KB at 401.2 KB packed (163 files):
 * reconciliation, the shared store's clock handling and 101 bundled
 * scenarios grew it; dist is 342 KB of it, every module twice (ESM and CJS).
 * Raised to 415 KB at 409.8 KB: the shared store's catch-up (per-record
 * skews, recounted refunds, the merchant's kept history) and atk5/atk6's fixes.
 * Raised to 420 KB at 415.6 KB (166 files): the catch-up's merge of a sale's
 * two rows and its recount (atk8-atk10), refunds made outside the guard
 * listed, scenario 102, and the API pages of the changed types.
 * Raised to 430 KB at 424.0 KB (167 files): money to recover kept until
 * reported (overs-due), refunds recorded with their processor reference,
 * the key check written once on a shared store, scenario 103 (atk11-atk13).
 * Raised to 445 KB at 437.7 KB (169 files): the fixes of atk19 and atk20
 * (charges still out, take-overs across store objects, errors masked), their
 * docs and scenario 105.
 * Raised to 455 KB at 445.3 KB (170 files): the wall clock's steps kept with
 * the store, the clock watched while a charge or a recover call is out
 * (atk22-atk25, atk19b-recover-tabs), and their docs.
 */
const PACKED_BUDGET_BYTES = 455_000;
// Raised from 1,600,000 at 1,594.7 KB unpacked, with the packed budget and for the same reasons; to
// 1,680,000 at 1,642.9 KB with the packed one's raise to 420 KB; to 1,720,000 at 1,675.0 KB with its raise to 430 KB;
// to 1,760,000 at 1,721.6 KB with its raise to 445 KB (1,749.2 KB with its raise to 455 KB: kept); to
// 1,790,000 at 1,764.8 KB (packed 449.6 KB, under its budget): atk28 and atk29's fixes and their docs.
const UNPACKED_BUDGET_BYTES = 1_790_000;
const CORE_ENTRY = /^core:/;
const COMBINED_ENTRY = /^core \+ idb adapter:/;

interface SizeLimitEntry {
  name: string;
  passed: boolean;
  size: number;
  sizeLimit?: number;
}

function measure(): SizeLimitEntry[] {
  const root = fileURLToPath(new URL('..', import.meta.url));
  // size-limit's package exports hide bin.js: find it next to its package.json.
  const bin = join(dirname(createRequire(import.meta.url).resolve('size-limit/package.json')), 'bin.js');
  const run = spawnSync(process.execPath, [bin, '--json'], { cwd: root, encoding: 'utf8' });
  let parsed: unknown;
  try {
    parsed = JSON.parse(run.stdout);
  } catch {
    throw new Error(`size-limit printed no JSON (exit ${run.status}):\n${run.stdout}${run.stderr}`);
  }
  if (!Array.isArray(parsed)) {
    const error = (parsed as { error?: unknown })?.error;
    throw new Error(`size-limit failed: ${typeof error === 'string' ? error.split('\n')[0] : JSON.stringify(parsed)}`);
  }
  return parsed as SizeLimitEntry[];
}

interface PackResult {
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string }[];
}

/**
 * What `npm pack` would put in the tarball, without writing it and without
 * running `prepare` (the build ran already; building again would only cost
 * time). A missing dist/ would pass any budget, so it is refused.
 */
function measurePackage(): PackResult {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const run = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`npm pack --dry-run failed (exit ${run.status}):\n${run.stderr}`);
  const [result] = JSON.parse(run.stdout) as PackResult[];
  if (!result) throw new Error(`npm pack --dry-run --json printed no package:\n${run.stdout}`);
  if (!result.files.some((file) => file.path === 'dist/index.js')) {
    throw new Error('the package has no dist/index.js: run `npm run build` first');
  }
  return result;
}

function entry(entries: SizeLimitEntry[], pattern: RegExp): SizeLimitEntry {
  const found = entries.find((e) => pattern.test(e.name));
  if (!found) throw new Error(`no size-limit entry named ${pattern} in .size-limit.json`);
  return found;
}

const kb = (bytes: number) => `${(bytes / 1000).toFixed(2)} KB`;

function main(): number {
  const entries = measure();
  const core = entry(entries, CORE_ENTRY);
  const combined = entry(entries, COMBINED_ENTRY);
  const rows = entries.map((e) => ({ name: e.name, size: e.size, limit: e.sizeLimit, ok: e.passed }));
  rows.push({
    name: 'idb adapter adds (core + idb) - core',
    size: combined.size - core.size,
    limit: ADAPTER_BUDGET_BYTES,
    ok: combined.size - core.size < ADAPTER_BUDGET_BYTES,
  });

  const tarball = measurePackage();
  rows.push(
    {
      name: `npm package, packed (${tarball.entryCount} files)`,
      size: tarball.size,
      limit: PACKED_BUDGET_BYTES,
      ok: tarball.size <= PACKED_BUDGET_BYTES,
    },
    {
      name: 'npm package, unpacked',
      size: tarball.unpackedSize,
      limit: UNPACKED_BUDGET_BYTES,
      ok: tarball.unpackedSize <= UNPACKED_BUDGET_BYTES,
    },
  );

  const width = Math.max(...rows.map((r) => r.name.length));
  process.stdout.write('minified + gzip, with dependencies (size-limit, esbuild); the npm package as npm pack makes it\n');
  for (const r of rows) {
    const limit = r.limit === undefined ? '' : `limit ${kb(r.limit)}`;
    process.stdout.write(`${r.name.padEnd(width)}  ${kb(r.size).padStart(10)}  ${limit.padEnd(16)}  ${r.ok ? 'ok' : 'FAIL'}\n`);
  }
  if (core.size >= SPEC_CORE_BUDGET_BYTES) {
    process.stdout.write(
      `note: SPEC §8 asks for a core under ${kb(SPEC_CORE_BUDGET_BYTES)}; it is ${kb(core.size)} (see docs/performance.md)\n`,
    );
  }
  if (combined.size - core.size >= SPEC_ADAPTER_BUDGET_BYTES) {
    process.stdout.write(
      `note: SPEC §8 asks the idb adapter to add under ${kb(SPEC_ADAPTER_BUDGET_BYTES)}; it adds ${kb(combined.size - core.size)}\n`,
    );
  }
  const failed = rows.filter((r) => !r.ok).length;
  process.stdout.write(failed === 0 ? 'all size budgets kept\n' : `${failed} size budget(s) failed\n`);
  return failed === 0 ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
