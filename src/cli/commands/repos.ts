/**
 * @module `autodev repos add PATH [--name N] [--test-command CMD] [--deploy-command CMD] [--lint-command CMD]
 * [--deploy-secret NAME]... [--coverage-threshold PERCENT]`, `repos add --gitlab URL --project GROUP/NAME` and
 * `repos add --github OWNER/NAME` (tokens from the environment variable `--token-env` names), `repos list`,
 * `repos remove NAME`: the repositories stories run on.
 */
import { AutodevError } from '../../errors.js';
import { assertStorableText, TEXT_LIMITS } from '../../domain/input-policy.js';
import {
  addRepository,
  listRepositories,
  MERGE_METHODS,
  removeRepository,
  repositoryToJson,
  type MergeMethod,
} from '../../forge/repositories.js';
import { addForgeRepository } from '../../forge/add-forge-repository.js';
import { withContext, type CliDeps, type GlobalOptions } from '../context.js';
import { formatTable, writeJson, writeLine } from '../format.js';
import { cliActor } from './approvals.js';

export type ReposArgs =
  | {
      action: 'add';
      globals: GlobalOptions;
      path: string | undefined;
      gitlab?: string | undefined;
      project?: string | undefined;
      github?: string | undefined;
      githubApiUrl?: string | undefined;
      tokenEnv?: string | undefined;
      poll?: boolean | undefined;
      name?: string | undefined;
      testCommand?: string | undefined;
      deployCommand?: string | undefined;
      lintCommand?: string | undefined;
      deploySecret?: string[] | undefined;
      coverageThreshold?: string | undefined;
      mergeMethod?: string | undefined;
      json?: boolean | undefined;
    }
  | { action: 'list'; globals: GlobalOptions; json?: boolean | undefined }
  | { action: 'remove'; globals: GlobalOptions; name: string; json?: boolean | undefined };

function parseThreshold(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d{1,3}(\.\d+)?$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(value >= 0 && value <= 100)) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `--coverage-threshold must be a percentage from 0 to 100 (got "${text}")`,
    );
  }
  return value;
}

function parseMergeMethod(text: string | undefined): MergeMethod | undefined {
  if (text === undefined) return undefined;
  const method = MERGE_METHODS.find((m) => m === text);
  if (!method) {
    throw new AutodevError('VALIDATION_FAILED', `--merge-method must be ${MERGE_METHODS.join(' or ')} (got "${text}")`);
  }
  return method;
}

export async function run(args: ReposArgs, deps: CliDeps): Promise<number> {
  if (args.action === 'add' && (args.gitlab !== undefined || args.github !== undefined)) {
    return addRemote(args, deps);
  }
  if (args.action === 'add') {
    if (args.path === undefined) {
      throw new AutodevError(
        'VALIDATION_FAILED',
        'repos add needs a PATH, or --gitlab URL --project GROUP/NAME, or --github OWNER/NAME',
      );
    }
    for (const flag of ['project', 'githubApiUrl', 'tokenEnv', 'poll'] as const) {
      if (args[flag] !== undefined) {
        throw new AutodevError(
          'VALIDATION_FAILED',
          `--${kebab(flag)} goes with --gitlab or --github, not a local PATH`,
        );
      }
    }
    assertStorableText('<path>', args.path, TEXT_LIMITS.path);
    if (args.name !== undefined) assertStorableText('--name', args.name, TEXT_LIMITS.name);
    if (args.testCommand !== undefined) assertStorableText('--test-command', args.testCommand, TEXT_LIMITS.command);
    if (args.deployCommand !== undefined) {
      assertStorableText('--deploy-command', args.deployCommand, TEXT_LIMITS.command);
    }
    if (args.lintCommand !== undefined) assertStorableText('--lint-command', args.lintCommand, TEXT_LIMITS.command);
    for (const name of args.deploySecret ?? []) assertStorableText('--deploy-secret', name, TEXT_LIMITS.name);
    const coverageThreshold = parseThreshold(args.coverageThreshold);
    const mergeMethod = parseMergeMethod(args.mergeMethod);
    const localPath = args.path;
    const row = await withContext(args.globals, deps, (ctx) =>
      addRepository(
        ctx.handle.db,
        {
          path: localPath,
          name: args.name,
          testCommand: args.testCommand,
          deployCommand: args.deployCommand,
          lintCommand: args.lintCommand,
          coverageThreshold,
          deploySecrets: args.deploySecret,
          mergeMethod,
          actor: cliActor(deps),
          now: deps.now(),
        },
        deps.cwd,
      ),
    );
    if (args.json) writeJson(deps.stdout, repositoryToJson(row));
    else writeLine(deps.stdout, `repository ${row.name} added (${row.location}, default branch ${row.default_branch})`);
    return 0;
  }
  if (args.action === 'remove') {
    assertStorableText('<name>', args.name, TEXT_LIMITS.name);
    const row = await withContext(args.globals, deps, (ctx) =>
      removeRepository(ctx.handle.db, args.name, { actor: cliActor(deps), now: deps.now() }),
    );
    if (args.json) writeJson(deps.stdout, repositoryToJson(row));
    else writeLine(deps.stdout, `repository ${row.name} removed (its files are untouched)`);
    return 0;
  }
  const rows = await withContext(args.globals, deps, (ctx) => listRepositories(ctx.handle.db));
  if (args.json) {
    writeJson(deps.stdout, { repos: rows.map(repositoryToJson) });
    return 0;
  }
  if (rows.length === 0) {
    writeLine(deps.stdout, 'no repositories; add one with "autodev repos add PATH"');
    return 0;
  }
  writeLine(
    deps.stdout,
    formatTable(
      ['ID', 'NAME', 'FORGE', 'BRANCH', 'TEST COMMAND', 'LOCATION'],
      rows.map((r) => [
        String(r.id),
        r.name,
        r.forge,
        r.default_branch,
        r.test_command ?? '-',
        repositoryToJson(r).remote_url ?? r.location,
      ]),
    ),
  );
  return 0;
}

