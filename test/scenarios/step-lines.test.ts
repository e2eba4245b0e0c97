import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stepLines } from '../../src/scenarios/step-lines.js';

/** The line of a character offset, counted the way the scanner and editors count: by `\n`. */
const lineAt = (text: string, offset: number) => text.slice(0, offset).split('\n').length;

// JSON whitespace, in runs, with line breaks both Unix and Windows style.
const gap = fc.array(fc.constantFrom(' ', '\t', '\n', '\r\n', '  '), { maxLength: 4 }).map((parts) => parts.join(''));

// Values a step may hold, including strings that look like structure: brackets, quotes, escapes, a "steps" key.
const tricky = fc.constantFrom('[', ']', '{', '}', '"', '\\', '\\"', ',', ':', 'steps', '"steps": [', '\n', '\u2028', '\ud800');
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), tricky);
const value = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(text, fc.constant('steps')), tie('value'), { maxKeys: 3 }),
  ),
})).value;
const indent = fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 4 }), fc.constantFrom('\t', ' '));

/**
 * A scenario file laid out at random: whitespace between every top-level
 * token, each step stringified with its own indent, other keys around
 * `steps` (one named "steps" inside them), and the offset of each step kept
 * as the oracle.
 */
const file = fc
  .record({
    steps: fc.array(value, { maxLength: 6 }),
    before: fc.dictionary(fc.string({ maxLength: 5 }), value, { maxKeys: 2 }),
    after: fc.dictionary(fc.string({ maxLength: 5 }), value, { maxKeys: 2 }),
    gaps: fc.array(gap, { minLength: 40, maxLength: 40 }),
    indents: fc.array(indent, { minLength: 6, maxLength: 6 }),
    bom: fc.boolean(),
  })
  .map(({ steps, before, after, gaps, indents, bom }) => {
    const ws = (k: number) => gaps[k % gaps.length] ?? '';
    const members = (o: Record<string, unknown>, k: number) =>
      Object.entries(o)
        .filter(([key]) => key !== 'steps')
        .map(([key, v]) => `${JSON.stringify(key)}${ws(k)}:${ws(k + 1)}${JSON.stringify(v, null, 2)}`);
    const leading = members(before, 2).map((m) => `${m}${ws(4)},${ws(5)}`);
    let out = `${bom ? '\ufeff' : ''}${ws(0)}{${ws(1)}${leading.join('')}"steps"${ws(6)}:${ws(7)}[${ws(8)}`;
    const offsets: number[] = [];
    for (const [i, step] of steps.entries()) {
      if (i > 0) out += `${ws(9 + i)},${ws(20 + i)}`;
      offsets.push(out.length);
      out += JSON.stringify(step, null, indents[i]) ?? 'null';
    }
    const trailing = members(after, 32).map((m) => `${ws(34)},${ws(35)}${m}`);
    out += `${ws(30)}]${ws(31)}${trailing.join('')}${ws(36)}}${ws(37)}`;
    return { text: out, expected: offsets.map((offset) => lineAt(out, offset)), count: steps.length };
  });

describe('stepLines', () => {
  it('finds the line of every step, whatever the layout (property)', () => {
    fc.assert(
      fc.property(file, ({ text, expected, count }) => {
        // The generator makes valid JSON whose steps are the ones laid out.
        expect((JSON.parse(text.replace(/^\ufeff/, '')) as { steps: unknown[] }).steps).toHaveLength(count);
        expect(stepLines(text)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('finds them in a file as JSON.stringify indents it', () => {
    const text = JSON.stringify({ name: 'x', steps: [{ advance: '1s' }, { settle: { attempt: 'a', status: 'approved' } }] }, null, 2);
    expect(stepLines(text)).toEqual([4, 7]);
  });

  it('takes the last "steps" key, as JSON.parse does, and ignores a "steps" key deeper down', () => {
    const text = '{"steps": [1,\n2],\n"config": {"steps": [\n\n3]},\n"st\\u0065ps": [\n{"a": "]"},\n\n"x"]}';
    expect(stepLines(text)).toEqual([7, 9]);
  });

  it('finds nothing when there is no top-level steps array', () => {
    expect(stepLines('{"name": "x", "steps": {"a": [1]}}')).toEqual([]);
    expect(stepLines('[{"steps": [1]}]')).toEqual([]);
  });

  it('follows a file nested 100,000 levels deep without overflowing the stack', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(stepLines(`{"steps": [\n${deep},\n{"advance": "1s"}]}`)).toEqual([2, 3]);
  });
});
