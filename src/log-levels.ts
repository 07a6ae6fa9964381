/**
 * @module The log levels (pino's names) and their check, apart from `log.ts` so the CLI's option list and the settings
 * schema name them without loading pino.
 */
import type { LevelWithSilent } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function isLogLevel(value: string): value is LevelWithSilent {
  return (LOG_LEVELS as readonly string[]).includes(value);
}
