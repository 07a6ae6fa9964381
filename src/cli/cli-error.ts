/**
 * @module Failures that belong to the command line only and have no HTTP status (e.g. "port 8080 is in use").
 * Everything else a command throws is an `AutodevError` from `src/errors.ts`, usage mistakes included (exit code 2).
 */

/** A failure the CLI reports as one line and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
