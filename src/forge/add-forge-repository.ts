/**
 * @module Registering a GitLab project or GitHub repository (`autodev repos add --gitlab URL --project GROUP/NAME`,
 * `--github OWNER/NAME`, `POST /api/repos` with `forge`): the forge is asked for the project (default branch, clone
 * URL) with the token from the environment variable named in the settings, the repository is cloned over HTTPS into
 * the data directory's clone cache (`<data-dir>/clones/<id>`, or the `checkoutPath` asked for; token only in git's
 * environment), and the row and its event are written in one transaction. Any failure leaves no row and no clone.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { AutodevError } from '../errors.js';
import { recordEvent } from '../events/record-event.js';
import { inTransaction } from '../store/in-transaction.js';
import type { Database } from '../store/schema.js';
import { git } from '../workspace/git.js';
import { cloneCachePath } from './clone-cache.js';
import type { ForgeClientContext, ForgeRepository } from './forge-client.js';
import { GIT_TOKEN_USER, gitCredentialEnv, hasUrlCredentials } from './git-credential-env.js';
import {
  checkedBaseUrl,
  checkedProject,
  checkedTokenEnv,
  DEFAULT_TOKEN_ENV,
  forgeToken,
  GITHUB_DEFAULT_API_URL,
  GITLAB_DEFAULT_BASE_URL,
  type RemoteProject,
} from './forge-remote-settings.js';
import { GitHubClient } from './github-client.js';
import { GitLabClient } from './gitlab-client.js';
import {
  checkedRepositoryOptions,
  checkedSettings,
  type RepositoryOptions,
  type RepositoryRow,
} from './repositories.js';

export interface NewForgeRepository extends RepositoryOptions {
  forge: 'gitlab' | 'github';
  /** GitLab: the instance URL (default https://gitlab.com); GitHub: the REST API URL (default api.github.com). */
  baseUrl?: string | undefined;
  /** GitLab `group/name` (subgroups allowed), GitHub `owner/name`. */
  project: string;
  /** The environment variable holding the token (default GITLAB_TOKEN / GITHUB_TOKEN). */
  tokenEnv?: string | undefined;
  /** `poll`: the forge cannot reach this installation; the scheduler service polls it (`forge_events`). */
  events?: 'webhook' | 'poll' | undefined;
  /** Where the clone is kept (a product's `<data-dir>/projects/<name>/`); default the clone cache `clones/<id>`. */
  checkoutPath?: string | undefined;
}

/**
 * The repository's merge method: the one asked for if the forge's settings allow it, else the forge's default
 * (`RemoteProject.mergeMethods`). A method the forge forbids would only fail at the merge: refused here, naming the
 * forge's setting.
 */
function mergeMethodFor(input: NewForgeRepository, project: string, remote: RemoteProject): 'merge' | 'squash' {
  const { allowed, preferred } = remote.mergeMethods;
  const setting =
    input.forge === 'gitlab'
      ? 'the project\'s "Squash commits when merging" setting (squash_option)'
      : "the repository's allow_merge_commit / allow_squash_merge settings";
  if (allowed.length === 0) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `${project} allows neither merge commits nor squash merges (${setting}); Auto-Dev merges with one of them`,
    );
  }
  const asked = input.mergeMethod;
  if (asked !== undefined && !allowed.includes(asked)) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `${project} does not allow a ${asked === 'squash' ? 'squash merge' : 'merge commit'} (${setting}); ` +
        `use --merge-method ${allowed.join(' or ')}, or change the setting in ${input.forge === 'gitlab' ? 'GitLab' : 'GitHub'}`,
    );
  }
  return asked ?? (allowed.includes(preferred) ? preferred : allowed[0]!);
}

