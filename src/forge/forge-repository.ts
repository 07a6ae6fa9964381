/**
 * @module What a forge client sees of a repository row (`ForgeRepository`): its local clone, remote, default branch,
 * merge method and settings. Pure; `forge-clients.ts` and `working-copy.ts` use it.
 */
import type { ForgeRepository } from './forge-client.js';
import { repositorySettings, type RepositoryRow } from './repositories.js';

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
