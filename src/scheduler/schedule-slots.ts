/**
 * @module Slot arithmetic of a cron schedule (pure, over croner): the latest slot at or before a time, and the next
 * one after it. Croner computes; it never runs a timer here (the scheduler loop owns time).
 */
import { Cron } from 'croner';

/** A parsed cron pattern; throws croner's own message for a bad pattern or timezone. */
export function parseCron(pattern: string, timezone = 'UTC'): Cron {
  return new Cron(pattern, { paused: true, timezone });
}

/** The latest slot at or before `now` (ms since the epoch), or undefined when the pattern never fired before it. */
export function latestSlotAtOrBefore(cron: Cron, now: number): number | undefined {
  // previousRuns is strictly before `now`'s second; step forward over any slot in between.
  let latest = cron.previousRuns(1, new Date(now))[0]?.getTime();
  for (;;) {
    const next = cron.nextRun(new Date(latest ?? now - 1))?.getTime();
    if (next === undefined || next > now || (latest !== undefined && next <= latest)) return latest;
    latest = next;
  }
}

/** The first slot after `time`, or undefined when there is none. */
export function nextSlotAfter(cron: Cron, time: number): number | undefined {
  return cron.nextRun(new Date(time))?.getTime();
}
