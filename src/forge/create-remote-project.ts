/**
 * @module Making an approved product's own repository where `products.forge` says: a registry of creators keyed by
 * forge kind (`local`, `gitlab`, `github`), each passing one contract (`test/forge/create-remote-project.test.ts`).
 * It is not per-repository (the repository does not exist yet), so it is not a `ForgeClient` operation.
 * `ensureProject` is idempotent: the project carries a marker naming the Auto-Dev project that made it (GitLab/GitHub:
 * in its description; local: git config `autodev.project`), so a retry after a crash finds its own project instead of
 * failing or making a second one, and one of that name without the marker is someone else's (`PROJECT_REPO_TAKEN`,
 * nothing made). `ensureInitialCommit` pushes a first commit on `main` to a project with no branch yet (with real
 * git; the token only in git's environment, never a URL, argv or `.git/config`). Tokens come from the environment
 * variable the settings name, as for the forge clients; nothing here reaches a session.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AutodevError, isAutodevError } from '../errors.js';
import { git, resolveCommit } from '../workspace/git.js';
import type { ForgeClientContext, ForgeRepository } from './forge-client.js';
import {
  checkedBaseUrl,
  checkedTokenEnv,
  DEFAULT_TOKEN_ENV,
  forgeToken,
  GITHUB_DEFAULT_API_URL,
  GITLAB_DEFAULT_BASE_URL,
  type OwnProject,
} from './forge-remote-settings.js';
import { GIT_TOKEN_USER, gitCredentialEnv } from './git-credential-env.js';
import { GitHubClient } from './github-client.js';
import { GitLabClient } from './gitlab-client.js';
import { pushToRemote } from './push-to-remote.js';

export type ProjectForge = 'local' | 'gitlab' | 'github';

/** The `products:` settings (`config/settings-schema.ts`). */
export interface ProjectForgeSettings {
  forge: ProjectForge;
  /** GitLab instance URL / GitHub REST API URL; null: gitlab.com / api.github.com. */
  base_url: string | null;
  /** GitLab group path / GitHub organization; null: the token's own user. */
  namespace: string | null;
  /** The token's environment variable; null: GITLAB_TOKEN / GITHUB_TOKEN. */
  token_env: string | null;
  visibility: 'private' | 'internal' | 'public';
}

export interface NewProjectRepository {
  /** The repository's name (its path in the namespace; local: its directory under `<data-dir>/projects/`). */
  name: string;
  /** For the description and the first commit's message. */
  title: string;
  /** Who made it, e.g. `[auto-dev:project:12]` (`projectMarker`). */
  marker: string;
}

export interface ProjectRepository {
  forge: ProjectForge;
  /** GitLab `group/name`, GitHub `owner/name`; local: the directory. */
  project: string;
  /** The token-free clone URL; local: the directory. */
  remoteUrl: string;
  webUrl: string | null;
  /** false: an earlier attempt made it. */
  created: boolean;
}

export interface ProjectRepositoryCreator {
  readonly forge: ProjectForge;
  /** Where a registered repository's settings say it lives (GitLab/GitHub: for `addForgeRepository`). */
  readonly baseUrl: string | null;
  readonly tokenEnv: string | null;
  /** The project this marker made, else a new empty one; one of that name made by anyone else: PROJECT_REPO_TAKEN. */
  ensureProject(input: NewProjectRepository): Promise<ProjectRepository>;
  /** A first commit on `main` when the project has no branch yet (a retry finds it); returns the branch's head. */
  ensureInitialCommit(project: ProjectRepository, input: NewProjectRepository): Promise<{ sha: string }>;
}

