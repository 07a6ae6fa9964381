/**
 * @module Commands of the public contract that this version does not have yet (`swarm`, `serve`): they say so
 * plainly and exit 2 instead of pretending to work.
 */
import { CliError } from '../cli-error.js';
import type { CliDeps } from '../context.js';

export interface NotAvailableArgs {
  /** The command as typed, e.g. "swarm discuss". */
  command: string;
  /** What to use meanwhile. */
  instead: string;
}

export async function run(args: NotAvailableArgs, _deps: CliDeps): Promise<number> {
  throw new CliError(`"autodev ${args.command}" is not yet available in this version; ${args.instead}`, 2);
}
