/**
 * @module The `autodev costs` command's names, options and help, registered on the program with one call; its module
 * (`costs.ts`, with the store and the cost report) loads only when it runs.
 */
import type { Command } from 'commander';
import { COST_GROUPINGS } from '../../domain/cost-grouping.js';
import type { CostsArgs } from './costs.js';
import type { RegisterDeps } from './publish-command.js';

export function registerCostsCommand(program: Command, { deps, act, globals }: RegisterDeps): void {
  program
    .command('costs')
    .description("the agents' tokens and cost, grouped, with totals")
    .option('--by <grouping>', `${COST_GROUPINGS.join(' | ')} (default role)`)
    .option('--since <when>', 'only sessions started since then: 30m, 1h, 7d or an ISO time')
    .option('--json', 'print {"by", "since", "rows": [...], "totals"}')
    .action(
      act(async (options: Omit<CostsArgs, 'globals'>) =>
        (await import('./costs.js')).run({ globals: globals(), ...options }, deps),
      ),
    );
}