/** The marker of Auto-Dev project `id` (brackets: `[auto-dev:project:1]` is no part of `[auto-dev:project:12]`). */
export function projectMarker(projectId: number): string {
  return `[auto-dev:project:${projectId}]`;
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;
const INITIAL_BRANCH = 'main';

function checkedName(name: string): string {
  if (!NAME.test(name) || name.includes('..') || name.endsWith('.git')) {
    throw new AutodevError('VALIDATION_FAILED', `"${name}" cannot name a repository`);
  }
  return name;
}

function description(input: NewProjectRepository): string {
  return `${input.title} — made by Auto-Dev ${input.marker}`;
}

/** `local`: a git repository at `<data-dir>/projects/<name>/`, its own remote (the local forge's default). */
class LocalProjectCreator implements ProjectRepositoryCreator {
  readonly forge = 'local' as const;
  readonly baseUrl = null;
  readonly tokenEnv = null;

  constructor(private readonly context: ForgeClientContext) {}

  async ensureProject(input: NewProjectRepository): Promise<ProjectRepository> {
    const dir = path.join(this.context.dataDir, 'projects', checkedName(input.name));
    const handle = (created: boolean): ProjectRepository => ({
      forge: 'local',
      project: dir,
      remoteUrl: dir,
      webUrl: null,
      created,
    });
    if (fs.existsSync(path.join(dir, '.git'))) {
      const marker = await git(dir, ['config', '--local', '--get', 'autodev.project'], { okExitCodes: [1] });
      if (marker.stdout.trim() === input.marker) return handle(false);
      // A repository without our marker and without commits is one a crash left between `init` and `config`.
      if (marker.exitCode !== 0 && (await resolveCommit(dir, 'HEAD').catch(() => null)) === null) {
        await git(dir, ['config', '--local', 'autodev.project', input.marker]);
        return handle(false);
      }
      throw new AutodevError(
        'PROJECT_REPO_TAKEN',
        `${dir} already holds a git repository Auto-Dev did not make for this project; move it away, then retry the task`,
      );
    }
    if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
      throw new AutodevError(
        'PROJECT_REPO_TAKEN',
        `${dir} already holds files that are not this project's repository; move them away, then retry the task`,
      );
    }
    fs.mkdirSync(dir, { recursive: true });
    await git(dir, ['init', '--quiet', `--initial-branch=${INITIAL_BRANCH}`]);
    await git(dir, ['config', '--local', 'autodev.project', input.marker]);
    return handle(true);
  }

  async ensureInitialCommit(project: ProjectRepository, input: NewProjectRepository): Promise<{ sha: string }> {
    const head = await resolveCommit(project.remoteUrl, 'HEAD').catch(() => null);
    if (head !== null) return { sha: head };
    await git(project.remoteUrl, ['commit', '--quiet', '--allow-empty', '-m', `Start ${input.title}`], {
      asAutodev: true,
    });
    return { sha: (await git(project.remoteUrl, ['rev-parse', 'HEAD'])).stdout.trim() };
  }
}

/** GitLab (`POST /projects`) and GitHub (`POST /user/repos`, `/orgs/{org}/repos`) through their forge clients. */
class RemoteProjectCreator implements ProjectRepositoryCreator {
  readonly baseUrl: string;
  readonly tokenEnv: string;
  private readonly namespace: string | null;

  constructor(
    readonly forge: 'gitlab' | 'github',
    private readonly settings: ProjectForgeSettings,
    private readonly context: ForgeClientContext,
  ) {
    this.baseUrl = checkedBaseUrl(
      settings.base_url ?? (forge === 'gitlab' ? GITLAB_DEFAULT_BASE_URL : GITHUB_DEFAULT_API_URL),
      'products.base_url',
    );
    this.tokenEnv = checkedTokenEnv(settings.token_env ?? DEFAULT_TOKEN_ENV[forge]);
    this.namespace = settings.namespace;
    if (forge === 'github' && this.namespace?.includes('/')) {
      throw new AutodevError(
        'VALIDATION_FAILED',
        `products.namespace "${this.namespace}" is not a GitHub organization`,
      );
    }
  }

