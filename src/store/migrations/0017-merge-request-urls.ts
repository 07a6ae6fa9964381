/**
 * @module Migration 0017: a merge request's page in its forge (`merge_requests.url`, nullable): set when the request
 * is opened in GitLab or GitHub (`forge/open-in-forge.ts`, the merge step); null on the local forge, whose requests
 * exist only as rows. Released migrations are never edited; add a new file.
 */
import type { Kysely, Migration } from 'kysely';

export function mergeRequestUrlsMigration(): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      await db.schema.alterTable('merge_requests').addColumn('url', 'text').execute();
    },
  };
}
