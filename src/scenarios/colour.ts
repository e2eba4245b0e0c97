/**
 * Colour for the `default` reporter, and only where a person reads it: a
 * terminal. Decided once, in this order: `--no-color` / `--color`, then
 * `FORCE_COLOR` (on unless "0" or "false", as Node and chalk read it), then
 * `NO_COLOR` (https://no-color.org: present and not empty turns it off),
 * then whether stdout is a terminal. Files and other reporters never get
 * colour: escape codes in a CI log or a ticket are noise.
 */

export interface Paint {
  green(text: string): string;
  red(text: string): string;
  dim(text: string): string;
}

export const PLAIN: Paint = { green: (t) => t, red: (t) => t, dim: (t) => t };

const ansi = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
export const ANSI: Paint = { green: ansi(32, 39), red: ansi(31, 39), dim: ansi(2, 22) };

export interface ColourContext {
  /** `--color` (true), `--no-color` (false), neither (undefined). */
  flag: boolean | undefined;
  env: Readonly<Record<string, string | undefined>>;
  isTTY: boolean;
}

export function useColour({ flag, env, isTTY }: ColourContext): boolean {
  if (flag !== undefined) return flag;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return isTTY;
}
