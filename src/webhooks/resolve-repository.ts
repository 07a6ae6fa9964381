/**
 * @module Which registered repository a delivery is about: the one of that forge whose remote URL (`remote_url`, a
 * GitLab/GitHub repository's) or `location` (a repository registered by its URL) is one of the project's URLs (web,
 * HTTP clone, SSH clone; compared without `.git`, a trailing `/` and case), else the one whose forge project
 * (`settings.forge_project`) or location is its path (`group/name`). Injected into the webhook service, so a
 * different rule can be passed.
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
  const urls = new Set(project.urls.map(normalize));
  const path = normalize(project.path);
  const rows = await db.selectFrom('repositories').selectAll().where('forge', '=', forge).orderBy('id').execute();
  const byUrl = rows.find((row) => [row.remote_url, row.location].some((u) => u !== null && urls.has(normalize(u))));
  return byUrl ?? rows.find((row) => normalize(row.location) === path || normalize(forgeProject(row)) === path);
};

function forgeProject(row: RepositoryRow): string {
  try {
    const settings = JSON.parse(row.settings) as { forge_project?: unknown };
    return typeof settings.forge_project === 'string' ? settings.forge_project : '';
  } catch {
    return '';
  }
}