export async function addForgeRepository(
  db: Kysely<Database>,
  input: NewForgeRepository,
  context: ForgeClientContext,
): Promise<RepositoryRow> {
  const project = checkedProject(input.project.trim(), input.forge);
  const baseUrl = checkedBaseUrl(
    input.baseUrl ?? (input.forge === 'gitlab' ? GITLAB_DEFAULT_BASE_URL : GITHUB_DEFAULT_API_URL),
    input.forge === 'gitlab' ? '--gitlab' : '--github-api-url',
  );
  const tokenEnv = checkedTokenEnv(input.tokenEnv ?? DEFAULT_TOKEN_ENV[input.forge]);
  const forgeSettings = {
    forge_base_url: baseUrl,
    forge_project: project,
    forge_token_env: tokenEnv,
    ...(input.events === 'poll' ? { forge_events: 'poll' as const } : {}),
  };
  const options = checkedRepositoryOptions(input.name ?? project.split('/').at(-1) ?? project, input, forgeSettings);
  const { name, testCommand, deployCommand, lintCommand } = options;
  const taken = await db.selectFrom('repositories').select('id').where('name', '=', name).executeTakeFirst();
  if (taken) throw new AutodevError('REPO_EXISTS', `a repository named "${name}" already exists (id ${taken.id})`);

  const probe: ForgeRepository = {
    id: 0,
    name,
    kind: input.forge,
    localPath: context.dataDir,
    remoteUrl: null,
    defaultBranch: 'main',
    mergeMethod: 'merge',
    settings: forgeSettings,
  };
  const client = input.forge === 'gitlab' ? new GitLabClient(probe, context) : new GitHubClient(probe, context);
  const remote: RemoteProject = await client.remoteProject();
  if (hasUrlCredentials(remote.remoteUrl)) {
    throw new AutodevError('VALIDATION_FAILED', `the forge reported a clone URL with credentials for ${project}`);
  }
  const token = forgeToken(context, { baseUrl, project, tokenEnv }, name, 'read_repository');
  const settings = checkedSettings({
    ...options.settings,
    merge_method: mergeMethodFor(input, project, remote),
    forge_web_url: remote.webUrl,
  });

  const clones = path.join(context.dataDir, 'clones');
  fs.mkdirSync(clones, { recursive: true, mode: 0o700 });
  const pending = path.join(clones, `.pending-${randomBytes(6).toString('hex')}`);
  const cloned = await git(clones, ['clone', '--quiet', '--origin', 'origin', remote.remoteUrl, pending], {
    okExitCodes: [128],
    env: {
      ...process.env,
      ...gitCredentialEnv(remote.remoteUrl, token, GIT_TOKEN_USER[input.forge]),
    },
  });
  if (cloned.exitCode !== 0) {
    fs.rmSync(pending, { recursive: true, force: true });
    throw new AutodevError(
      'FORGE_REQUEST_FAILED',
      `cloning ${remote.remoteUrl} for repository "${name}" failed: ${cloned.stderr.split(token).join('[token]').trim()}`,
    );
  }
  let finalPath: string | undefined;
  try {
    return await inTransaction(db, async (tx) => {
      const again = await tx.selectFrom('repositories').select('id').where('name', '=', name).executeTakeFirst();
      if (again) throw new AutodevError('REPO_EXISTS', `a repository named "${name}" already exists (id ${again.id})`);
      const inserted = await tx
        .insertInto('repositories')
        .values({
          name,
          forge: input.forge,
          location: pending,
          remote_url: remote.remoteUrl,
          default_branch: remote.defaultBranch,
          test_command: testCommand,
          deploy_command: deployCommand,
          lint_command: lintCommand,
          settings: JSON.stringify(settings),
          created_at: input.now,
          updated_at: input.now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      finalPath = input.checkoutPath ?? cloneCachePath(context.dataDir, inserted.id);
      fs.rmSync(finalPath, { recursive: true, force: true });
      fs.mkdirSync(path.dirname(finalPath), { recursive: true });
      fs.renameSync(pending, finalPath);
      const row = await tx
        .updateTable('repositories')
        .set({ location: finalPath })
        .where('id', '=', inserted.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordEvent(tx, {
        kind: 'repository.added',
        subjectType: 'repository',
        subjectId: row.id,
        actor: input.actor,
        data: { name, forge: input.forge, project, remote_url: remote.remoteUrl, default_branch: remote.defaultBranch },
        now: input.now,
      });
      return row;
    });
  } catch (error) {
    fs.rmSync(pending, { recursive: true, force: true });
    if (finalPath) fs.rmSync(finalPath, { recursive: true, force: true });
    throw error;
  }
}
