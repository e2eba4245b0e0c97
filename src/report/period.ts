/**
 * Calendar arithmetic for the report, in the store's time zone: a period's
 * day boundaries and the local hour an instant falls in. Local midnight is
 * not always 24 hours after the last one (DST), so every boundary is computed
 * in the zone with `TZDate`, never by adding milliseconds.
 */
import { TZDate } from '@date-fns/tz';
import { format } from 'date-fns/format';
import { GuardInputError } from '../errors.js';

/** `[start, end)` in epoch ms; `undefined` ends are open. */
export interface PeriodBounds {
  start: number | undefined;
  end: number | undefined;
}

/** Throws `GuardInputError` unless `tz` is an IANA time zone this runtime knows. */
export function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new GuardInputError(
      'INVALID_OPTION',
      `Expected \`tz\` to be an IANA time zone such as Asia/Shanghai, got ${JSON.stringify(tz)}`,
      {
        field: 'tz',
      },
    );
  }
}

/** The machine's time zone (the default of `--tz`). */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** `from`'s local midnight to the local midnight after `to` (both `YYYY-MM-DD`, inclusive) in `tz`. */
export function periodBounds(from: string | undefined, to: string | undefined, tz: string): PeriodBounds {
  checkTimeZone(tz);
  const start = from === undefined ? undefined : dayStart(from, 'from', tz);
  const lastDay = to === undefined ? undefined : dayStart(to, 'to', tz);
  if (start !== undefined && lastDay !== undefined && lastDay < start) {
    throw new GuardInputError('INVALID_OPTION', `Expected \`to\` (${to}) to be the same day as \`from\` (${from}) or later`, {
      field: 'to',
    });
  }
  // The start of the day after `to`, found as a day start itself: not `to`'s start plus a day, which is 01:00
  // where `to` is a day whose midnight is skipped (Santiago 2026-09-06 begins at 01:00; the 7th at 00:00).
  return { start, end: to === undefined ? undefined : dayStart(to, 'to', tz, 1) };
}

/** The first instant of the local day `date` (plus `later` days) in `tz`: its midnight, or 01:00 where a DST change skips midnight. */
function dayStart(date: string, field: 'from' | 'to', tz: string, later = 0): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const [year, month, day] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [0, 0, 0];
  const local = new TZDate(year, month - 1, day, tz);
  // new Date(2026, 1, 30) is March 2nd: a day that does not exist rolls over, so compare back.
  if (!match || local.getFullYear() !== year || local.getMonth() !== month - 1 || local.getDate() !== day) {
    throw new GuardInputError('INVALID_OPTION', `Expected \`${field}\` to be a date YYYY-MM-DD, got ${JSON.stringify(date)}`, { field });
  }
  // Day arithmetic on the calendar date (it rolls over months and years), then midnight found in the zone.
  return later === 0 ? local.getTime() : new TZDate(year, month - 1, day + later, tz).getTime();
}

const QUARTER_MS = 15 * 60_000;

/**
 * The start of the local hour of an instant, memoised per UTC quarter hour:
 * every zone's offset is a whole number of quarter hours, so one quarter
 * never straddles two local hours, and a 100k-line journal computes a few
 * hundred hours instead of 100k.
 */
export function hourStarts(tz: string): (at: number) => number {
  const cache = new Map<number, number>();
  return (at) => {
    const quarter = Math.floor(at / QUARTER_MS);
    let hour = cache.get(quarter);
    if (hour === undefined) {
      hour = hourStart(quarter * QUARTER_MS, tz);
      cache.set(quarter, hour);
    }
    return hour;
  };
}

/**
 * The instant minus the local minutes, seconds and ms it shows: exact in
 * the hour a fall-back repeats, where date-fns' `startOfHour` on a `TZDate`
 * rebuilds the local time and lands on the first of the two 01:00s.
 */
function hourStart(at: number, tz: string): number {
  const local = new TZDate(at, tz);
  return at - local.getMinutes() * 60_000 - local.getSeconds() * 1_000 - local.getMilliseconds();
}

/** The local hour after the one starting at `hour`: always later, even where a zone moves by half an hour. */
export function nextHour(hour: number, tz: string): number {
  const next = hourStart(hour + 3_600_000, tz);
  return next > hour ? next : hour + 3_600_000;
}

/** `2026-03-08 09:05:00`: an instant as the store's wall clock shows it. */
export function localTime(at: number, tz: string, pattern = 'yyyy-MM-dd HH:mm:ss'): string {
  return format(new TZDate(at, tz), pattern);
}

/** `2026-03-08T09:00-05:00`: an instant as ISO 8601 with the zone's offset, for JSON and CSV. */
export function isoTime(at: number, tz: string): string {
  return format(new TZDate(at, tz), "yyyy-MM-dd'T'HH:mm:ssXXX");
}
