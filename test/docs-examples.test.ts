import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { codeBlocks, type CodeBlock } from './helpers/markdown.js';

/**
 * Every ```ts block in docs/*.md compiles against the public API as a user
 * would write it: importing from `pos-duplicate-guard` and its subpaths
 * (mapped to the src entry files that package.json "exports" publishes),
 * under the repository's compiler options, all blocks in one program. Readers
 * copy these blocks into checkout code that moves money; a renamed option or
 * a forgotten `await` must fail here, not in their till. (The README's blocks
 * are test/readme.test.ts's: its quick start runs.)
 *
 * A block is a whole module unless an HTML comment on the line right before
 * its fence says otherwise:
 *
 *   <!-- example: prelude=NAME[,NAME…] -->
 *                                     a fragment: it uses what earlier blocks
 *                                     or the prose set up (a `guard`, a `sale`,
 *                                     the till's `ui`…); the PRELUDES pieces
 *                                     named declare those, and the block is
 *                                     checked after them, or inside the piece
 *                                     that has a `//> block` line (a fragment
 *                                     of a function or of an object).
 *   <!-- example: file=PATH -->       the block is the module PATH (relative,
 *                                     e.g. src/local-storage-store.ts), so
 *                                     another block can import it as the page
 *                                     does ('../src/local-storage-store.js').
 *   <!-- example: skip (REASON) -->   not a TypeScript program (a listing of
 *                                     a type's fields); the reason is required.
 *
 * `prelude=` and `file=` combine. The compiler options are tsconfig.json's,
 * except that a block may leave a value or a parameter unused (the reader's
 * code goes on where the block stops): of noUnusedLocals, only unused
 * imports count, and noUnusedParameters is off.
 */

const root = fileURLToPath(new URL('../', import.meta.url));
const docsDir = join(root, 'docs');
/** Where the blocks live in the program: files that exist only in memory, inside the repository so that `pg` and `vitest` resolve. */
const virtualRoot = join(root, '.docs-examples');

/**
 * What the prose around a fragment has set up, in pieces a directive lists
 * (`prelude=till,guard`). `PDG` is the package, for types only: a block
 * imports the values it uses itself. The till's own pieces (`ui`,
 * `processor`, …) have the types a real till would give them, never `any`,
 * so what a block does with the guard's answers is checked.
 */
const PRELUDES: Record<string, string> = {
  /** The till's own code and settings, which the pages leave to the reader. */
  till: `
import type * as PDG from 'pos-duplicate-guard';
declare const merchantId: string;
declare const secret: string;
declare const rotated: boolean;
declare const operator: string;
declare const timeoutMs: number;
declare const wallet: { token: string };
declare function supervisorPinOk(supervisor: string | undefined): Promise<boolean>;
declare function showBanner(message: string): void;
declare function showToCashier(message: string): void;
declare function reportBug(error: Error): void;
declare const processor: {
  charge(request: { amount: number; currency?: string; idempotencyKey: string }): Promise<PDG.SubmitResult>;
};
declare const ui: {
  ask(message: string): Promise<boolean>;
  confirm(messages: string[]): Promise<boolean>;
  supervisorOverride(decision: PDG.Decision): Promise<PDG.OverrideRequest | false>;
  showBlocked(reasons: PDG.Reason[]): void;
  confirmRepeat(decision: PDG.Decision): Promise<boolean>;
  chooseBlockAction(decision: PDG.Decision): Promise<{ kind: 'override'; reason: string } | { kind: 'cancel' }>;
};
declare const stripe: {
  paymentIntents: {
    search(query: { query: string }): Promise<{ data: { id: string; status: string }[] }>;
    cancel(id: string): Promise<unknown>;
  };
};
declare const host: {
  send(message: Record<string, string | number>): Promise<{ responseCode: string; originalApproved?: boolean; authCode?: string } | undefined>;
};
`,
  /** The page's store, whichever it is. */
  store: `declare const store: import('pos-duplicate-guard').GuardStore;\n`,
  'file-store': `declare const store: import('pos-duplicate-guard/node').FileStore;\n`,
  'idb-store': `declare const store: import('pos-duplicate-guard/idb').IndexedDbStore;\n`,
  /** A guard, a sale, the till's \`submit\` to its processor, and the attempt \`begin\` gave (docs/checkout.md). */
  guard: `
declare const guard: import('pos-duplicate-guard').Guard;
declare const sale: import('pos-duplicate-guard').Sale;
declare function submit(attempt: import('pos-duplicate-guard').Attempt): Promise<import('pos-duplicate-guard').SubmitResult>;
declare const attempt: import('pos-duplicate-guard').Attempt;
`,
  /** The web POS example's own processor client (docs/web-pos.md quotes the example). */
  'web-pos': `import { inquire, reverse, submitCharge } from ${JSON.stringify(join(root, 'examples/web-pos/page/api.js'))};\n`,
  /** Wraps a fragment of the till's pay handler: it may \`return\`. */
  'pay-handler': `export async function pay(): Promise<void> {
//> block
}
`,
  /** Wraps options of \`createGuard\` beyond the three every page sets. */
  'guard-options': `import { createGuard as createGuardOf } from 'pos-duplicate-guard';
export const guardWithOptions = await createGuardOf({
  merchantId,
  secret,
  store,
//> block
});
`,
  /** After a listing of an exported interface: each must be assignable to the other, so a field the listing gets wrong is named. */
  'is-GuardIssue': `//> block
import type { GuardIssue as Exported } from 'pos-duplicate-guard';
declare const listed: GuardIssue;
declare const exported: Exported;
export const listedIsExported: Exported = listed;
export const exportedIsListed: GuardIssue = exported;
`,
};

