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
   * Quotes the bad value after the rule (`, got 12.5 (number)`). Leave it out
   * where the value may be card data: the rule then never shows the value.
   */
  describe?: (value: unknown) => string;
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
  const custom = customMessage(issue);
  const got = wording.describe ? `, got ${wording.describe(value)}` : '';
  switch (issue.code) {
    case 'invalid_value': {
      const values = issue.values.map((v) => JSON.stringify(v)).join(', ');
      if (value === undefined) return `is required: one of ${values}`;
      return custom ?? `must be ${issue.values.length === 1 ? values : `one of ${values}`}${got}`;
    }
    case 'invalid_type':
      if (value === undefined) return 'is required';
      return custom ?? `must be ${article(issue.expected)}${got}`;
    case 'too_small':
      return (
        custom ??
        (issue.origin === 'array' ? `must have at least ${String(issue.minimum)} item(s)` : `must be at least ${String(issue.minimum)}`)
      );
    default:
      // A missing field a custom check refused (`card`) is still missing.
      if (value === undefined) return 'is required';
      return custom ?? (wording.describe ? `is invalid (${issue.message})${got}` : 'is invalid');
  }
}

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
