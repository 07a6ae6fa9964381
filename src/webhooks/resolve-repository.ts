/**
 * @module Which registered repository a delivery is about: the one of that forge whose `location` is one of the
 * project's URLs (web, HTTP clone, SSH clone; compared without `.git`, a trailing `/` and case) or its path
 * (`group/name`). The forge client work (issue 12 part 1) may give repositories a separate remote URL column; this is
 * then the one function to change. Injected into the webhook service, so a different rule can be passed.
 */
import type { Kysely } from 'kysely';
import type { RepositoryRow } from '../forge/repositories.js';
import type { Database } from '../store/schema.js';
import type { ProjectRef } from './forge-events.js';
import type { WebhookForge } from './webhook-secrets.js';

export type RepositoryResolver = (
  db: Kysely<Database>,
  forge: WebhookForge,
  project: ProjectRef,
) => Promise<RepositoryRow | undefined>;

function normalize(location: string): string {
  return location
    .trim()
    .toLowerCase()
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
}

export const resolveRepositoryByLocation: RepositoryResolver = async (db, forge, project) => {
  const wanted = new Set([project.path, ...project.urls].map(normalize));
  const rows = await db.selectFrom('repositories').selectAll().where('forge', '=', forge).orderBy('id').execute();
  return rows.find((row) => wanted.has(normalize(row.location)));
};