interface Directive {
  /** The PRELUDES pieces, in order. */
  prelude: string[];
  file: string | undefined;
  skip: string | undefined;
}

/** Parses `prelude=NAME[,NAME…] file=PATH` or `skip (REASON)`; throws on anything else, so a typo cannot silently turn a check off. */
function parseDirective(text: string | undefined): Directive {
  const directive: Directive = { prelude: [], file: undefined, skip: undefined };
  if (text === undefined) return directive;
  const skip = /^skip\b\s*(.*)$/.exec(text);
  if (skip) {
    const reason = /^\((.*\S.*)\)$/.exec(skip[1]!)?.[1]?.trim();
    if (reason === undefined) throw new Error(`"skip" needs a reason: <!-- example: skip (why this block is not a program) -->`);
    directive.skip = reason;
    return directive;
  }
  for (const part of text.split(/\s+/)) {
    const [key, value] = part.split('=');
    const pieces = value?.split(',') ?? [];
    if (key === 'prelude' && pieces.length > 0 && pieces.every((piece) => piece in PRELUDES)) directive.prelude = pieces;
    else if (key === 'file' && value !== undefined && /^[\w./-]+\.ts$/.test(value) && !value.startsWith('..')) directive.file = value;
    else throw new Error(`unknown "${part}" (known: prelude=${Object.keys(PRELUDES).join('|')}, file=PATH.ts, skip (reason))`);
  }
  return directive;
}

interface Example {
  /** docs/NAME.md:LINE, the fence's line. */
  where: string;
  doc: string;
  block: CodeBlock;
  directive: Directive | undefined;
  /** Why the directive is not usable, when it is not. */
  directiveError: string | undefined;
  /** The module the block is checked as. */
  fileName: string;
  source: string;
  /** 0-based line of `source` where the block's first line is. */
  offset: number;
}

const docs = readdirSync(docsDir)
  .filter((name) => name.endsWith('.md'))
  .sort();

const examples: Example[] = docs.flatMap((name) =>
  codeBlocks(readFileSync(join(docsDir, name), 'utf8'))
    .filter((block) => block.lang === 'ts' || block.lang === 'typescript')
    .map((block): Example => {
      const doc = `docs/${name}`;
      let directive: Directive | undefined;
      let directiveError: string | undefined;
      try {
        directive = parseDirective(block.directive);
      } catch (error) {
        directiveError = (error as Error).message;
      }
      // Each piece goes before the block, or around it when it has a `//> block` line (the first piece outermost).
      let [before, after] = ['', ''];
      for (const piece of directive?.prelude ?? []) {
        const [head, tail = ''] = PRELUDES[piece]!.split('//> block\n');
        [before, after] = [before + head!, tail + after];
      }
      const fileName = join(virtualRoot, directive?.file ?? `${name.replace(/\.md$/, '')}-${block.line}.ts`);
      return {
        where: `${doc}:${block.line}`,
        doc,
        block,
        directive,
        directiveError,
        fileName,
        source: `${before}${block.code}\n${after}`,
        offset: before.split('\n').length - 1,
      };
    }),
);
const checked = examples.filter((example) => example.directive !== undefined && example.directive.skip === undefined);

/** `pos-duplicate-guard` and each subpath package.json exports for code (not the .sql/.json files), mapped to its src entry. */
function entryPaths(): Record<string, string[]> {
  const exports = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports;
  const paths: Record<string, string[]> = {};
  for (const [subpath, target] of Object.entries(exports)) {
    if (typeof target !== 'object') continue;
    const entry = join(root, 'src', `${subpath === '.' ? 'index' : subpath.slice(2)}.ts`);
    if (!existsSync(entry)) throw new Error(`package.json exports ${subpath}, but ${entry} does not exist`);
    paths[`pos-duplicate-guard${subpath.slice(1)}`] = [entry];
  }
  return paths;
}

/** The repository's options, with the package's entry points mapped to src, as a user's project would resolve them. */
function compilerOptions(): ts.CompilerOptions {
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), (path) => ts.sys.readFile(path));
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  return {
    ...parsed.options,
    noEmit: true,
    noUnusedLocals: true,
    noUnusedParameters: false,
    moduleDetection: ts.ModuleDetectionKind.Force,
    baseUrl: root,
    paths: entryPaths(),
  };
}

/** TS6133 "declared but never read", TS6196 "declared but never used", TS6192 "all imports unused". */
const UNUSED = new Set([6133, 6192, 6196]);

