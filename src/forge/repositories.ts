/**
 * @module The repositories Auto-Dev works on (`autodev repos add|list|remove`, `GET/POST /api/repos`): a local git
 * repository registered by path, with its default branch and the test, lint and deploy commands the gates run, and
 * its settings (JSON): the coverage threshold of the test gate and the names of the secrets its deployment gets.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely, Selectable } from 'kysely';
import { z } from 'zod';
import { AutodevError } from '../errors.js';
import { recordEvent } from '../events/record-event.js';
import { inTransaction } from '../store/in-transaction.js';
import type { Database, RepositoriesTable } from '../store/schema.js';
import { currentBranch, git } from '../workspace/git.js';

export type RepositoryRow = Selectable<RepositoriesTable>;

/** What registering any repository takes besides where it is: its name, commands, gate settings and who asked. */
export interface RepositoryOptions {
  name?: string | undefined;
  testCommand?: string | undefined;
  deployCommand?: string | undefined;
  lintCommand?: string | undefined;
  coverageThreshold?: number | undefined;
  deploySecrets?: readonly string[] | undefined;
  mergeMethod?: MergeMethod | undefined;
  actor: string;
  now: number;
}

export interface NewRepository extends RepositoryOptions {
  /** Path to a local git repository (absolute, or relative to `cwd`). */
  path: string;
}

/** `repositories.settings`: what a repository's gates and deployment need besides its commands. */
export const MERGE_METHODS = ['merge', 'squash'] as const;
export type MergeMethod = (typeof MERGE_METHODS)[number];

export const RepositorySettingsSchema = z.strictObject({
  /** The test gate fails when the run reports total coverage below this percentage. */
  coverage_threshold: z.number().min(0).max(100).optional(),
  /** How an approved merge request lands on the default branch: a merge commit (default) or one squashed commit. */
  merge_method: z.enum(MERGE_METHODS).optional(),
  /** Environment variables (names) the deploy command gets, values from the secret store (`<prefix>/NAME`). */
  deploy_secrets: z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'a secret name must be an environment variable name'))
    .max(50)
    .optional(),
  /** GitLab and GitHub repositories: the instance (GitLab) or REST API (GitHub) base URL. */
  forge_base_url: z.string().max(2000).optional(),
  /** GitLab `group/name`, GitHub `owner/name`. */
  forge_project: z.string().max(500).optional(),
  /** The environment variable holding the forge token (the token itself is never stored). */
  forge_token_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'a token variable must be an environment variable name')
    .optional(),
  /** The project's page on the forge, for the dashboard. */
  forge_web_url: z.string().max(2000).optional(),
  /**
   * How the forge's events reach Auto-Dev: its webhooks (the default), or `poll` where the forge cannot reach this
   * installation (the scheduler service polls it: `webhooks/poll-forge.ts`).
   */
  forge_events: z.enum(['webhook', 'poll']).optional(),
});
export type RepositorySettings = z.output<typeof RepositorySettingsSchema>;

/** The repository's settings; a row written by an older version with unknown keys keeps only the known ones. */
export function repositorySettings(row: Pick<RepositoryRow, 'settings'>): RepositorySettings {
  let raw: unknown;
  try {
    raw = JSON.parse(row.settings);
  } catch {
    return {};
  }
  const parsed = RepositorySettingsSchema.strip().safeParse(raw);
  return parsed.success ? parsed.data : {};
}

