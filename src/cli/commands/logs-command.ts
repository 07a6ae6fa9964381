/**
 * @module The `autodev logs` command's names, options and help, registered on the program with one call; its module
 * (`logs.ts`, with the store) loads only when it runs.
 */
import type { Command } from 'commander';
import { ROLES } from '../../domain/roles.js';
import { DEFAULT_LOG_LIMIT, QUERY_LEVELS } from '../../logs/log-filters.js';
import type { LogsArgs } from './logs.js';
import type { RegisterDeps } from './publish-command.js';

export function registerLogsCommand(program: Command, { deps, act, globals }: RegisterDeps): void {
  program
    .command('logs')
    .description('log lines of every process (warn and above, and lifecycle lines), from the store, newest last')
    .option('-f, --follow', 'keep printing new lines until Ctrl+C')
    .option('--agent <role>', `only lines about this role (${ROLES.join(' | ')})`)
    .option('--level <level>', `only lines at this level and above (${QUERY_LEVELS.join(' | ')})`)
    .option('--since <when>', 'only lines since then: 30m, 1h, 7d or an ISO time')
    .option('--limit <n>', `at most this many lines before following (default ${DEFAULT_LOG_LIMIT})`)
    .option(
      '--json',
      'one JSON object per line: {id, time, level, process_id, service, host, pid, role, message, data}',
    )
    .action(
      act(async (options: Omit<LogsArgs, 'globals'>) =>
        (await import('./logs.js')).run({ globals: globals(), ...options }, deps),
      ),
    );
}
