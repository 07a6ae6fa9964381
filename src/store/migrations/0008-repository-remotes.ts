/**
 * @module Migration 0008: a repository's remote (`repositories.remote_url`, nullable). Null keeps the embedded local
 * forge as it was (the repository is its own remote); a URL names where task branches are pushed and merge requests
 * live, with the repository's local clone cache under the data directory (`forge/clone-cache.ts`).
 * Released migrations are never edited; add a new file.
 */
import type { Kysely, Migration } from 'kysely';

export function repositoryRemotesMigration(): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      await db.schema.alterTable('repositories').addColumn('remote_url', 'text').execute();
    },
  };
}
