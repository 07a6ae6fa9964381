/**
 * @module Runs one command line and turns its outcome into an exit code: an error becomes ONE line on stderr,
 * `autodev: <message>` — an `AutodevError` or `CliError` exits with its code, a usage mistake with 2, a bug with 1.
 *
 * ### Examples
 * ```ts
 * const code = await runCli(['tasks', 'list', '--json'], deps); // 0, with the JSON on deps.stdout
 * ```
 */
import { CommanderError, type Command } from 'commander';
import { isAutodevError } from '../errors.js';
import { CliError } from './cli-error.js';
import type { CliDeps } from './context.js';
import { buildProgram } from './program.js';

export const USAGE_EXIT_CODE = 2;
export const INTERNAL_EXIT_CODE = 1;

export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const { program, exitCode } = buildProgram(deps);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode();
  } catch (error) {
    if (error instanceof CommanderError) return commanderOutcome(error, program, argv, deps);
    if (isAutodevError(error) || error instanceof CliError) {
      printError(deps, error.message);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    printError(deps, `internal error: ${message} (run with --log-level debug for details)`);
    const level = program.opts<{ logLevel?: string }>().logLevel ?? deps.env.LOG_LEVEL;
    if ((level === 'debug' || level === 'trace') && error instanceof Error && error.stack) {
      deps.stderr.write(`${error.stack}\n`);
    }
    return INTERNAL_EXIT_CODE;
  }
}

function commanderOutcome(error: CommanderError, program: Command, argv: readonly string[], deps: CliDeps): number {
  switch (error.code) {
    case 'commander.helpDisplayed':
    case 'commander.version':
      return 0;
    case 'commander.help':
      // Help shown because a command group was run without a subcommand: a usage mistake.
      return error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
    default: {
      const message = error.message.replace(/^error: /, '').replace(/\.\s*$/, '');
      printError(deps, `${message}; run "${commandPath(program, argv)} --help" for usage`);
      return USAGE_EXIT_CODE;
    }
  }
}

/** The deepest command named on the line, e.g. "autodev tasks create", for the help hint. */
function commandPath(program: Command, argv: readonly string[]): string {
  const names = [program.name()];
  let current = program;
  for (const word of argv) {
    if (word.startsWith('-')) continue;
    const sub = current.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) continue; // an option's value or an argument
    names.push(sub.name());
    current = sub;
  }
  return names.join(' ');
}

function printError(deps: CliDeps, message: string): void {
  deps.stderr.write(`autodev: ${message.replace(/\s*\n\s*/g, ' ').trim()}\n`);
}