  /** A client whose repository stands for the one not made yet: its request handling, back-off and errors. */
  private client(name: string): GitLabClient | GitHubClient {
    const probe: ForgeRepository = {
      id: 0,
      name,
      kind: this.forge,
      localPath: this.context.dataDir,
      remoteUrl: null,
      defaultBranch: INITIAL_BRANCH,
      mergeMethod: 'merge',
      settings: {
        forge_base_url: this.baseUrl,
        forge_project: `${this.namespace ?? '-'}/${name}`,
        forge_token_env: this.tokenEnv,
      },
    };
    return this.forge === 'gitlab' ? new GitLabClient(probe, this.context) : new GitHubClient(probe, this.context);
  }

  async ensureProject(input: NewProjectRepository): Promise<ProjectRepository> {
    const made: OwnProject = await this.client(checkedName(input.name)).ensureOwnProject({
      namespace: this.namespace,
      name: input.name,
      description: description(input),
      marker: input.marker,
      visibility: this.settings.visibility,
    });
    return { forge: this.forge, ...made };
  }

  async ensureInitialCommit(project: ProjectRepository, input: NewProjectRepository): Promise<{ sha: string }> {
    const token = forgeToken(
      this.context,
      { baseUrl: this.baseUrl, project: project.project, tokenEnv: this.tokenEnv },
      input.name,
      this.forge === 'gitlab' ? 'write_repository' : 'repo',
    );
    const env = { ...process.env, ...gitCredentialEnv(project.remoteUrl, token, GIT_TOKEN_USER[this.forge]) };
    const remoteHead = async (): Promise<string | null> => {
      const listed = await git(this.context.dataDir, ['ls-remote', project.remoteUrl, `refs/heads/${INITIAL_BRANCH}`], {
        okExitCodes: [128],
        env,
      });
      if (listed.exitCode !== 0) {
        throw new AutodevError(
          'FORGE_REQUEST_FAILED',
          `reading the branches of ${project.project} failed: ${listed.stderr.split(token).join('[token]').trim()}`,
        );
      }
      return listed.stdout.trim().split(/\s+/)[0] || null;
    };
    const existing = await remoteHead();
    if (existing) return { sha: existing };
    const scratch = path.join(this.context.dataDir, 'clones', `.seed-${randomBytes(6).toString('hex')}`);
    fs.mkdirSync(scratch, { recursive: true, mode: 0o700 });
    try {
      await git(scratch, ['init', '--quiet', `--initial-branch=${INITIAL_BRANCH}`]);
      await git(scratch, ['commit', '--quiet', '--allow-empty', '-m', `Start ${input.title}`], { asAutodev: true });
      return await pushToRemote({
        forge: this.forge === 'gitlab' ? 'GitLab' : 'GitHub',
        repository: input.name,
        localPath: scratch,
        remoteUrl: project.remoteUrl,
        branch: INITIAL_BRANCH,
        force: false,
        token,
        username: GIT_TOKEN_USER[this.forge],
        tokenSource: this.tokenEnv,
        pushScope: this.forge === 'gitlab' ? 'write_repository' : 'repo',
      });
    } catch (error) {
      // Another attempt pushed its first commit between our look and our push: that one is the start.
      if (!(isAutodevError(error) && error.code === 'FORGE_CONFLICT')) throw error;
      const head = await remoteHead();
      if (!head) throw error;
      return { sha: head };
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }
}

const CREATORS: Record<
  ProjectForge,
  (settings: ProjectForgeSettings, context: ForgeClientContext) => ProjectRepositoryCreator
> = {
  local: (_settings, context) => new LocalProjectCreator(context),
  gitlab: (settings, context) => new RemoteProjectCreator('gitlab', settings, context),
  github: (settings, context) => new RemoteProjectCreator('github', settings, context),
};

/** The creator for `settings.forge`; bad settings (a URL with credentials, a bad variable name) throw here. */
export function projectRepositoryCreator(
  settings: ProjectForgeSettings,
  context: ForgeClientContext,
): ProjectRepositoryCreator {
  return CREATORS[settings.forge](settings, context);
}
