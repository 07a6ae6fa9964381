/**
 * @module Wall-clock reset times to instants: time zones, DST, "today or tomorrow", dates with and without a year.
 */
import { describe, expect, it } from 'vitest';
import {
  isValidTimeZone,
  monthFromName,
  resolveWallClockTime,
  to24Hour,
  zonedTimeToEpoch,
} from '../../src/llm/reset-time.js';

describe('zonedTimeToEpoch', () => {
  it('converts wall-clock time in a zone to an instant', () => {
    expect(zonedTimeToEpoch(2026, 11, 24, 1, 39, 'UTC')).toBe(Date.UTC(2026, 10, 24, 1, 39));
    expect(zonedTimeToEpoch(2026, 7, 1, 12, 0, 'Europe/Berlin')).toBe(Date.UTC(2026, 6, 1, 10, 0)); // CEST, UTC+2
    expect(zonedTimeToEpoch(2026, 1, 15, 12, 0, 'Europe/Berlin')).toBe(Date.UTC(2026, 0, 15, 11, 0)); // CET, UTC+1
    expect(zonedTimeToEpoch(2026, 11, 24, 4, 30, 'Asia/Kolkata')).toBe(Date.UTC(2026, 10, 23, 23, 0));
  });

  it('handles the days clocks change', () => {
    // New York, 2026-03-08: 2am jumps to 3am. 3:30am EDT = 07:30 UTC; 1:30am EST = 06:30 UTC.
    expect(zonedTimeToEpoch(2026, 3, 8, 3, 30, 'America/New_York')).toBe(Date.UTC(2026, 2, 8, 7, 30));
    expect(zonedTimeToEpoch(2026, 3, 8, 1, 30, 'America/New_York')).toBe(Date.UTC(2026, 2, 8, 6, 30));
    // 2026-11-01: 2am falls back to 1am. 3am EST = 08:00 UTC.
    expect(zonedTimeToEpoch(2026, 11, 1, 3, 0, 'America/New_York')).toBe(Date.UTC(2026, 10, 1, 8, 0));
  });
});

describe('resolveWallClockTime', () => {
  const now = Date.UTC(2026, 10, 24, 0, 35);

  it('a time only is today, or tomorrow once well past', () => {
    expect(resolveWallClockTime({ hour: 1, minute: 39 }, now, 'UTC')).toBe(Date.UTC(2026, 10, 24, 1, 39));
    expect(resolveWallClockTime({ hour: 0, minute: 0 }, now, 'UTC')).toBe(Date.UTC(2026, 10, 25, 0, 0));
  });

  it('a month and day without a year is the next such date', () => {
    expect(resolveWallClockTime({ hour: 9, minute: 0, month: 12, day: 1 }, now, 'UTC')).toBe(
      Date.UTC(2026, 11, 1, 9, 0),
    );
    expect(resolveWallClockTime({ hour: 9, minute: 0, month: 1, day: 2 }, now, 'UTC')).toBe(Date.UTC(2027, 0, 2, 9, 0));
  });

  it('an unknown zone is read as UTC rather than failing', () => {
    expect(resolveWallClockTime({ hour: 3, minute: 0 }, now, 'Not/AZone')).toBe(Date.UTC(2026, 10, 24, 3, 0));
  });
});

describe('small parsers', () => {
  it('months, meridiems, zones', () => {
    expect(monthFromName('Nov')).toBe(11);
    expect(monthFromName('september')).toBe(9);
    expect(monthFromName('at')).toBeUndefined();
    expect(to24Hour(12, 'am')).toBe(0);
    expect(to24Hour(12, 'PM')).toBe(12);
    expect(to24Hour(3, 'p.m.')).toBe(15);
    expect(isValidTimeZone('America/Bogota')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
  });
});
