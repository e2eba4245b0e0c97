/* eslint-disable no-control-regex -- control characters in names and XML are what these tests look for */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { scenariosCommand, type CommandIo } from '../../src/scenarios/cli.js';
import type { JsonReport } from '../../src/scenarios/report.js';

/**
 * The reporters, run in-process on files written here: JUnit parsed as CI
 * servers parse it (fast-xml-parser), TAP read line by line, GitHub
 * annotations, and card data masked in every one of them.
 */

const root = mkdtempSync(join(tmpdir(), 'pdg-reporters-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PAN = '4111 1111 1111 1111';
const PAN_DIGITS = /4111[\s.-]?1111[\s.-]?1111[\s.-]?1111/;
/** Everything a careless or hostile file can put in a name. */
const HOSTILE = `]]> & "double" 'single' <tag> \u0001\u001b[2J\ttab\nline \ud800 lone, 50% # not a directive \\ card ${PAN}`;

const sale = { amount: 1250, currency: 'CNY', card: { pan: PAN } };
const SCENARIOS = {
  'a-pass.json': { name: 'passes', tags: ['quick'], steps: [{ begin: sale, as: 'a1', expect: { verdict: 'allow' } }] },
  'b-fail.json': {
    name: HOSTILE,
    tags: ['hostile'],
    steps: [
      { begin: sale, as: 'a1', expect: { verdict: 'allow' } },
      { advance: '1s' },
      { begin: sale, expect: { verdict: 'allow' } },
      { begin: sale, expect: { verdict: 'allow' } },
    ],
  },
  'c-pass.json': { name: 'passes too', tags: ['quick', 'other'], steps: [{ advance: '1s' }, { advance: '2s' }] },
};

/** A folder of scenarios, each written with 2-space indent (so step k + 1 of a file is on line 4 + 3k or so: found by search below). */
function folder(name: string, files: Record<string, unknown>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    writeFileSync(join(dir, file), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

const qa = folder('qa & co', SCENARIOS);
const invalid = folder('invalid', {
  'broken.json': JSON.stringify(
    { name: 'typo', steps: [{ advance: '1s' }, { settle: { attempt: 'x', status: 'approved', authcode: 1 } }] },
    null,
    2,
  ),
});

/** The line where the `index`-th (0-based) top-level step of a 2-space indented file starts. */
function stepLine(file: string, index: number): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const starts = lines.flatMap((line, i) => (line === '    {' ? [i + 1] : []));
  return starts[index] as number;
}

async function run(args: string[], extra: Partial<CommandIo> = {}) {
  let out = '';
  let err = '';
  const code = await scenariosCommand(args, { stdout: (t) => void (out += t), stderr: (t) => void (err += t), ...extra });
  return { code, out, err };
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  htmlEntities: true,
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
  isArray: (name) => ['testsuite', 'testcase'].includes(name),
});

interface Testcase {
  classname: string;
  name: string;
  file: string;
  line?: string;
  time: string;
  failure?: { message: string; type: string; '#text': string };
  error?: { message: string; type: string; '#text': string };
  skipped?: { message: string };
}
interface Junit {
  testsuites: {
    tests: string;
    failures: string;
    errors: string;
    skipped: string;
    testsuite: { name: string; tests: string; failures: string; time: string; testcase: Testcase[] }[];
  };
}

/** XML 1.0's Char production: what a conforming parser accepts at all. */
const NOT_XML_CHAR =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('--reporter junit', () => {
  it('one testsuite per file, one testcase per scenario, the failing step with its line, hostile names intact', async () => {
    const file = join(root, 'reports', 'junit.xml');
    const { code, out } = await run([qa, '--output-file.junit', file]);
    expect(code).toBe(1);
    // The default reporter still prints to the terminal: the common CI setup.
    expect(out.trimEnd().split('\n').at(-1)).toBe('2 passed, 1 failed');
    const xml = readFileSync(file, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).not.toMatch(NOT_XML_CHAR);
    const { testsuites } = parser.parse(xml) as Junit;
    expect(testsuites).toMatchObject({ tests: '3', failures: '1', errors: '0', skipped: '0' });
    expect(testsuites.testsuite.map((s) => [s.name, s.tests, s.failures])).toEqual([
      [join(qa, 'a-pass.json'), '1', '0'],
      [join(qa, 'b-fail.json'), '1', '1'],
      [join(qa, 'c-pass.json'), '1', '0'],
    ]);
    const cases = testsuites.testsuite.flatMap((s) => s.testcase);
    expect(cases.map((c) => c.classname)).toEqual(testsuites.testsuite.map((s) => s.name));
    expect(cases.every((c) => /^\d+\.\d{3}$/.test(c.time))).toBe(true);
    const failing = cases[1] as Testcase;
    // The name as written, but masked and with the characters XML cannot hold written out.
    expect(failing.name).toBe(
      `]]> & "double" 'single' <tag> \\u0001\\u001b[2J\ttab\nline \ufffd lone, 50% # not a directive \\ card [card number removed]`,
    );
    const line = stepLine(join(qa, 'b-fail.json'), 2);
    expect(failing.line).toBe(String(line));
    expect(failing.failure?.type).toBe('ScenarioStepFailure');
    expect(failing.failure?.message).toBe(`step 3 (line ${line}): expected verdict allow; actual verdict block, reasons: IN_FLIGHT`);
    expect(failing.failure?.['#text']).toContain(`step 4 (line ${stepLine(join(qa, 'b-fail.json'), 3)}) at ${join(qa, 'b-fail.json')}:`);
    expect(failing.failure?.['#text']).toContain('expected: verdict allow');
    expect(xml).not.toMatch(PAN_DIGITS);
  });

  it('a file that cannot be loaded is a testcase with an <error>, so CI shows it', async () => {
    const file = join(root, 'reports', 'invalid.xml');
    const { code, err } = await run([invalid, '--reporter', 'junit', '--output-file', file]);
    expect(code).toBe(2);
    expect(err).toContain('1 invalid scenario file: nothing was run');
    const { testsuites } = parser.parse(readFileSync(file, 'utf8')) as Junit;
    expect(testsuites).toMatchObject({ tests: '1', failures: '0', errors: '1' });
    const testcase = testsuites.testsuite[0]?.testcase[0] as Testcase;
    expect(testcase.name).toBe(join(invalid, 'broken.json'));
    expect(testcase.error?.type).toBe('ScenarioFileError');
    expect(testcase.error?.message).toBe(
      `invalid scenario file: step 2 (line ${stepLine(join(invalid, 'broken.json'), 1)}), settle.authcode: is not a field of \`settle\``,
    );
  });
});

describe('--reporter tap', () => {
  it('is TAP version 14: a plan, one test point per scenario, YAML diagnostics under a failure', async () => {
    const { code, out } = await run([qa, '--reporter', 'tap']);
    expect(code).toBe(1);
    const lines = out.trimEnd().split('\n');
    expect(lines.slice(0, 2)).toEqual(['TAP version 14', '1..3']);
    const points = lines.filter((l) => /^(not )?ok \d+ - /.test(l));
    expect(points.map((p) => p.split(' - ')[0])).toEqual(['ok 1', 'not ok 2', 'ok 3']);
    // One line per test point, whatever the name holds; `#` escaped so it is no directive.
    expect(points[1]).toMatch(/^not ok 2 - \]\]> & "double" .* 50% \\# not a directive \\\\ card \[card number removed\]$/);
    expect(points[1]).not.toMatch(/[\u0000-\u001f]/);
    // The YAML block: indented two spaces, between --- and ..., right after the failing point.
    const at = lines.indexOf(points[1] as string);
    const end = lines.indexOf('  ...', at);
    expect(lines[at + 1]).toBe('  ---');
    const yaml = lines.slice(at + 2, end);
    expect(yaml.every((l) => l.startsWith('  '))).toBe(true);
    const field = (key: string) => yaml.find((l) => l.startsWith(`  ${key}: `))?.slice(key.length + 4);
    expect(JSON.parse(field('file') ?? '')).toBe(join(qa, 'b-fail.json'));
    expect(Number(field('step'))).toBe(3);
    expect(Number(field('line'))).toBe(stepLine(join(qa, 'b-fail.json'), 2));
    expect(JSON.parse(field('expected') ?? '')).toBe('verdict allow');
    expect(JSON.parse(field('actual') ?? '')).toMatch(/^verdict block/);
    expect(out).not.toMatch(PAN_DIGITS);
  });

  it('a file that cannot be loaded is a failing test point', async () => {
    const { code, out } = await run([invalid, '--reporter', 'tap']);
    expect(code).toBe(2);
    expect(out).toMatch(/^TAP version 14\n1\.\.1\nnot ok 1 - .*broken\.json\n {2}---\n/);
    expect(out).toContain('      message: "is not a field of `settle`"');
  });
});

describe('--json', () => {
  it('gains tags, steps, ms per scenario and the line of each failing step', async () => {
    const { out } = await run([qa, '--json']);
    const report = JSON.parse(out) as JsonReport;
    expect(report.scenarios.map(({ tags, steps }) => ({ tags, steps }))).toEqual([
      { tags: ['quick'], steps: 1 },
      { tags: ['hostile'], steps: 4 },
      { tags: ['quick', 'other'], steps: 2 },
    ]);
    expect(report.scenarios.every((s) => typeof s.ms === 'number' && s.ms >= 0)).toBe(true);
    const failures = report.scenarios[1]?.failures ?? [];
    expect(failures.map((f) => [f.step, f.line])).toEqual([
      [3, stepLine(join(qa, 'b-fail.json'), 2)],
      [4, stepLine(join(qa, 'b-fail.json'), 3)],
    ]);
    expect(out).not.toMatch(PAN_DIGITS);
  });

  it('stays exactly one document on stdout beside a JUnit file', async () => {
    const file = join(root, 'reports', 'beside-json.xml');
    const { out } = await run([qa, '--json', '--output-file.junit', file]);
    expect(() => JSON.parse(out) as unknown).not.toThrow();
    expect(XMLValidator.validate(readFileSync(file, 'utf8'))).toBe(true);
  });
});

describe('GitHub annotations', () => {
  const github = { env: { GITHUB_ACTIONS: 'true' } };

  it('one ::error per failing step, on its file and line, properties and message escaped', async () => {
    const { out } = await run([qa], github);
    const annotations = out.split('\n').filter((l) => l.startsWith('::'));
    expect(annotations).toHaveLength(2);
    const [first] = annotations as [string];
    const file = join(qa, 'b-fail.json');
    expect(first).toMatch(
      new RegExp(
        `^::error file=${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')},line=${stepLine(file, 2)},title=[^:]*::step 3: expected verdict allow; actual verdict block`,
      ),
    );
    const title = /,title=(.*?)::/.exec(first)?.[1] ?? '';
    // `,` `:` `%` CR LF escaped in the title; nothing that would end the property or the command.
    expect(title).toContain('%0Aline');
    expect(title).toContain('lone%2C 50%25');
    expect(title).not.toMatch(/[,:\n\r]/);
    expect(first).not.toMatch(PAN_DIGITS);
    // The closing line is still the last.
    expect(out.trimEnd().split('\n').at(-1)).toBe('2 passed, 1 failed');
  });

  it('a problem of a file that cannot be loaded is annotated on its line', async () => {
    const { out } = await run([invalid], github);
    expect(out).toBe(
      `::error file=${join(invalid, 'broken.json')},line=${stepLine(join(invalid, 'broken.json'), 1)},title=invalid scenario file::step 2, settle.authcode: is not a field of \`settle\`\n`,
    );
  });

  it('go to stderr when stdout carries a document, and nowhere without GITHUB_ACTIONS', async () => {
    const json = await run([qa, '--json'], github);
    expect(() => JSON.parse(json.out) as unknown).not.toThrow();
    expect(json.err.split('\n').filter((l) => l.startsWith('::error '))).toHaveLength(2);
    const plain = await run([qa]);
    expect(plain.out + plain.err).not.toContain('::error');
  });
});

describe('the terminal: time and colour', () => {
  it('on a terminal: colour, and the total time on the line before the closing line', async () => {
    const { out } = await run([qa], { isTTY: true });
    const lines = out.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('2 passed, 1 failed');
    expect(lines.at(-2)).toMatch(/^\u001b\[2mtime [\d.]+ m?s\u001b\[22m$/);
    expect(out).toContain('\u001b[32m✓\u001b[39m passes');
  });

  it('a hostile name stays on its one line, control characters written out, the card masked', async () => {
    const { out } = await run([qa]);
    const line = out.split('\n').find((l) => l.startsWith('✗ ')) ?? '';
    expect(line).toMatch(
      /^✗ \]\]> & "double" 'single' <tag> \\u0001\\u001b\[2J\\u0009tab\\nline \ufffd? ?.* card \[card number removed\] \(4 steps, /,
    );
    expect(out).not.toContain('\u001b');
    // Three scenarios, the failure's five lines under it, the closing line, the final newline.
    expect(out.split('\n')).toHaveLength(10);
  });

  it('NO_COLOR and --no-color turn colour off; FORCE_COLOR and --color turn it on; piped output has no time line', async () => {
    const noColor = await run([qa], { isTTY: true, env: { NO_COLOR: '1' } });
    expect(noColor.out).not.toContain('\u001b[');
    expect(noColor.out).toMatch(/\ntime [\d.]+ m?s\n2 passed, 1 failed\n$/);
    expect((await run([qa, '--no-color'], { isTTY: true, env: { FORCE_COLOR: '1' } })).out).not.toContain('\u001b[');
    expect((await run([qa], { isTTY: false, env: { FORCE_COLOR: '1' } })).out).toContain('\u001b[31m✗');
    expect((await run([qa, '--color'], { isTTY: false, env: { NO_COLOR: '1' } })).out).toContain('\u001b[31m✗');
    const piped = await run([qa]);
    expect(piped.out).not.toContain('\u001b[');
    expect(piped.out).not.toMatch(/^time /m);
  });
});

describe('--list and --bail', () => {
  it('--list prints file, name and tags, runs nothing, exits 0', async () => {
    const { code, out } = await run([qa, '--list', '--tag', 'quick']);
    expect(code).toBe(0);
    expect(out).toBe(
      `${join(qa, 'a-pass.json')}: passes [quick]\n${join(qa, 'c-pass.json')}: passes too [quick, other]\n2 scenarios would run\n`,
    );
    const json = JSON.parse((await run([qa, '--list', '--json'])).out) as { scenarios: { name: string; steps: number }[] };
    expect(json.scenarios.map((s) => s.steps)).toEqual([1, 4, 2]);
    expect(JSON.stringify(json)).not.toMatch(PAN_DIGITS);
  });

  it('--bail stops after the first failing scenario and says how many were not run, in every reporter', async () => {
    const junit = join(root, 'reports', 'bail.xml');
    const { code, out } = await run([qa, '--bail', '--output-file.junit', junit]);
    expect(code).toBe(1);
    expect(out).toMatch(/\n1 scenario not run: --bail stopped at the first failure\n1 passed, 1 failed\n$/);
    const { testsuites } = parser.parse(readFileSync(junit, 'utf8')) as Junit;
    expect(testsuites).toMatchObject({ tests: '3', failures: '1', skipped: '1' });
    expect(testsuites.testsuite[2]?.testcase[0]?.skipped?.message).toContain('--bail');
    const json = JSON.parse((await run([qa, '--bail', '--json'])).out) as JsonReport;
    expect(json.notRun).toEqual([{ file: join(qa, 'c-pass.json'), name: 'passes too' }]);
    expect((await run([qa, '--bail', '--reporter', 'tap'])).out).toContain('ok 3 - passes too # SKIP not run');
  });
});

describe('arguments', () => {
  it.each([
    [['--tags', 'refund'], 'unknown option --tags (did you mean --tag?)'],
    [['--reporters', 'junit'], 'unknown option --reporters (did you mean --reporter?)'],
    [['--outputFile', 'x.xml'], 'unknown option --outputFile (did you mean --output-file?)'],
    [['--bial'], 'unknown option --bial (did you mean --bail?)'],
    [['--frobnicate'], 'unknown option --frobnicate'],
    [['--reporter', 'junt'], '--reporter: unknown reporter "junt" (did you mean junit?); the reporters are default, json, junit, tap'],
    [['--output-file.xml', 'x'], '--output-file.xml: unknown reporter "xml"'],
    [['--tag'], '--tag needs a TAG: nothing follows it'],
    [['--filter', '--list'], '--filter needs a TEXT: got the option --list (write --filter=--list if you mean it as the value)'],
    [['--json=yes'], '--json takes no value (got "yes")'],
    [['--reporter', 'junit', '--reporter', 'tap'], 'the reporters junit and tap would both print to stdout'],
    [['--reporter', 'junit', '--reporter', 'tap', '--output-file', 'x'], '--output-file is ambiguous with the reporters junit, tap'],
  ])('%j is answered in the command’s own words, exit 2', async (args, message) => {
    const { code, out, err } = await run([qa, ...args]);
    expect(code).toBe(2);
    expect(err).toContain(`pos-duplicate-guard scenarios: ${message}`);
    expect(err).not.toContain('ERR_PARSE_ARGS');
    expect(out).toBe('');
  });

  it('--output-file for a single reporter, --output-file.NAME beside the default, --reporter=NAME', async () => {
    const tap = join(root, 'reports', 'single.tap');
    const single = await run([qa, '--reporter=tap', '--output-file', tap]);
    expect(single.out).toBe('');
    expect(readFileSync(tap, 'utf8')).toMatch(/^TAP version 14\n1\.\.3\n/);
    const both = join(root, 'reports', 'nested', 'deeper', 'both.json');
    const beside = await run([qa, '--reporter', 'default', '--reporter', 'json', '--output-file', both]);
    expect(beside.out.trimEnd().split('\n').at(-1)).toBe('2 passed, 1 failed');
    expect((JSON.parse(readFileSync(both, 'utf8')) as JsonReport).failed).toBe(1);
  });

  it('a report that cannot be written is said on stderr, exit 2', async () => {
    const blocker = join(root, 'a-file');
    writeFileSync(blocker, '');
    const { code, err } = await run([qa, '--output-file.junit', join(blocker, 'report.xml')]);
    expect(code).toBe(2);
    expect(err).toContain('cannot write the junit report to');
  });
});
