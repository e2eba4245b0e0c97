/** The fenced code blocks of a Markdown file (README, docs/*.md), as the tests that keep them true read them. */

export interface CodeBlock {
  lang: string;
  code: string;
  section: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The `<!-- example: … -->` directive on the line before the fence, if any. */
  directive: string | undefined;
}

/** Each fenced block: its language, its text, the `## ` section it is in, where it starts and the directive before it. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let section = '';
  let previous = '';
  let open: { lang: string; lines: string[]; line: number; directive: string | undefined } | undefined;
  for (const [index, line] of markdown.split('\n').entries()) {
    if (open === undefined && line.startsWith('## ')) section = line.slice(3).trim();
    else if (open === undefined && line.startsWith('```')) {
      open = {
        lang: line.slice(3).trim(),
        lines: [],
        line: index + 1,
        directive: /^<!--\s*example:(.*?)-->\s*$/.exec(previous)?.[1]?.trim(),
      };
    } else if (open !== undefined && line.startsWith('```')) {
      blocks.push({ lang: open.lang, code: open.lines.join('\n'), section, line: open.line, directive: open.directive });
      open = undefined;
    } else open?.lines.push(line);
    previous = line;
  }
  return blocks;
}
