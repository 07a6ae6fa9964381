/**
 * @module The `autodev secrets` command group's names, options and help (its actions in `secrets.ts`, loaded when
 * one runs), registered by `program.ts` with one line.
 */
import type { Command } from 'commander';
import type { CliDeps, GlobalOptions } from '../context.js';
import type { SecretsArgs } from './secrets.js';

interface Registration {
  deps: CliDeps;
  globals: () => GlobalOptions;
  act: <A extends unknown[]>(fn: (...args: A) => Promise<number>) => (...args: A) => Promise<void>;
}

export function registerSecretsCommands(program: Command, { deps, globals, act }: Registration): void {
  const run = async (args: Omit<SecretsArgs, 'globals'>) =>
    (await import('./secrets.js')).run({ ...args, globals: globals() }, deps);
  const secrets = program
    .command('secrets')
    .description('the secret store (secrets.provider: environment, file or ssm) for publishers, deploys, webhooks')
    .addHelpText('after', '\nNames are paths under secrets.prefix: npm/token is /auto-dev/npm/token.');
  secrets
    .command('set')
    .description('set a secret; the value is read from standard input (or a prompt), never from the command line')
    .argument('<name>', 'e.g. npm/token or /auto-dev/npm/token')
    .option('--json', 'print {"name","set"}')
    .action(act((name: string, options: { json?: boolean }) => run({ action: 'set', name, ...options })));
  secrets
    .command('get')
    .description('whether a secret is set; its value only with --reveal')
    .argument('<name>', 'e.g. npm/token')
    .option('--reveal', 'print the value')
    .option('--json', 'print {"name","set"} (and "value" with --reveal)')
    .action(
      act((name: string, options: { reveal?: boolean; json?: boolean }) => run({ action: 'get', name, ...options })),
    );
  secrets
    .command('list')
    .description('the names of the secrets under the prefix (never values)')
    .option('--json', 'print {"names": [...]}')
    .action(act((options: { json?: boolean }) => run({ action: 'list', ...options })));
  secrets
    .command('delete')
    .description('delete a secret')
    .argument('<name>', 'e.g. npm/token')
    .option('--json', 'print {"name","deleted"}')
    .action(act((name: string, options: { json?: boolean }) => run({ action: 'delete', name, ...options })));
  secrets
    .command('check')
    .description("what each feature (and each repository's deploy) still lacks")
    .option('--json', 'print {"features": [{"feature","missing","ready"}]}')
    .action(act((options: { json?: boolean }) => run({ action: 'check', ...options })));
}
