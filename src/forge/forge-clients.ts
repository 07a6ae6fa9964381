/**
 * @module The one place a repository's forge client is chosen: a registry of client factories keyed by forge kind
 * (`local`, `gitlab`, `github` built in; `registerForgeClient` adds or replaces one), and `forgeClientFor(row, context)`.
 * `forgeRepository` (what a client sees of a row) lives in `forge-repository.ts` and is re-exported here.
 */
import { AutodevError } from '../errors.js';
import type { ForgeKind } from '../store/schema.js';
import type { ForgeClient, ForgeClientContext, ForgeClientFactory } from './forge-client.js';
import { githubClientFactory } from './github-client.js';
import { gitlabClientFactory } from './gitlab-client.js';
import { localForgeClientFactory } from './local-forge-client.js';
import { forgeRepository } from './forge-repository.js';
import type { RepositoryRow } from './repositories.js';
import { workingCopyPath } from './working-copy.js';

export { forgeRepository };

const FACTORIES = new Map<ForgeKind, ForgeClientFactory>([
  ['local', localForgeClientFactory],
  ['gitlab', gitlabClientFactory],
  ['github', githubClientFactory],
]);

/** Registers (or replaces) the client factory of a forge kind; the GitLab and GitHub modules call this. */
export function registerForgeClient(kind: ForgeKind, factory: ForgeClientFactory): void {
  FACTORIES.set(kind, factory);
}

/**
 * The client of `row`'s forge; FORGE_UNAVAILABLE when no client of its kind is registered. Its local clone is this
 * process's working copy (`working-copy.ts`): the registered location when it is on this disk, else its clone cache.
 */
export function forgeClientFor(row: RepositoryRow, context: ForgeClientContext): ForgeClient {
  const factory = FACTORIES.get(row.forge);
  if (!factory) {
    throw new AutodevError(
      'FORGE_UNAVAILABLE',
      `repository ${row.name} is on ${row.forge}, and this Auto-Dev has no ${row.forge} client`,
    );
  }
  return factory(forgeRepository({ ...row, location: workingCopyPath(row, context.dataDir) }), context);
}
