/**
 * @module Where a GitLab or GitHub repository lives, as its settings record it (`forge_base_url`, `forge_project`,
 * `forge_token_env`), and the token read from the environment variable named there. Shared by the two clients and
 * `autodev repos add --gitlab/--github`; tokens are never stored, only the variable's name.
 */
import { AutodevError } from '../errors.js';
import type { ForgeClientContext, ForgeRepository } from './forge-client.js';

export const GITLAB_DEFAULT_BASE_URL = 'https://gitlab.com';
export const GITHUB_DEFAULT_API_URL = 'https://api.github.com';
export const DEFAULT_TOKEN_ENV = { gitlab: 'GITLAB_TOKEN', github: 'GITHUB_TOKEN' } as const;

export interface ForgeRemoteSettings {
  /** GitLab: the instance (`https://gitlab.example.com`, no `/api/v4`); GitHub: the REST API base URL. */
  baseUrl: string;
  /** GitLab `group/subgroup/name`, GitHub `owner/name`. */
  project: string;
  /** The environment variable holding the token. */
  tokenEnv: string;
}

/** A GitLab project or GitHub repository as its forge reports it. */
export interface RemoteProject {
  defaultBranch: string;
  /** The token-free HTTPS clone URL. */
  remoteUrl: string;
  webUrl: string;
  /**
   * The merge methods the forge's settings allow (GitLab `squash_option`: `never` forbids a squash, `always` a plain
   * merge; GitHub `allow_merge_commit` / `allow_squash_merge`), and the one they default to (GitLab `default_on` /
   * `always`, or a GitHub repository that allows only squashing: `squash`).
   */
  mergeMethods: { allowed: ('merge' | 'squash')[]; preferred: 'merge' | 'squash' };
}

/** What `ensureOwnProject` of the GitLab and GitHub clients makes (see `create-remote-project.ts`). */
export interface OwnProjectInput {
  /** GitLab group path or GitHub organization; null: the token's own user. */
  namespace: string | null;
  /** The project's path / repository name. */
  name: string;
  /** Its description; it holds `marker`. */
  description: string;
  /** Who made it (`[auto-dev:project:12]`): a project found without it is someone else's. */
  marker: string;
  visibility: 'private' | 'internal' | 'public';
}

export interface OwnProject {
  /** GitLab `group/name`, GitHub `owner/name`. */
  project: string;
  /** The token-free HTTPS clone URL. */
  remoteUrl: string;
  webUrl: string;
  /** false: found (an earlier attempt made it). */
  created: boolean;
}

/** A project of that path exists and Auto-Dev did not make it. */
export function projectTaken(forge: 'GitLab' | 'GitHub', fullPath: string): AutodevError {
  return new AutodevError(
    'PROJECT_REPO_TAKEN',
    `${forge} already has ${fullPath}, which Auto-Dev did not make for this project; rename or remove it, or change ` +
      'products.namespace, then retry the task',
  );
}

const PROJECT = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/;
const TOKEN_ENV = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Checks a base URL is http(s) without credentials, query or fragment; returns it without a trailing slash. */
export function checkedBaseUrl(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AutodevError('VALIDATION_FAILED', `${what} "${value}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AutodevError('VALIDATION_FAILED', `${what} must be an http(s) URL, not ${url.protocol}`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `${what} must not carry credentials, a query or a fragment (tokens come from the environment)`,
    );
  }
  return url.toString().replace(/\/+$/, '');
}

export function checkedProject(value: string, forge: 'gitlab' | 'github'): string {
  const ok = PROJECT.test(value) && (forge === 'gitlab' || value.split('/').length === 2) && !value.includes('..');
  if (!ok) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      forge === 'gitlab'
        ? `--project must be GROUP/NAME (subgroups allowed), not "${value}"`
        : `--github must be OWNER/NAME, not "${value}"`,
    );
  }
  return value;
}

export function checkedTokenEnv(value: string): string {
  if (!TOKEN_ENV.test(value)) {
    throw new AutodevError('VALIDATION_FAILED', `the token variable "${value}" must be an environment variable name`);
  }
  return value;
}

/** The repository's forge location from its settings; a row without them is a clear error. */
export function forgeRemoteSettings(repository: ForgeRepository, forge: 'gitlab' | 'github'): ForgeRemoteSettings {
  const s = repository.settings;
  const project = typeof s.forge_project === 'string' ? s.forge_project : null;
  if (!project) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `repository "${repository.name}" has no forge_project setting; add it again with autodev repos add --${forge}`,
    );
  }
  const base =
    typeof s.forge_base_url === 'string'
      ? s.forge_base_url
      : forge === 'gitlab'
        ? GITLAB_DEFAULT_BASE_URL
        : GITHUB_DEFAULT_API_URL;
  const tokenEnv = typeof s.forge_token_env === 'string' ? s.forge_token_env : DEFAULT_TOKEN_ENV[forge];
  return { baseUrl: checkedBaseUrl(base, 'the forge base URL'), project, tokenEnv: checkedTokenEnv(tokenEnv) };
}

/** The token from the environment; missing is `FORGE_AUTH_FAILED` saying which variable to set. */
export function forgeToken(
  context: ForgeClientContext,
  settings: ForgeRemoteSettings,
  repository: string,
  scope: string,
): string {
  const token = context.env[settings.tokenEnv];
  if (!token) {
    throw new AutodevError(
      'FORGE_AUTH_FAILED',
      `repository "${repository}" needs a token in ${settings.tokenEnv} (a token with the ${scope} scope)`,
    );
  }
  return token;
}

/** A merge request from the target branch into itself is refused, as the local forge refuses it. */
export function refuseDefaultBranch(source: string, target: string, repository: string): void {
  if (source === target) {
    throw new AutodevError(
      'BRANCH_PROTECTED',
      `${source} is the target branch of repository "${repository}"; a merge request needs a task branch`,
    );
  }
}
