/**
 * @module The `autodev` command line as a commander program: names, options and help text, each command handed to
 * its `commands/<name>.ts` `run(args, deps)`. Commander never exits or prints errors itself; `run.ts` does that.
 * A command's module is imported when that command runs, never here (nor by the `*-command.ts` registrations), so
 * `--version`, `--help`, usage errors and `autodev mcp` load no store, forge client or server
 * (test/cli/cli-start-cost.test.ts).
 */
import { Command, Option } from 'commander';
import { LOG_LEVELS } from '../log-levels.js';
import type { ConfigArgs } from './commands/config.js';
import type { DbArgs } from './commands/db.js';
import type { DemoArgs } from './commands/demo-input.js';
import type { TasksArgs } from './commands/tasks.js';
import type { UpArgs } from './commands/up.js';
import type { AgentsArgs } from './commands/agents.js';
import type { InstructArgs } from './commands/instruct.js';
import type { McpArgs } from './commands/mcp.js';
import type { TokensArgs } from './commands/tokens.js';
import type { ApprovalsArgs } from './commands/approvals.js';
import type { ReposArgs } from './commands/repos.js';
import type { StoriesArgs } from './commands/stories.js';
import { registerPublishCommand } from './commands/publish-command.js';
import { registerLogsCommand } from './commands/logs-command.js';
import { registerCostsCommand } from './commands/costs-command.js';
import { registerSecretsCommands } from './commands/secrets-commands.js';
import { registerProjectsCommands } from './commands/projects-command.js';
import { registerSwarmCommands } from './swarm-program.js';
import type { SchedulesArgs } from './commands/schedules.js';
import { isRole, ROLES } from '../domain/roles.js';
import { AutodevError } from '../errors.js';
import type { CliDeps, GlobalOptions } from './context.js';
import { packageVersion } from './version.js';
import { memoryCommand } from './commands/memory-command.js';

export interface CliProgram {
  program: Command;
  /** The exit code the command that ran returned (0 when none ran, e.g. `--help`). */
  exitCode(): number;
}

interface JsonFlag {
  json?: boolean;
}

