/**
 * @module The `autodev projects` command group's names, options and help (list, show, approve, reject, defer, reopen,
 * publish-retry), registered on the program with one call; its module (`projects.ts`, with the store and the
 * workflow) loads only when a subcommand runs.
 */
import type { Command } from 'commander';
import type { ProjectAction, ProjectsArgs } from './projects.js';
import type { RegisterDeps } from './publish-command.js';

export function registerProjectsCommands(program: Command, { deps, act, globals }: RegisterDeps): void {
  const projects = program
    .command('projects')
    .description('product proposals: approve, reject or defer them; see what was built and published');
  const go = async (args: ProjectsArgs) => (await import('./projects.js')).run(args, deps);
  projects
    .command('list')
    .description('projects, newest first')
    .option('--status <status>', 'only this status (proposed, deferred, rejected, building, ...)')
    .option('--json', 'print {"projects": [...]}')
    .action(
      act((options: { status?: string; json?: boolean }) => go({ action: 'list', globals: globals(), ...options })),
    );
  const one = (name: ProjectAction, description: string) =>
    projects.command(`${name} <id>`).description(description).option('--json', 'print the project as JSON');
  one('show', "a project's proposal, ratings, decisions, repository and publications").action(
    act((id: string, options: { json?: boolean }) => go({ action: 'show', id, globals: globals(), ...options })),
  );
  one('approve', 'approve a proposal: its repository is created and its story starts').action(
    act((id: string, options: { json?: boolean }) => go({ action: 'approve', id, globals: globals(), ...options })),
  );
  one('reject', 'reject a proposal (it is never built); the reason is kept')
    .requiredOption('--reason <reason>', 'why (required)')
    .action(
      act((id: string, options: { reason: string; json?: boolean }) =>
        go({ action: 'reject', id, globals: globals(), ...options }),
      ),
    );
  one('defer', 'park a proposal with notes; it comes back on --until (or by "projects reopen")')
    .requiredOption('--notes <notes>', 'why and what to look at later (required)')
    .option('--until <date>', 'bring it back on this date (ISO 8601, e.g. 2027-01-15)')
    .action(
      act((id: string, options: { notes: string; until?: string; json?: boolean }) =>
        go({ action: 'defer', id, globals: globals(), ...options }),
      ),
    );
  one('reopen', 'bring a deferred proposal back now (pending approval again)').action(
    act((id: string, options: { json?: boolean }) => go({ action: 'reopen', id, globals: globals(), ...options })),
  );
  one(
    'publish-retry',
    'run a failed publishing again (what is published is not sent twice), check a fixed product dir again, or ask the Architect again after a failed assessment',
  ).action(
    act((id: string, options: { json?: boolean }) =>
      go({ action: 'publish-retry', id, globals: globals(), ...options }),
    ),
  );
}
