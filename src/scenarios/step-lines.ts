/**
 * Where each step of a scenario file starts: its 1-based line in the file,
 * so a failure can say `qa/refunds.json:42` and CI can annotate that line.
 *
 * JSON.parse gives no positions, and a JSON parser that does (a CST library)
 * would be a dependency for one number per step. This scanner only runs over
 * text JSON.parse has already accepted, so it never validates: it follows
 * strings, nesting and commas, and notes the line where each item of the
 * top-level `steps` array begins. Like JSON.parse, the last `steps` key wins.
 * One pass, no recursion: a file nested 100,000 levels deep costs a stack
 * array, not the call stack.
 */

interface Frame {
  readonly kind: 'object' | 'array';
  /** In an object: the next string is a key (after `{` or `,`), not a value. */
  expectKey: boolean;
  /** The key the value being read belongs to (kept for the top-level object only). */
  key: string | undefined;
  /** This array is the top-level `steps`: each item start is noted. */
  readonly steps: boolean;
}

/** Lines (1-based, counting LF, CRLF and lone CR) where `steps[0]`, `steps[1]`, … start; `[]` if there is no top-level `steps` array. */
export function stepLines(text: string): number[] {
  const stack: Frame[] = [];
  let lines: number[] = [];
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A line ends in LF, CRLF or a lone CR (an old Mac file): editors and GitHub count all three.
    if (c === NEWLINE || (c === RETURN && text.charCodeAt(i + 1) !== NEWLINE)) {
      line++;
      continue;
    }
    if (c === SPACE || c === TAB || c === RETURN || c === BOM || c === COLON) continue;
    const top = stack[stack.length - 1];
    if (c === COMMA) {
      if (top?.kind === 'object') top.expectKey = true;
      continue;
    }
    if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      stack.pop();
      continue;
    }
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (top?.kind === 'object' && top.expectKey) {
        top.expectKey = false;
        // Decoded (a key may be written "st\u0065ps"), but only at the top level: no other key matters.
        top.key = stack.length === 1 ? (JSON.parse(text.slice(i, end + 1)) as string) : undefined;
      } else if (top?.steps) {
        lines.push(line);
      }
      // A JSON string holds no raw line break (CR or LF): the line count stays right.
      i = end;
      continue;
    }
    // Any other character starts a value: an object, an array or a literal.
    if (top?.steps) lines.push(line);
    const isSteps = stack.length === 1 && top?.kind === 'object' && top.key === 'steps' && c === OPEN_BRACKET;
    if (isSteps) lines = [];
    if (c === OPEN_BRACE) stack.push({ kind: 'object', expectKey: true, key: undefined, steps: false });
    else if (c === OPEN_BRACKET) stack.push({ kind: 'array', expectKey: false, key: undefined, steps: isSteps });
    else i = literalEnd(text, i);
  }
  return lines;
}

const [NEWLINE, SPACE, TAB, RETURN, BOM] = [0x0a, 0x20, 0x09, 0x0d, 0xfeff];
const [QUOTE, BACKSLASH, COLON, COMMA] = [0x22, 0x5c, 0x3a, 0x2c];
const [OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET] = [0x7b, 0x7d, 0x5b, 0x5d];

/** Index of the quote closing the string that opens at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i += 2;
    else if (c === QUOTE) return i;
    else i++;
  }
  return text.length;
}

/** Index of the last character of a number, `true`, `false` or `null` starting at `start`. */
function literalEnd(text: string, start: number): number {
  let i = start;
  while (i + 1 < text.length && !/[\s,\]}]/.test(text.charAt(i + 1))) i++;
  return i;
}
