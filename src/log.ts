/**
 * @module Structured logging (pino): one root logger per process, a child per component (`component` field).
 * JSON lines by default; pretty, human-readable lines on a terminal. Level from `--log-level` or LOG_LEVEL
 * (names: `log-levels.ts`).
 * No secret reaches a line at any level: authorization headers, tokens and passwords are censored by key, and URLs
 * (`url`, `req.url`, ...) lose their `access_token` / `token` query values and their user:password part; with a
 * masker, every known secret value (and those read from the secret store later) is masked in each line. With a
 * `store` destination (long-running processes), lines also go to the store's process log (`logs/process-log-sink.ts`).
 */
import { createRequire } from 'node:module';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import type PinoPretty from 'pino-pretty';
import { isLogLevel } from './log-levels.js';

/** pino-pretty is loaded only by a process that logs to a terminal (its own CommonJS entry, synchronously). */
const loadPinoPretty = () => createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Human-readable output (pino-pretty); defaults to on when stderr is a terminal. */
  pretty?: boolean;
  /** Where log lines go; defaults to stderr so stdout stays clean for command output. */
  destination?: NodeJS.WritableStream;
  /** Masks every line before it is written (the process's secret masker: secrets read from the secret store). */
  masker?: { maskText(text: string): string };
  /**
   * A second destination that gets every line at info and above, masked (the store's `ProcessLogSink`, which keeps
   * what it records); the main destination still gets every line.
   */
  store?: { write(line: string): unknown };
}

/** Query parameters whose values are credentials (the event stream's `?access_token=`). */
const SECRET_QUERY = /([?&](?:access_token|token|api_key|apikey|password)=)[^&#\s]*/gi;
/** `scheme://user:password@host`: the credential part of a URL. */
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]*@/gi;

/** `url` without the credentials it may carry (query tokens, `user:password@`), for logs and messages. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[REDACTED]').replace(URL_CREDENTIALS, '$1[REDACTED]@');
}

const URL_KEYS = new Set(['url', 'databaseUrl', 'database_url', 'DATABASE_URL', 'href']);

/** pino's `redact`: what every logger (and every child) censors, whatever the level. */
export const LOG_REDACTION = {
  paths: [
    'authorization',
    'headers.authorization',
    'headers.cookie',
    'req.headers.authorization',
    'req.headers.cookie',
    '*.authorization',
    'access_token',
    'query.access_token',
    'req.query.access_token',
    '*.access_token',
    'token',
    '*.token',
    'password',
    '*.password',
    'url',
    'req.url',
    '*.url',
    'databaseUrl',
    '*.databaseUrl',
    'DATABASE_URL',
  ],
  censor: (value: unknown, path: string[]) =>
    URL_KEYS.has(path[path.length - 1] ?? '') && typeof value === 'string' ? redactUrl(value) : '[REDACTED]',
};

export function createLogger(options: LoggerOptions = {}): Logger {
  const level =
    options.level ?? (isLogLevel(process.env.LOG_LEVEL ?? '') ? (process.env.LOG_LEVEL as LevelWithSilent) : 'info');
  const pretty = options.pretty ?? (!options.destination && process.stderr.isTTY === true);
  const masker = options.masker;
  const hooks = masker ? { hooks: { streamWrite: (line: string) => masker.maskText(line) } } : {};
  if (options.store) {
    const main = pretty
      ? loadPinoPretty()({ destination: 2, colorize: true, ignore: 'pid,hostname' })
      : ((options.destination ?? process.stderr) as pino.DestinationStream);
    return pino(
      { level, base: { pid: process.pid }, redact: LOG_REDACTION, ...hooks },
      pino.multistream([
        { level: 'trace', stream: main },
        { level: 'info', stream: options.store as pino.DestinationStream },
      ]),
    );
  }
  if (pretty) {
    return pino({
      level,
      redact: LOG_REDACTION,
      ...hooks,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, ignore: 'pid,hostname' } },
    });
  }
  return pino(
    { level, base: { pid: process.pid }, redact: LOG_REDACTION, ...hooks },
    (options.destination ?? process.stderr) as pino.DestinationStream,
  );
}

/** A component's logger, e.g. `componentLogger(root, 'queue')`. */
export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component });
}
