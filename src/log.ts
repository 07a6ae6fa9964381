/**
 * @module Structured logging (pino): one root logger per process, a child per component (`component` field).
 * JSON lines by default; pretty, human-readable lines on a terminal. Level from `--log-level` or LOG_LEVEL.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function isLogLevel(value: string): value is LevelWithSilent {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Human-readable output (pino-pretty); defaults to on when stderr is a terminal. */
  pretty?: boolean;
  /** Where log lines go; defaults to stderr so stdout stays clean for command output. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level =
    options.level ?? (isLogLevel(process.env.LOG_LEVEL ?? '') ? (process.env.LOG_LEVEL as LevelWithSilent) : 'info');
  const pretty = options.pretty ?? (!options.destination && process.stderr.isTTY === true);
  if (pretty) {
    return pino({
      level,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, ignore: 'pid,hostname' } },
    });
  }
  return pino({ level, base: { pid: process.pid } }, (options.destination ?? process.stderr) as pino.DestinationStream);
}

/** A component's logger, e.g. `componentLogger(root, 'queue')`. */
export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component });
}
