/**
 * `npm run example:store-server` end to end: two till processes and a back
 * office on one PostgreSQL, asserted on what the example prints (which is
 * what each till's guard returned).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type FreshDatabase } from '../helpers/postgres.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the npm script the README gives, with `env` over this process's environment. */
function runExample(env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', 'example:store-server'],
      { encoding: 'utf8', timeout: 40_000, env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The lines of step `n` of the story: from its heading to the next one. */
function step(stdout: string, n: number): string {
  const start = stdout.indexOf(`\n${n}. `);
  if (start < 0) throw new Error(`no step ${n} in the output:\n${stdout}`);
  const end = stdout.indexOf(`\n${n + 1}. `, start);
  return stdout.slice(start, end < 0 ? undefined : end);
}

/** What every run of the story must show, whichever database it ran on. */
function expectTheStory(run: Run): void {
  expect(run.code, `exit code; stderr:\n${run.stderr}\nstdout:\n${run.stdout}`).toBe(0);
  const { stdout } = run;

  // 1. Approved on lane 1.
  const first = /lane 1 │ → charged: approved, auth \S+ \(attempt (\S+?)\)/.exec(step(stdout, 1));
  expect(first, step(stdout, 1)).not.toBeNull();
  const lane1Attempt = first?.[1] ?? '';

  // 2. The same card and amount on lane 2: a prompt naming lane 1's attempt, confirmed, charged.
  const second = step(stdout, 2);
  expect(second).toContain('lane 2 │ guard: prompt');
  expect(second).toMatch(/lane 2 │ {3}DUPLICATE_CHARGE: .*1111/);
  expect(second).toContain(`→ lane 1's attempt ${lane1Attempt} (approved, CN¥128.00 •••• 1111)`);
  expect(second).toMatch(/lane 2 │ → charged: approved, .*override by cashier-2, lifted DUPLICATE_CHARGE/);

  // 3. The order paid on the handheld (lane 2) is blocked at the counter (lane 1).
  const third = step(stdout, 3);
  expect(third).toMatch(/lane 2 │ guard: allow\n\s+lane 2 │ → charged: approved/);
  expect(third).toContain('lane 1 │ guard: block');
  expect(third).toMatch(/lane 1 │ {3}ORDER_ALREADY_PAID: Order TABLE-12/);
  expect(third).toContain('lane 1 │ → blocked: nothing charged');

  // 4. Lane 2 cut off: it charges with the warning; lane 1 cannot know; the catch-up reports the conflict.
  const fourth = step(stdout, 4);
  expect(fourth).toContain('lane 2 │ guard: allow (with a warning)');
  expect(fourth).toMatch(/lane 2 │ {3}SHARED_UNAVAILABLE: /);
  expect(fourth).toMatch(/lane 2 │ ⚠ conflict event DUPLICATE_CHARGE: lane 2's attempt \S+ \(approved, CN¥56.00/);
  expect(fourth).toMatch(/and lane 1's attempt \S+ \(approved, CN¥56.00/);
  expect(fourth).toContain('lane 2 │ caught up: 1 conflict(s) reported');

  // 5. The back office lists both lanes' attempts, the one made while cut off included.
  const fifth = step(stdout, 5);
  const rows = fifth.split('\n').filter((line) => /^\s+T[12]\s/.test(line));
  expect(rows.map((line) => line.trim().split(/\s+/)[0])).toEqual(['T1', 'T2', 'T2', 'T2', 'T1']);
  expect(rows.every((line) => line.includes('approved'))).toBe(true);
  expect(fifth).toContain('Processor: 5 charges approved');
  expect(stdout.trimEnd().endsWith('Done.')).toBe(true);
}

describe('examples/store-server', () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase('store_example');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('plays the story on the database GUARD_DATABASE_URL names, and leaves no schema behind', { timeout: 45_000 }, async () => {
    const run = await runExample({ GUARD_DATABASE_URL: db.url });
    expect(run.stdout).toContain('(GUARD_DATABASE_URL)');
    expectTheStory(run);
    const schema = /schema: +(store_demo_[0-9a-f]+)/.exec(run.stdout)?.[1];
    expect(schema).toBeDefined();
    const pool = db.pool();
    const { rows } = await pool.query('SELECT nspname FROM pg_namespace WHERE nspname = $1', [schema]);
    expect(rows).toEqual([]);
  });

  it('starts a throwaway PostgreSQL of its own without GUARD_DATABASE_URL, and removes it', { timeout: 45_000 }, async () => {
    const run = await runExample({ GUARD_DATABASE_URL: '' });
    expect(run.stdout).toContain('no GUARD_DATABASE_URL, so this run started a throwaway PostgreSQL server');
    expectTheStory(run);
    const dataDir = /\(data in (\S+); stopped and removed at the end\)/.exec(run.stdout)?.[1];
    expect(dataDir).toBeDefined();
    expect(existsSync(dataDir ?? '/')).toBe(false);
  });
});
