/**
 * @module The one place a repository's forge client is chosen: a registry of client factories keyed by forge kind
 * (`local`, `gitlab`, `github` built in; `registerForgeClient` adds or replaces one), and `forgeClientFor(row, context)`.
 */
import { AutodevError } from '../errors.js';
import type { ForgeKind } from '../store/schema.js';
import type { ForgeClient, ForgeClientContext, ForgeClientFactory, ForgeRepository } from './forge-client.js';
import { githubClientFactory } from './github-client.js';
import { gitlabClientFactory } from './gitlab-client.js';
import { localForgeClientFactory } from './local-forge-client.js';
import { repositorySettings, type RepositoryRow } from './repositories.js';

const FACTORIES = new Map<ForgeKind, ForgeClientFactory>([
  ['local', localForgeClientFactory],
  ['gitlab', gitlabClientFactory],
  ['github', githubClientFactory],
]);

/** Registers (or replaces) the client factory of a forge kind; the GitLab and GitHub modules call this. */
export function registerForgeClient(kind: ForgeKind, factory: ForgeClientFactory): void {
  FACTORIES.set(kind, factory);
}

/** What a client sees of a repository row. */
export function forgeRepository(row: RepositoryRow): ForgeRepository {
  let settings: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(row.settings);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) settings = parsed as Record<string, unknown>;
  } catch {
    // A row with unreadable settings gets none; `repositorySettings` says the same.
  }
  return {
    id: row.id,
    name: row.name,
    kind: row.forge,
    localPath: row.location,
    remoteUrl: row.remote_url,
    defaultBranch: row.default_branch,
    mergeMethod: repositorySettings(row).merge_method ?? 'merge',
    settings,
  };
}

/** The client of `row`'s forge; FORGE_UNAVAILABLE when no client of its kind is registered. */
export function forgeClientFor(row: RepositoryRow, context: ForgeClientContext): ForgeClient {
  const factory = FACTORIES.get(row.forge);
  if (!factory) {
    throw new AutodevError(
      'FORGE_UNAVAILABLE',
      `repository ${row.name} is on ${row.forge}, and this Auto-Dev has no ${row.forge} client`,
    );
  }
  return factory(forgeRepository(row), context);
}