export function checkedSettings(settings: RepositorySettings): RepositorySettings {
  const parsed = RepositorySettingsSchema.safeParse(settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AutodevError(
      'VALIDATION_FAILED',
      `repository setting ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const secrets = parsed.data.deploy_secrets;
  return {
    ...parsed.data,
    ...(secrets ? { deploy_secrets: [...new Set(secrets)] } : {}),
  };
}

const REPOSITORY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function optionalCommand(what: string, value: string | undefined): string | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  if (trimmed === '' || trimmed.length > 2000) {
    throw new AutodevError('VALIDATION_FAILED', `the ${what} command must be 1 to 2000 characters`);
  }
  return trimmed;
}

/** Checks the path is a git work tree with a branch checked out; returns its top level and that branch. */
async function inspectRepository(location: string): Promise<{ top: string; branch: string }> {
  if (!fs.existsSync(location) || !fs.statSync(location).isDirectory()) {
    throw new AutodevError('VALIDATION_FAILED', `${location} is not a directory`);
  }
  const top = await git(location, ['rev-parse', '--show-toplevel'], { okExitCodes: [128] });
  if (top.exitCode !== 0) throw new AutodevError('VALIDATION_FAILED', `${location} is not a git repository`);
  const root = top.stdout.trim();
  const branch = await currentBranch(root);
  if (!branch) {
    throw new AutodevError('VALIDATION_FAILED', `${root} has a detached HEAD; check out its default branch first`);
  }
  const head = await git(root, ['rev-parse', '--verify', '--quiet', 'HEAD'], { okExitCodes: [1, 128] });
  if (head.exitCode !== 0) throw new AutodevError('VALIDATION_FAILED', `${root} has no commits yet`);
  return { top: root, branch };
}

/**
 * A repository's name, commands and settings as registration checks them, for a local and a forge repository alike;
 * `extraSettings` (a forge's keys) are checked with the rest.
 */
export function checkedRepositoryOptions(
  name: string,
  input: RepositoryOptions,
  extraSettings: RepositorySettings = {},
): {
  name: string;
  testCommand: string | null;
  deployCommand: string | null;
  lintCommand: string | null;
  settings: RepositorySettings;
} {
  if (!REPOSITORY_NAME.test(name)) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `repository name "${name}" must be 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
  return {
    name,
    testCommand: optionalCommand('test', input.testCommand),
    deployCommand: optionalCommand('deploy', input.deployCommand),
    lintCommand: optionalCommand('lint', input.lintCommand),
    settings: checkedSettings({
      ...extraSettings,
      ...(input.coverageThreshold !== undefined ? { coverage_threshold: input.coverageThreshold } : {}),
      ...(input.deploySecrets !== undefined ? { deploy_secrets: [...input.deploySecrets] } : {}),
      ...(input.mergeMethod !== undefined ? { merge_method: input.mergeMethod } : {}),
    }),
  };
}

export async function addRepository(db: Kysely<Database>, input: NewRepository, cwd: string): Promise<RepositoryRow> {
  const { top, branch } = await inspectRepository(path.resolve(cwd, input.path));
  const { name, testCommand, deployCommand, lintCommand, settings } = checkedRepositoryOptions(
    input.name ?? path.basename(top),
    input,
  );
  return inTransaction(db, async (tx) => {
    const taken = await tx.selectFrom('repositories').select('id').where('name', '=', name).executeTakeFirst();
    if (taken) throw new AutodevError('REPO_EXISTS', `a repository named "${name}" already exists (id ${taken.id})`);
    const row = await tx
      .insertInto('repositories')
      .values({
        name,
        forge: 'local',
        location: top,
        default_branch: branch,
        test_command: testCommand,
        deploy_command: deployCommand,
        lint_command: lintCommand,
        settings: JSON.stringify(settings),
        created_at: input.now,
        updated_at: input.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEvent(tx, {
      kind: 'repository.added',
      subjectType: 'repository',
      subjectId: row.id,
      actor: input.actor,
      data: { name, location: top, default_branch: branch },
      now: input.now,
    });
    return row;
  });
}

export function listRepositories(db: Kysely<Database>): Promise<RepositoryRow[]> {
  return db.selectFrom('repositories').selectAll().orderBy('name').execute();
}

export async function findRepository(db: Kysely<Database>, name: string): Promise<RepositoryRow> {
  const row = await db.selectFrom('repositories').selectAll().where('name', '=', name).executeTakeFirst();
  if (!row) throw new AutodevError('REPO_NOT_FOUND', `no repository named "${name}"; "autodev repos list" shows them`);
  return row;
}

/** Forgets a repository (its files are untouched); refused while a workflow on it is still running. */
export function removeRepository(
  db: Kysely<Database>,
  name: string,
  meta: { actor: string; now: number },
): Promise<RepositoryRow> {
  return inTransaction(db, async (tx) => {
    const row = await findRepository(tx, name);
    const busy = await tx
      .selectFrom('workflows')
      .select('id')
      .where('repo_id', '=', row.id)
      .where('status', 'in', ['running', 'waiting_for_human'])
      .executeTakeFirst();
    if (busy) {
      throw new AutodevError('REPO_IN_USE', `repository "${name}" still has an open workflow (id ${busy.id})`);
    }
    const used = await tx.selectFrom('workflows').select('id').where('repo_id', '=', row.id).executeTakeFirst();
    const mrs = await tx.selectFrom('merge_requests').select('id').where('repo_id', '=', row.id).executeTakeFirst();
    if (used || mrs) {
      throw new AutodevError('REPO_IN_USE', `repository "${name}" has workflow history; it is kept for the audit log`);
    }
    await tx.deleteFrom('repositories').where('id', '=', row.id).execute();
    await recordEvent(tx, {
      kind: 'repository.removed',
      subjectType: 'repository',
      subjectId: row.id,
      actor: meta.actor,
      data: { name },
      now: meta.now,
    });
    return row;
  });
}

export async function findRepositoryById(db: Kysely<Database>, id: number): Promise<RepositoryRow> {
  const row = await db.selectFrom('repositories').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new AutodevError('REPO_NOT_FOUND', `no repository with id ${id}`);
  return row;
}

export interface RepositoryCommands {
  /** `undefined` keeps the command, `null` or `''` clears it. */
  testCommand?: string | null | undefined;
  deployCommand?: string | null | undefined;
  lintCommand?: string | null | undefined;
  /** `undefined` keeps it, `null` clears it. */
  coverageThreshold?: number | null | undefined;
  deploySecrets?: readonly string[] | null | undefined;
  /** `undefined` keeps it, `null` goes back to the default (a merge commit). */
  mergeMethod?: MergeMethod | null | undefined;
}

/** Changes a repository's test, deploy and lint commands, its coverage threshold and its deploy secrets. */
export function updateRepositoryCommands(
  db: Kysely<Database>,
  id: number,
  commands: RepositoryCommands,
  meta: { actor: string; now: number },
): Promise<RepositoryRow> {
  const next = (what: string, value: string | null | undefined): string | null | undefined =>
    value === undefined ? undefined : value === null || value.trim() === '' ? null : optionalCommand(what, value);
  const changes = {
    test_command: next('test', commands.testCommand),
    deploy_command: next('deploy', commands.deployCommand),
    lint_command: next('lint', commands.lintCommand),
  };
  const settingsChanged =
    commands.coverageThreshold !== undefined ||
    commands.deploySecrets !== undefined ||
    commands.mergeMethod !== undefined;
  return inTransaction(db, async (tx) => {
    const before = await findRepositoryById(tx, id);
    const set: Record<string, unknown> = Object.fromEntries(
      Object.entries(changes).filter(([, value]) => value !== undefined),
    );
    if (settingsChanged) {
      const current: Record<string, unknown> = { ...repositorySettings(before) };
      if (commands.coverageThreshold === null) delete current.coverage_threshold;
      else if (commands.coverageThreshold !== undefined) current.coverage_threshold = commands.coverageThreshold;
      if (commands.deploySecrets === null) delete current.deploy_secrets;
      else if (commands.deploySecrets !== undefined) current.deploy_secrets = [...commands.deploySecrets];
      if (commands.mergeMethod === null) delete current.merge_method;
      else if (commands.mergeMethod !== undefined) current.merge_method = commands.mergeMethod;
      set.settings = JSON.stringify(checkedSettings(current));
    }
    const row = await tx
      .updateTable('repositories')
      .set({ ...set, updated_at: meta.now })
      .where('id', '=', before.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEvent(tx, {
      kind: 'repository.updated',
      subjectType: 'repository',
      subjectId: row.id,
      actor: meta.actor,
      data: { name: row.name, ...set },
      now: meta.now,
    });
    return row;
  });
}

export function repositoryToJson(row: RepositoryRow) {
  return {
    id: row.id,
    name: row.name,
    forge: row.forge,
    location: row.location,
    default_branch: row.default_branch,
    test_command: row.test_command,
    deploy_command: row.deploy_command,
    lint_command: row.lint_command,
    coverage_threshold: repositorySettings(row).coverage_threshold ?? null,
    deploy_secrets: repositorySettings(row).deploy_secrets ?? [],
    merge_method: repositorySettings(row).merge_method ?? 'merge',
    remote_url: row.remote_url,
    forge_project: repositorySettings(row).forge_project ?? null,
    forge_url: repositorySettings(row).forge_web_url ?? null,
    forge_events: repositorySettings(row).forge_events ?? 'webhook',
    created_at: new Date(row.created_at).toISOString(),
  };
}
