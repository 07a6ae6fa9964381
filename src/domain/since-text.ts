/**
 * @module `--since` / `?since=` values: a span back from now (`90s`, `30m`, `1h`, `7d`) or an ISO 8601 time.
 *
 * ### Examples
 * ```ts
 * parseSinceText('1h', Date.parse('2026-01-01T12:00:00Z')) // Date.parse('2026-01-01T11:00:00Z')
 * ```
 */
import { AutodevError } from '../errors.js';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const SPAN = /^(\d{1,6})([smhd])$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;

/** The time (ms) that `text` names, or a VALIDATION_FAILED error saying what is accepted. */
export function parseSinceText(text: string, now: number, what = '--since'): number {
  const span = SPAN.exec(text.trim());
  if (span) return now - Number(span[1]) * UNIT_MS[span[2] as keyof typeof UNIT_MS];
  if (ISO_TIME.test(text.trim())) {
    const time = Date.parse(text.trim());
    if (!Number.isNaN(time)) return time;
  }
  throw new AutodevError(
    'VALIDATION_FAILED',
    `${what} must be a span back from now such as 30m, 1h or 7d, or an ISO time such as 2026-01-31T12:00:00Z; got ${JSON.stringify(text.slice(0, 40))}`,
  );
}
