/**
 * @module The filters of `autodev logs` and `GET /api/logs` (role, minimum level, since) from their text, with a
 * clear error for a bad value; and the limits both use.
 */
import { isRole, ROLES } from '../domain/roles.js';
import { parseSinceText } from '../domain/since-text.js';
import { AutodevError } from '../errors.js';
import type { RecordedLevelName } from './process-log-sink.js';
import type { LogFilters } from './read-process-logs.js';

export const DEFAULT_LOG_LIMIT = 200;
export const MAX_LOG_LIMIT = 10_000;
/** Levels a reader may ask for: info and above (lower levels are never recorded). */
export const QUERY_LEVELS = ['info', 'warn', 'error', 'fatal'] as const satisfies readonly RecordedLevelName[];

/** The filters `--agent`, `--level` and `--since` (or `?role=&level=&since=`) ask for; bad values are errors. */
export function parseLogFilters(
  input: { role?: string | undefined; level?: string | undefined; since?: string | undefined },
  now: number,
  names = { role: '--agent', level: '--level', since: '--since' },
): LogFilters {
  if (input.role !== undefined && !isRole(input.role)) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `${names.role} must be a role (${ROLES.join(', ')}); got ${JSON.stringify(input.role.slice(0, 40))}`,
    );
  }
  if (input.level !== undefined && !(QUERY_LEVELS as readonly string[]).includes(input.level)) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `${names.level} must be one of ${QUERY_LEVELS.join(', ')}; got ${JSON.stringify(input.level.slice(0, 40))}`,
    );
  }
  return {
    role: input.role,
    minLevel: input.level as RecordedLevelName | undefined,
    since: input.since === undefined ? undefined : parseSinceText(input.since, now, names.since),
  };
}