function kebab(flag: string): string {
  return flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `repos add --gitlab URL --project GROUP/NAME` or `--github OWNER/NAME`: asks the forge, clones, registers. */
async function addRemote(args: Extract<ReposArgs, { action: 'add' }>, deps: CliDeps): Promise<number> {
  if (args.gitlab !== undefined && args.github !== undefined) {
    throw new AutodevError('VALIDATION_FAILED', '--gitlab and --github exclude each other');
  }
  if (args.path !== undefined) {
    throw new AutodevError('VALIDATION_FAILED', 'a GitLab or GitHub repository is cloned by Auto-Dev; give no PATH');
  }
  const forge = args.gitlab !== undefined ? 'gitlab' : 'github';
  if (forge === 'gitlab' && args.project === undefined) {
    throw new AutodevError('VALIDATION_FAILED', '--gitlab needs --project GROUP/NAME');
  }
  if (forge === 'gitlab' && args.githubApiUrl !== undefined) {
    throw new AutodevError('VALIDATION_FAILED', '--github-api-url goes with --github');
  }
  if (forge === 'github' && args.project !== undefined) {
    throw new AutodevError('VALIDATION_FAILED', '--project goes with --gitlab; --github takes OWNER/NAME itself');
  }
  const project = forge === 'gitlab' ? (args.project ?? '') : (args.github ?? '');
  assertStorableText(forge === 'gitlab' ? '--project' : '--github', project, TEXT_LIMITS.name);
  if (args.name !== undefined) assertStorableText('--name', args.name, TEXT_LIMITS.name);
  if (args.testCommand !== undefined) assertStorableText('--test-command', args.testCommand, TEXT_LIMITS.command);
  if (args.deployCommand !== undefined) assertStorableText('--deploy-command', args.deployCommand, TEXT_LIMITS.command);
  if (args.lintCommand !== undefined) assertStorableText('--lint-command', args.lintCommand, TEXT_LIMITS.command);
  for (const name of args.deploySecret ?? []) assertStorableText('--deploy-secret', name, TEXT_LIMITS.name);
  const coverageThreshold = parseThreshold(args.coverageThreshold);
  const mergeMethod = parseMergeMethod(args.mergeMethod);
  const row = await withContext(args.globals, deps, (ctx) =>
    addForgeRepository(
      ctx.handle.db,
      {
        forge,
        baseUrl: forge === 'gitlab' ? args.gitlab : args.githubApiUrl,
        project,
        tokenEnv: args.tokenEnv,
        events: args.poll ? 'poll' : undefined,
        name: args.name,
        testCommand: args.testCommand,
        deployCommand: args.deployCommand,
        lintCommand: args.lintCommand,
        coverageThreshold,
        deploySecrets: args.deploySecret,
        mergeMethod,
        actor: cliActor(deps),
        now: deps.now(),
      },
      { dataDir: ctx.dataDir, env: deps.env },
    ),
  );
  if (args.json) writeJson(deps.stdout, repositoryToJson(row));
  else {
    const json = repositoryToJson(row);
    writeLine(
      deps.stdout,
      `repository ${row.name} added (${row.forge} ${json.forge_project ?? ''}, remote ${json.remote_url ?? '-'}, ` +
        `clone ${row.location}, default branch ${row.default_branch})`,
    );
  }
  return 0;
}
