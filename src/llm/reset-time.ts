/**
 * @module Turns the wall-clock reset times that CLIs print in limit messages ("resets 1:39am (UTC)", "try again at
 * Dec 29th, 2025 10:15 PM") into instants. Pure: the current time and the time zone are parameters.
 */

/** A wall-clock time as printed, with whatever date parts the message gave. */
export interface WallClockTime {
  hour: number;
  minute: number;
  /** 1..12, when the message named a month. */
  month?: number;
  day?: number;
  year?: number;
}

/** A reset printed as "today" may be a little in the past (clock skew, a late message) and still mean today. */
const PAST_TOLERANCE_MS = 10 * 60_000;
const DAY_MS = 24 * 60 * 60_000;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** `'Nov'`, `'november'` -> 11; undefined when it is not a month name. */
export function monthFromName(name: string): number | undefined {
  const index = MONTHS.indexOf(name.slice(0, 3).toLowerCase());
  return index < 0 ? undefined : index + 1;
}

/** 12-hour clock to 24-hour: (12, 'am') -> 0, (3, 'pm') -> 15. */
export function to24Hour(hour: number, meridiem: string): number {
  const pm = meridiem.toLowerCase().startsWith('p');
  return (hour % 12) + (pm ? 12 : 0);
}

/** True when `timeZone` is an IANA zone (or UTC) this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** The time zone of this process, for messages a CLI printed in local time without naming the zone. */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

interface ZonedParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function zonedParts(epochMs: number, timeZone: string): ZonedParts {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(epochMs)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year ?? 1970,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** How far `timeZone` is ahead of UTC at that instant, in ms. */
function zoneOffsetMs(epochMs: number, timeZone: string): number {
  const p = zonedParts(epochMs, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(epochMs / 1000) * 1000;
}

/** The instant at which the clocks in `timeZone` show this date and time (DST-aware). */
export function zonedTimeToEpoch(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  timeZone: string,
): number {
  const naive = Date.UTC(year, month - 1, day, hour, minute);
  const firstGuess = naive - zoneOffsetMs(naive, timeZone);
  const offset = zoneOffsetMs(firstGuess, timeZone);
  return naive - offset;
}

/**
 * The instant a printed reset time refers to, seen from `now` in `timeZone`:
 * - full date: that date;
 * - month and day without a year: the next such date (this year, else next year);
 * - time only: today at that time, or tomorrow if that is already well past.
 *
 * @example
 * // 2026-11-24 00:35 UTC; "resets 1:39am (UTC)"
 * resolveWallClockTime({ hour: 1, minute: 39 }, Date.UTC(2026, 10, 24, 0, 35), 'UTC') === Date.UTC(2026, 10, 24, 1, 39)
 */
export function resolveWallClockTime(time: WallClockTime, now: number, timeZone: string): number {
  const zone = isValidTimeZone(timeZone) ? timeZone : 'UTC';
  const today = zonedParts(now, zone);
  if (time.month !== undefined && time.day !== undefined) {
    if (time.year !== undefined) {
      return zonedTimeToEpoch(time.year, time.month, time.day, time.hour, time.minute, zone);
    }
    const thisYear = zonedTimeToEpoch(today.year, time.month, time.day, time.hour, time.minute, zone);
    if (thisYear >= now - DAY_MS) return thisYear;
    return zonedTimeToEpoch(today.year + 1, time.month, time.day, time.hour, time.minute, zone);
  }
  const todayAt = zonedTimeToEpoch(today.year, today.month, today.day, time.hour, time.minute, zone);
  if (todayAt >= now - PAST_TOLERANCE_MS) return todayAt;
  // Tomorrow's calendar date, computed on the calendar (not +24 h) so DST changes do not shift the hour.
  const tomorrow = new Date(Date.UTC(today.year, today.month - 1, today.day + 1));
  return zonedTimeToEpoch(
    tomorrow.getUTCFullYear(),
    tomorrow.getUTCMonth() + 1,
    tomorrow.getUTCDate(),
    time.hour,
    time.minute,
    zone,
  );
}