export function buildProgram(deps: CliDeps): CliProgram {
  let exitCode = 0;
  const act =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      exitCode = await fn(...args);
    };

  const program = new Command('autodev')
    .description('Runs a team of AI software agents over a durable task queue, with humans approving at the gates.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .option(
      '--data-dir <dir>',
      'where the SQLite database, admin token and settings.yaml live (default: .autodev, or AUTODEV_DATA_DIR)',
    )
    .option('--config <file>', 'settings file to use instead of <data-dir>/settings.yaml')
    .addOption(new Option('--log-level <level>', 'log level (default: log.level from settings)').choices(LOG_LEVELS))
    .addHelpText(
      'after',
      '\nDATABASE_URL=postgres://... selects PostgreSQL; otherwise SQLite at <data-dir>/autodev.db.\n' +
        'Settings: config/settings.yaml (shipped), <data-dir>/settings.yaml or --config, AUTODEV_<SECTION>__<KEY>.',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => deps.stdout.write(text),
      writeErr: (text) => deps.stderr.write(text),
      // run.ts prints the one-line error.
      outputError: () => undefined,
    })
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError(true)
    // Every text a command receives passes the input policy before its action runs (a NUL cannot be stored).
    .hook('preAction', async (_program, action) => refuseUnstorableArguments(action));

  // Each command's module is loaded when it runs, so `--help`, `--version` and usage errors stay quick.
  const tasksCommand = { run: async (args: TasksArgs) => (await import('./commands/tasks.js')).run(args, deps) };
  const dbCommand = { run: async (args: DbArgs) => (await import('./commands/db.js')).run(args, deps) };
  const configCommand = { run: async (args: ConfigArgs) => (await import('./commands/config.js')).run(args, deps) };
  const upCommand = { run: async (args: UpArgs) => (await import('./commands/up.js')).run(args, deps) };
  const agentsCommand = { run: async (args: AgentsArgs) => (await import('./commands/agents.js')).run(args, deps) };
  const instructCommand = {
    run: async (args: InstructArgs) => (await import('./commands/instruct.js')).run(args, deps),
  };
  const mcpCommand = { run: async (args: McpArgs) => (await import('./commands/mcp.js')).run(args, deps) };
  const tokensCommand = { run: async (args: TokensArgs) => (await import('./commands/tokens.js')).run(args, deps) };

  const globals = (): GlobalOptions => {
    const options = program.opts<GlobalOptions>();
    return { dataDir: options.dataDir, config: options.config, logLevel: options.logLevel };
  };

  const tasks = program.command('tasks').description('list, create and manage tasks (also installed as claude-tasks)');
  tasks
    .command('list')
    .description('list tasks, newest first')
    .option('--status <status>', 'only this status: pending, in_progress, completed, failed or cancelled')
    .option('--type <type>', 'only this task type ("autodev tasks types" lists them)')
    .option('--limit <n>', 'at most this many (1..500, default 50)')
    .option('--cursor <cursor>', 'continue after a previous page (its next_cursor)')
    .option('--json', 'print {"tasks": [...], "next_cursor": ...}')
    .action(
      act((options: { status?: string; type?: string; limit?: string; cursor?: string } & JsonFlag) =>
        tasksCommand.run({ action: 'list', globals: globals(), ...options }),
      ),
    );
  tasks
    .command('create')
    .description('put a new task on the queue')
    .requiredOption('--type <type>', 'task type ("autodev tasks types" lists them)')
    .option('--priority <n>', '1..10, 10 runs first (default 5)')
    .option('--payload <json>', 'a JSON object, e.g. \'{"idea": "Stripe webhook handler"}\' (default {})')
    .option('--json', 'print the new task as JSON')
    .action(
      act((options: { type: string; priority?: string; payload?: string } & JsonFlag) =>
        tasksCommand.run({ action: 'create', globals: globals(), ...options }),
      ),
    );
  tasks
    .command('show')
    .description('show one task with its payload, result and error')
    .argument('<id>', 'task id')
    .option('--json', 'print the task as JSON')
    .action(
      act((id: string, options: JsonFlag) => tasksCommand.run({ action: 'show', id, globals: globals(), ...options })),
    );
  tasks
    .command('cancel')
    .description('cancel a pending or in-progress task')
    .argument('<id>', 'task id')
    .option('--reason <reason>', 'why, recorded as the task error')
    .option('--json', 'print the cancelled task as JSON')
    .action(
      act((id: string, options: { reason?: string } & JsonFlag) =>
        tasksCommand.run({ action: 'cancel', id, globals: globals(), ...options }),
      ),
    );
  tasks
    .command('retry')
    .description('put a failed or cancelled task back on the queue with fresh attempts')
    .argument('<id>', 'task id')
    .option('--json', 'print the task as JSON')
    .action(
      act((id: string, options: JsonFlag) => tasksCommand.run({ action: 'retry', id, globals: globals(), ...options })),
    );
  tasks
    .command('types')
    .description('list the task types and the role that handles each')
    .option('--json', 'print {"task_types": [{"type", "role"}]}')
    .action(act((options: JsonFlag) => tasksCommand.run({ action: 'types', globals: globals(), ...options })));

  const db = program.command('db').description('database maintenance');
  db.command('migrate')
    .description('bring the database schema up to date')
    .option('--json', 'print {"database", "applied": [...]}')
    .action(act((options: JsonFlag) => dbCommand.run({ action: 'migrate', globals: globals(), ...options })));
  db.command('prune')
    .description('delete finished tasks, events and transcripts older than the retention settings (retention:)')
    .option('--dry-run', 'count what would be deleted; delete nothing')
    .option('--json', 'print {"database", "dry_run", "deleted": {"tasks", "events", "transcripts", "sessions"}}')
    .action(
      act((options: JsonFlag & { dryRun?: boolean }) =>
        dbCommand.run({ action: 'prune', globals: globals(), ...options }),
      ),
    );

  const config = program.command('config').description('inspect and check settings');
  config
    .command('show')
    .description('print the effective settings and where they came from')
    .option('--json', 'print {"sources": [...], "settings": {...}}')
    .action(act((options: JsonFlag) => configCommand.run({ action: 'show', globals: globals(), ...options })));
  config
    .command('validate')
    .description('check a settings file (default: the effective settings); exit 0 when valid, 2 when not')
    .argument('[file]', 'settings file to check on top of the shipped defaults')
    .action(act((file: string | undefined) => configCommand.run({ action: 'validate', file, globals: globals() })));

  program
    .command('up')
    .description(
      'run Auto-Dev in one process: API server (with the forge webhooks), the scheduler and all eight agents',
    )
    .option('--port <port>', 'port to listen on (default: server.port, 8080)')
    .option('--host <host>', 'address to listen on (default: server.host, 127.0.0.1)')
    .option('--no-agents', 'serve the API only; run no agents in this process')
    .option('--no-migrate', 'do not migrate the database; wait until `autodev db migrate` has')
    .action(
      act((options: { port?: string; host?: string; agents: boolean; migrate: boolean }) =>
        upCommand.run({ globals: globals(), ...options, scheduler: true }),
      ),
    );

  program
    .command('serve')
    .description(
      'run one component, for split deployments on PostgreSQL: dashboard (the API), webhook, scheduler or agent:ROLE',
    )
    .argument('<component>', 'dashboard, webhook, scheduler, or agent:ROLE (e.g. agent:builder)')
    .option('--port <port>', 'dashboard/webhook: port to listen on (default: server.port / webhooks.port)')
    .option('--host <host>', 'address to listen on, --health-port too (default: server.host; webhook: webhooks.host)')
    .option(
      '--health-port <port>',
      'agent/scheduler: serve /health and /ready on this port (default: server.health_port)',
    )
    .addHelpText(
      'after',
      "\nNever migrates: waits (not ready) until `autodev db migrate` has brought the database to this build's schema.",
    )
    .action(
      act(async (component: string, serveOptions: { port?: string; host?: string; healthPort?: string }) => {
        const { healthPort, ...options } = serveOptions;
        const globalsAndMigrate = () => ({ globals: globals(), migrate: false });
        if (healthPort !== undefined && (component === 'dashboard' || component === 'webhook')) {
          throw new AutodevError(
            'VALIDATION_FAILED',
            `--health-port is for agent and scheduler processes; ${component} answers /health and /ready on --port`,
          );
        }
        if (component === 'dashboard') return upCommand.run({ ...globalsAndMigrate(), ...options, agents: false });
        const role = component.startsWith('agent:') ? component.slice('agent:'.length) : undefined;
        if (role !== undefined) {
          if (!isRole(role)) {
            throw new AutodevError('VALIDATION_FAILED', `unknown role "${role}"; roles are ${ROLES.join(', ')}`);
          }
          return upCommand.run({
            ...globalsAndMigrate(),
            host: options.host,
            healthPort,
            server: false,
            roles: [role],
          });
        }
        if (component === 'webhook') {
          return upCommand.run({ ...globalsAndMigrate(), ...options, agents: false, webhooksOnly: true });
        }
        if (component === 'scheduler') {
          return upCommand.run({
            ...globalsAndMigrate(),
            host: options.host,
            healthPort,
            server: false,
            agents: false,
            scheduler: true,
          });
        }
        throw new AutodevError(
          'VALIDATION_FAILED',
          `unknown component "${component}"; use dashboard, webhook, scheduler or agent:ROLE (roles: ${ROLES.join(', ')})`,
        );
      }),
    );

  const demoCommand = {
    run: async (args: DemoArgs) => {
      // Checked before the command's module (the whole agent runtime) loads: bad input fails at once.
      const input = (await import('./commands/demo-input.js')).checkDemoInput(args, deps);
      return (await import('./commands/demo.js')).run(args, input, deps);
    },
  };
  program
    .command('demo')
    .description(
      'run one story through every stage on a generated sample repository: the real Claude Code CLI, sandboxed, ' +
        'with a local stand-in model playing RECORDED sessions (no model is called)',
    )
    .option(
      '--replay-delay <ms>',
      "pause before each of the stand-in model's answers, in milliseconds (default 0: as fast as the CLI goes)",
    )
    .action(act((options: { replayDelay?: string }) => demoCommand.run({ globals: globals(), ...options })));

  const agents = program.command('agents').description("the agents' status, restarts and scale");
  agents
    .command('status')
    .description('per role: desired, running, processes; each agent; rate limits; tokens and cost today')
    .option('--json', 'print {"agents": [...], "folded", "desired_workers", "roles", "rate_limited", "today"}')
    .option('--all', 'also list the agents of processes that are gone (by default only counted)')
    .action(
      act((options: JsonFlag & { all?: boolean }) =>
        agentsCommand.run({ action: 'status', globals: globals(), ...options }),
      ),
    );
  agents
    .command('restart')
    .description("restart a role's agents in every running process")
    .argument('<role>', ROLES.join(' | '))
    .action(act((role: string) => agentsCommand.run({ action: 'restart', globals: globals(), role })));
  agents
    .command('scale')
    .description("set a role's workers across every process and machine (0 stops the role's work everywhere)")
    .argument('<role>', ROLES.join(' | '))
    .argument('<n>', `0..64`)
    .action(
      act((role: string, workers: string) => agentsCommand.run({ action: 'scale', globals: globals(), role, workers })),
    );

  program
    .command('instruct')
    .description("leave an instruction for a role's next session")
    .argument('<role>', ROLES.join(' | '))
    .argument('<message>', 'what the agent should know or do')
    .option('--json', 'print the saved instruction as JSON')
    .action(
      act((role: string, message: string, options: JsonFlag) =>
        instructCommand.run({ globals: globals(), role, message, ...options }),
      ),
    );

  program
    .command('tokens')
    .description('API tokens for the dashboard and scripts')
    .command('create')
    .description('create a token and print it once')
    .requiredOption('--role <role>', 'viewer | approver | admin')
    .option('--name <name>', 'a name shown in logs and audit entries (default: <role>-token)')
    .option('--json', 'print {name, role, token} as JSON')
    .action(
      act((options: { role: string; name?: string } & JsonFlag) =>
        tokensCommand.run({ globals: globals(), action: 'create', ...options }),
      ),
    );

  program
    .command('mcp')
    .description('the stdio MCP server of an agent session (started by Auto-Dev inside the session, not by hand)')
    .option('--session-dir <dir>', 'the session directory Auto-Dev prepared')
    .action(act((options: { sessionDir?: string }) => mcpCommand.run(options)));

  const approvalsCommand = {
    run: async (args: ApprovalsArgs) => (await import('./commands/approvals.js')).run(args, deps),
  };
  const approvals = program.command('approvals').description('the human gates: spec and merge approvals');
  approvals
    .command('list')
    .description('approvals, oldest first')
    .option('--status <status>', 'pending | approved | rejected | deferred')
    .option('--json', 'print {"approvals": [...]}')
    .action(
      act((options: { status?: string } & JsonFlag) =>
        approvalsCommand.run({ action: 'list', globals: globals(), ...options }),
      ),
    );
  approvals
    .command('approve')
    .description('approve a pending approval; its workflow goes on')
    .argument('<id>', 'approval id')
    .option('--reason <reason>', 'an optional note kept with the decision')
    .option('--json', 'print the decided approval as JSON')
    .action(
      act((id: string, options: { reason?: string } & JsonFlag) =>
        approvalsCommand.run({ action: 'approve', id, globals: globals(), ...options }),
      ),
    );
  approvals
    .command('reject')
    .description('reject a pending approval: a spec goes back to the architect, a merge to the builder')
    .argument('<id>', 'approval id')
    .option('--reason <reason>', 'why (required): the agent receives it')
    .option('--json', 'print the decided approval as JSON')
    .action(
      act((id: string, options: { reason?: string } & JsonFlag) =>
        approvalsCommand.run({ action: 'reject', id, globals: globals(), ...options }),
      ),
    );

  registerPublishCommand(program, { deps, act, globals });
  registerProjectsCommands(program, { deps, act, globals });
  registerLogsCommand(program, { deps, act, globals });
  registerCostsCommand(program, { deps, act, globals });
  const reposCommand = { run: async (args: ReposArgs) => (await import('./commands/repos.js')).run(args, deps) };
  const repos = program.command('repos').description('the local git repositories stories run on');
  repos
    .command('add')
    .description(
      'register a local git repository (its checked-out branch is the default branch), or a GitLab project ' +
        '(--gitlab URL --project GROUP/NAME) or GitHub repository (--github OWNER/NAME), cloned into the data dir',
    )
    .argument('[path]', 'path to a local repository (not with --gitlab/--github)')
    .option('--gitlab <url>', 'a GitLab instance, e.g. https://gitlab.example.com (self-hosted) or https://gitlab.com')
    .option('--project <group/name>', 'the GitLab project (with --gitlab)')
    .option('--github <owner/name>', 'a GitHub repository')
    .option('--github-api-url <url>', 'GitHub Enterprise REST API, e.g. https://ghe.example.com/api/v3')
    .option('--token-env <name>', 'environment variable holding the forge token (default GITLAB_TOKEN / GITHUB_TOKEN)')
    .option('--poll', 'the forge cannot reach Auto-Dev: the scheduler service polls it instead of waiting for webhooks')
    .option('--name <name>', 'name used by --repo (default: the directory or project name)')
    .option('--test-command <cmd>', 'what the test gate runs, e.g. "npm test"')
    .option('--deploy-command <cmd>', 'what the deploy step runs')
    .option('--lint-command <cmd>', 'what the lint gate runs')
    .option(
      '--deploy-secret <name>',
      'an environment variable the deploy command gets, its value from the secret store (repeatable)',
      (name: string, names: string[] = []) => [...names, name],
    )
    .option('--coverage-threshold <percent>', 'the test gate fails when reported coverage is below this (0-100)')
    .option('--merge-method <method>', 'how approved changes land: merge (a merge commit, default) or squash')
    .option('--json', 'print the repository as JSON')
    .action(
      act(
        (
          repoPath: string | undefined,
          options: {
            gitlab?: string;
            project?: string;
            github?: string;
            githubApiUrl?: string;
            tokenEnv?: string;
            poll?: boolean;
            name?: string;
            testCommand?: string;
            deployCommand?: string;
            lintCommand?: string;
            deploySecret?: string[];
            coverageThreshold?: string;
            mergeMethod?: string;
          } & JsonFlag,
        ) => reposCommand.run({ action: 'add', path: repoPath, globals: globals(), ...options }),
      ),
    );
  repos
    .command('list')
    .description('registered repositories')
    .option('--json', 'print {"repos": [...]}')
    .action(act((options: JsonFlag) => reposCommand.run({ action: 'list', globals: globals(), ...options })));
  repos
    .command('remove')
    .description('forget a repository that has no workflows (its files are untouched)')
    .argument('<name>', 'repository name')
    .option('--json', 'print the removed repository as JSON')
    .action(
      act((name: string, options: JsonFlag) =>
        reposCommand.run({ action: 'remove', name, globals: globals(), ...options }),
      ),
    );

  const storiesCommand = {
    run: async (args: StoriesArgs) => (await import('./commands/stories.js')).run(args, deps),
  };
  const stories = program.command('stories').description('story workflows: PM -> spec -> build -> gates -> merge');
  stories
    .command('create')
    .description('start a story workflow at the PM')
    .requiredOption('--repo <name>', 'a repository from "autodev repos list"')
    .requiredOption('--title <title>', 'what the story is about')
    .option('--body <body>', 'details for the PM')
    .option('--json', 'print the story as JSON')
    .action(
      act((options: { repo: string; title: string; body?: string } & JsonFlag) =>
        storiesCommand.run({ action: 'create', globals: globals(), ...options }),
      ),
    );
  stories
    .command('list')
    .description('stories, newest first, with their stage')
    .option('--json', 'print {"stories": [...]}')
    .action(act((options: JsonFlag) => storiesCommand.run({ action: 'list', globals: globals(), ...options })));
  stories
    .command('show')
    .description("a story's stage, tasks, approvals and merge request")
    .argument('<id>', 'story id')
    .option('--json', 'print the story as JSON')
    .action(
      act((id: string, options: JsonFlag) =>
        storiesCommand.run({ action: 'show', id, globals: globals(), ...options }),
      ),
    );
  stories
    .command('resume')
    .description('continue a story that waits for a human: one more fix round, or the stopped task again')
    .argument('<id>', 'story id')
    .option('--note <text>', 'guidance for the agents (added to the findings or the task)')
    .option('--json', 'print the story as JSON')
    .action(
      act((id: string, options: { note?: string } & JsonFlag) =>
        storiesCommand.run({ action: 'resume', id, globals: globals(), ...options }),
      ),
    );

  registerSecretsCommands(program, { deps, globals, act });

  registerSwarmCommands(program, deps, act, globals);

  const schedulesCommand = {
    run: async (args: SchedulesArgs) => (await import('./commands/schedules.js')).run(args, deps),
  };
  program.addCommand(memoryCommand(deps, act, globals));

  program
    .command('schedules')
    .description('recurring work from settings.yaml (schedules:), run by the scheduler')
    .command('list')
    .description('each schedule with its next and last run')
    .option('--json', 'print {"schedules": [...]}')
    .action(act((options: JsonFlag) => schedulesCommand.run({ action: 'list', globals: globals(), ...options })));

  return { program, exitCode: () => exitCode };
}

/**
 * Throws VALIDATION_FAILED naming the option or argument whose text cannot be stored (NUL, lone surrogate). The input
 * policy (with zod) is imported here, when a command runs, not when the program is built.
 */
async function refuseUnstorableArguments(action: Command): Promise<void> {
  const { assertStorableText } = await import('../domain/input-policy.js');
  for (let command: Command | null = action; command; command = command.parent) {
    for (const [key, value] of Object.entries(command.opts())) {
      const option = command.options.find((o) => o.attributeName() === key);
      const name = option?.long ?? `--${key}`;
      for (const text of Array.isArray(value) ? value : [value]) {
        if (typeof text === 'string') assertStorableText(name, text);
      }
    }
  }
  action.registeredArguments.forEach((argument, index) => {
    const value: unknown = action.processedArgs[index];
    for (const text of Array.isArray(value) ? value : [value]) {
      if (typeof text === 'string') assertStorableText(`<${argument.name()}>`, text);
    }
  });
}