/** Whether the diagnostic is about an unused import: a reader's linter or tsconfig flags those, so the doc must not have them. */
function isUnusedImport(file: ts.SourceFile, diagnostic: ts.Diagnostic): boolean {
  const start = diagnostic.start ?? -1;
  const inImport = (node: ts.Node): boolean =>
    node.getStart(file) <= start && start < node.getEnd() && (ts.isImportDeclaration(node) || (ts.forEachChild(node, inImport) ?? false));
  return ts.forEachChild(file, inImport) ?? false;
}

/** One program for every checked block; the diagnostics of each block's module, by file name. */
function typeCheck(): { global: readonly ts.Diagnostic[]; byFile: Map<string, readonly ts.Diagnostic[]> } {
  const options = compilerOptions();
  const sources = new Map(checked.map((example) => [example.fileName, example.source]));
  const host = ts.createCompilerHost(options, true);
  const { fileExists, directoryExists, readFile, getSourceFile } = host;
  host.fileExists = (path) => sources.has(path) || fileExists.call(host, path);
  host.directoryExists = (path) => path === virtualRoot || path.startsWith(`${virtualRoot}/`) || directoryExists!.call(host, path);
  host.readFile = (path) => sources.get(path) ?? readFile.call(host, path);
  host.getSourceFile = (path, language, onError, shouldCreate) => {
    const text = sources.get(path);
    return text === undefined
      ? getSourceFile.call(host, path, language, onError, shouldCreate)
      : ts.createSourceFile(path, text, language, true);
  };
  const program = ts.createProgram({ rootNames: [...sources.keys()], options, host });
  const byFile = new Map<string, readonly ts.Diagnostic[]>();
  for (const fileName of sources.keys()) {
    const file = program.getSourceFile(fileName);
    byFile.set(fileName, file ? [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)] : []);
  }
  return { global: [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()], byFile };
}

/** The block's line (0-based) a diagnostic is on, or undefined when it is in the prelude around it. */
function blockLine(example: Example, diagnostic: ts.Diagnostic): number | undefined {
  if (diagnostic.file?.fileName !== example.fileName || diagnostic.start === undefined) return undefined;
  const line = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line - example.offset;
  return line >= 0 && line < example.block.code.split('\n').length ? line : undefined;
}

/** A block may leave a value unused (the reader's code goes on where it stops), but not import what it does not use; a prelude may. */
function counts(example: Example, diagnostic: ts.Diagnostic): boolean {
  if (!UNUSED.has(diagnostic.code)) return true;
  return diagnostic.file !== undefined && blockLine(example, diagnostic) !== undefined && isUnusedImport(diagnostic.file, diagnostic);
}

/** `docs/x.md:42: TS2339 Property … ` with the doc's line, or the prelude's when the error is in the prelude. */
function describeDiagnostic(example: Example, diagnostic: ts.Diagnostic): string {
  const text = `TS${diagnostic.code} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
  if (diagnostic.file === undefined || diagnostic.start === undefined) return `${example.where}: ${text}`;
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  if (diagnostic.file.fileName !== example.fileName) return `${example.where}: in ${diagnostic.file.fileName}:${line + 1}: ${text}`;
  const inBlock = blockLine(example, diagnostic);
  if (inBlock === undefined) {
    return `${example.where}: in prelude "${example.directive?.prelude.join(',')}", line ${line + 1} of the checked module: ${text}`;
  }
  return `${example.doc}:${example.block.line + 1 + inBlock}:${character + 1}: ${text}`;
}

let result: ReturnType<typeof typeCheck> | undefined;
const diagnostics = () => (result ??= typeCheck());

describe('docs/*.md TypeScript examples', () => {
  it('finds the blocks, and checks most of them', () => {
    expect(examples.length).toBeGreaterThanOrEqual(20);
    expect(checked.length).toBeGreaterThanOrEqual(examples.length - 3);
  });

  it('each <!-- example: … --> directive is one the test knows, and each skip says why', () => {
    expect(
      examples.filter((example) => example.directiveError !== undefined).map((example) => `${example.where}: ${example.directiveError}`),
    ).toEqual([]);
  });

  it('no directive is left without a block after it', () => {
    const stray = docs.flatMap((name) =>
      readFileSync(join(docsDir, name), 'utf8')
        .split('\n')
        .flatMap((line, index, lines) =>
          line.includes('<!-- example:') && !/^```(ts|typescript)$/.test(lines[index + 1] ?? '') ? [`docs/${name}:${index + 1}`] : [],
        ),
    );
    expect(stray).toEqual([]);
  });

  it('two blocks do not claim one file=', () => {
    const names = checked.map((example) => example.fileName);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
  });

  it('the program itself is sound (options, globals)', () => {
    expect(diagnostics().global.map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'))).toEqual([]);
  }, 60_000);

  it.each(checked.map((example) => [example.where, example] as const))('%s compiles', (_where, example) => {
    const found = (diagnostics().byFile.get(example.fileName) ?? []).filter((diagnostic) => counts(example, diagnostic));
    expect(found.map((diagnostic) => describeDiagnostic(example, diagnostic))).toEqual([]);
  });
});
