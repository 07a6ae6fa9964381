/**
 * @module Retry delay after a failed attempt: exponential, capped, with a little jitter so retries spread out.
 */

export interface BackoffSettings {
  /** Delay after the first failed attempt, in ms. */
  baseMs: number;
  /** The delay never grows past this, in ms. */
  maxMs: number;
}

/**
 * Delay before attempt `attempts + 1`, given `attempts` already made (1 or more).
 *
 * ### Examples
 * ```ts
 * retryDelayMs(1, { baseMs: 1000, maxMs: 60_000 }, () => 0) // 1000
 * retryDelayMs(3, { baseMs: 1000, maxMs: 60_000 }, () => 0) // 4000
 * ```
 */
export function retryDelayMs(attempts: number, settings: BackoffSettings, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempts - 1);
  const delay = Math.min(settings.maxMs, settings.baseMs * 2 ** exponent);
  // Up to 10% jitter, never past the cap.
  return Math.min(settings.maxMs, Math.round(delay * (1 + 0.1 * random())));
}
