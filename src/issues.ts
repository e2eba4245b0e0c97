import type * as z from 'zod/mini';

/**
 * zod issues, made human: the one place that turns an issue into the rule a
 * person reads after the field's name ("is required", "must be a string").
 * Used for a `Sale` (sale.ts) and for scenario files (scenarios/load.ts).
 */

export type Issue = z.core.$ZodIssue;
export type IssuePath = readonly PropertyKey[];

export interface IssueWording {
  /** What an unknown key is not a field of: `a Sale`, `` `config` ``. */
  container: string;
  /**
   * The rule when the schema gave no message of its own; `is invalid`
   * without it. {@link spelledOut} words it from the issue and quotes the
   * value: for scenario files, not for a Sale, whose values may be card data.
   */
  fallback?: (issue: Issue, value: unknown) => string;
}

/** The schema's own message, or `undefined` when zod wrote it ("Invalid input", "Invalid input: expected …"). */
export function customMessage(issue: Issue): string | undefined {
  return issue.message !== '' && issue.message !== 'Invalid input' && !issue.message.startsWith('Invalid input:')
    ? issue.message
    : undefined;
}

/** The rule `issue` says `value` (the value at its path) broke, worded for a person. */
export function issueRule(issue: Issue, value: unknown, wording: IssueWording): string {
  if (issue.code === 'unrecognized_keys') return `is not a field of ${wording.container}`;
  // A missing field is missing, whatever check refused it (a custom one for `card`).
  if (value === undefined) return issue.code === 'invalid_value' ? `is required: one of ${listed(issue.values)}` : 'is required';
  return customMessage(issue) ?? wording.fallback?.(issue, value) ?? 'is invalid';
}

/**
 * A fallback for {@link issueRule} that words the rule from the issue itself
 * (`must be an integer`, `must be one of "a", "b"`) and quotes the value with
 * `describe`. Kept apart so the core, which never uses it, does not bundle it.
 */
export function spelledOut(describe: (value: unknown) => string): (issue: Issue, value: unknown) => string {
  return (issue, value) => {
    const got = `, got ${describe(value)}`;
    switch (issue.code) {
      case 'invalid_type':
        return `must be ${article(issue.expected)}${got}`;
      case 'invalid_value':
        return `must be ${issue.values.length === 1 ? listed(issue.values) : `one of ${listed(issue.values)}`}${got}`;
      case 'too_small':
        return issue.origin === 'array'
          ? `must have at least ${String(issue.minimum)} item(s)`
          : `must be at least ${String(issue.minimum)}`;
      default:
        return `is invalid (${issue.message})${got}`;
    }
  };
}

const listed = (values: readonly unknown[]): string => values.map((v) => JSON.stringify(v)).join(', ');

/** `string` → `a string`, `int` → `an integer`. */
function article(expected: string): string {
  if (expected === 'int') return 'an integer';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** The path where the issue is, and for an unknown key the key's own path, one per key. */
export function issuePaths(issue: Issue, base: IssuePath = []): IssuePath[] {
  const path = [...base, ...issue.path];
  return issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...path, key]) : [path];
}

/** `steps[3].settle.status`, `card.pan`. */
export function fieldOf(path: IssuePath): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`)).join('');
}

/** The value at `path` inside `root`, or `undefined` where the path leaves objects and arrays. */
export function valueAt(root: unknown, path: IssuePath): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
