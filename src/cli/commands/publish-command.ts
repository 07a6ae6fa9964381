/**
 * @module The `autodev publish` command's names, options and help, registered on the program with one call; its
 * module (`publish.ts`, with the publishers) loads only when it runs, so other commands start as quickly as before.
 */
import type { Command } from 'commander';
import type { CliDeps, GlobalOptions } from '../context.js';
import type { PublishArgs } from './publish.js';

export interface RegisterDeps {
  deps: CliDeps;
  act: <A extends unknown[]>(fn: (...args: A) => Promise<number>) => (...args: A) => Promise<void>;
  globals: () => GlobalOptions;
}

export function registerPublishCommand(program: Command, { deps, act, globals }: RegisterDeps): void {
  const publishCommand = { run: async (args: PublishArgs) => (await import('./publish.js')).run(args, deps) };
  program
    .command('publish')
    .description('show what each publisher would send for a product (npm, github_release, gumroad, vercel, apify)')
    .argument('<product>', 'a product directory, or a product name under <data-dir>/projects/')
    .option('--dry-run', 'print the plan and send nothing (required: publishing runs after the publishing approval)')
    .option(
      '--target <target>',
      'only this target (repeatable; default: every target the product names)',
      (target: string, targets: string[] = []) => [...targets, target],
    )
    .option('--json', 'print {"product", "version", "dir", "plans": [...]}')
    .action(
      act((product: string, options: { dryRun?: boolean; target?: string[]; json?: boolean }) =>
        publishCommand.run({ globals: globals(), product, ...options }),
      ),
    );
}
