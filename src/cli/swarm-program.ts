/**
 * @module The `swarm` command group of the commander program (also the whole of `claude-swarm`): names, options
 * and help text; `commands/swarm.ts` does the work, loaded when a command runs.
 */
import type { Command } from 'commander';
import type { SwarmArgs } from './commands/swarm.js';
import type { CliDeps, GlobalOptions } from './context.js';

type Act = <A extends unknown[]>(fn: (...args: A) => Promise<number>) => (...args: A) => Promise<void>;

interface JsonFlag {
  json?: boolean;
}

export function registerSwarmCommands(program: Command, deps: CliDeps, act: Act, globals: () => GlobalOptions): void {
  const run = async (args: SwarmArgs) => (await import('./commands/swarm.js')).run(args, deps);
  const swarm = program
    .command('swarm')
    .description('swarm discussions, proposals and status (also installed as claude-swarm)');

  swarm
    .command('discuss')
    .description('read the discussion board, or post to it: --recent [N] | --topic T [--post MESSAGE] [--reply ID]')
    .option('--recent [n]', 'the newest messages (default 20, at most 500), as threads')
    .option('--topic <topic>', 'one topic: show its messages, or the topic a --post starts a thread in')
    .option('--post <message>', 'post this message (as cli:<user>) in --topic, or as a reply with --reply')
    .option('--reply <id>', 'the message id a --post answers (the reply takes its topic)')
    .option('--json', 'print {"discussions": [...]} (or the posted message)')
    .action(
      act((options: { recent?: string | boolean; topic?: string; post?: string; reply?: string } & JsonFlag) =>
        run({ action: 'discuss', globals: globals(), ...options }),
      ),
    );

  swarm
    .command('proposals')
    .description('proposals with votes and status, newest first')
    .option('--approved', 'only approved ones (same as --status approved)')
    .option('--status <status>', 'open | approved | rejected')
    .option('--json', 'print {"proposals": [...]}')
    .action(
      act((options: { approved?: boolean; status?: string } & JsonFlag) =>
        run({ action: 'proposals', globals: globals(), ...options }),
      ),
    );

  swarm
    .command('propose')
    .description('propose work for a human to approve: a story on a repository, or a product')
    .requiredOption('--title <title>', 'what the proposal is about')
    .requiredOption('--body <body>', 'why and what (markdown)')
    .option('--kind <kind>', 'story (default): a story on --repo; product: a build_product task')
    .option('--repo <name>', 'the repository a story proposal is for (can also be given when approving)')
    .option('--json', 'print the proposal as JSON')
    .action(
      act((options: { title: string; body: string; kind?: string; repo?: string } & JsonFlag) =>
        run({ action: 'propose', globals: globals(), ...options }),
      ),
    );

  swarm
    .command('vote')
    .description('vote on an open proposal; one vote per voter')
    .argument('<id>', 'proposal id')
    .argument('<vote>', 'up | down')
    .option('--reason <reason>', 'why (kept with the vote)')
    .option('--json', 'print the proposal as JSON')
    .action(
      act((id: string, vote: string, options: { reason?: string } & JsonFlag) =>
        run({ action: 'vote', globals: globals(), id, vote, ...options }),
      ),
    );

  swarm
    .command('approve')
    .description('approve an open proposal: its story starts (or its build_product task is queued)')
    .argument('<id>', 'proposal id')
    .option('--repo <name>', 'for a story proposal: the repository it runs on (when it names none)')
    .option('--reason <note>', 'an optional note kept with the decision')
    .option('--json', 'print the proposal as JSON')
    .action(
      act((id: string, options: { repo?: string; reason?: string } & JsonFlag) =>
        run({ action: 'approve', globals: globals(), id, ...options }),
      ),
    );

  swarm
    .command('reject')
    .description('reject an open proposal; the reason is kept')
    .argument('<id>', 'proposal id')
    .option('--reason <reason>', 'why (required)')
    .option('--json', 'print the proposal as JSON')
    .action(
      act((id: string, options: { reason?: string } & JsonFlag) =>
        run({ action: 'reject', globals: globals(), id, ...options }),
      ),
    );

  swarm
    .command('status')
    .description(
      'every agent, queue counts, spend today against the budget, rate limits, open approvals, latest message',
    )
    .option('--json', 'print the status as JSON')
    .action(act((options: JsonFlag) => run({ action: 'status', globals: globals(), ...options })));
}
