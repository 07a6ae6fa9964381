/**
 * @module Fixtures for the memory tests: a registered repository row (no git needed: memory only names it).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../src/store/schema.js';

const NOW = Date.UTC(2026, 11, 1);

/** Inserts a repository row named `name` and returns its id. */
export async function insertRepo(db: Kysely<Database>, name: string): Promise<number> {
  const row = await db
    .insertInto('repositories')
    .values({
      name,
      forge: 'local',
      location: `/nowhere/${name}`,
      default_branch: 'main',
      test_command: null,
      deploy_command: null,
      lint_command: null,
      settings: '{}',
      created_at: NOW,
      updated_at: NOW,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}
