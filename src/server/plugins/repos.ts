/**
 * @module The repository routes: `GET /api/repos` lists, `POST /api/repos` registers a local git repository by
 * absolute path or a GitLab project / GitHub repository (`forge`, `project`, `base_url`, `token_env`: cloned into the
 * data directory), `PATCH /api/repos/:id` changes its commands, `DELETE /api/repos/:id` forgets it (all admins only).
 */
import path from 'node:path';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AutodevError } from '../../errors.js';
import { idText, storableText, TEXT_LIMITS } from '../../domain/input-policy.js';
import { addForgeRepository } from '../../forge/add-forge-repository.js';
import {
  addRepository,
  findRepositoryById,
  listRepositories,
  MERGE_METHODS,
  removeRepository,
  repositoryToJson,
  updateRepositoryCommands,
} from '../../forge/repositories.js';
import type { Database } from '../../store/schema.js';
import type { Kysely } from 'kysely';
import { ErrorResponseSchema } from '../error-handler.js';
import { requireRole } from './auth.js';
import type { SameMembers } from '../../domain/same-members.js';
import { RepositorySchema, type MERGE_METHOD_NAMES } from '../../domain/repository-schema.js';

/** The schema's merge methods are the forge's (a compile error when one list changes alone). */
const sameMethods: SameMembers<(typeof MERGE_METHODS)[number], (typeof MERGE_METHOD_NAMES)[number]> = true;
void sameMethods;

const NewRepoBody = z.strictObject({
  path: storableText({ min: 1, max: TEXT_LIMITS.path })
    .optional()
    .describe('Absolute path of a local git repository on the server (a local repository).'),
  forge: z
    .enum(['local', 'gitlab', 'github'])
    .optional()
    .describe('gitlab or github: register a remote project (with project); local (default): a path'),
  project: storableText({ min: 1, max: TEXT_LIMITS.name }).optional().describe('GitLab GROUP/NAME, GitHub OWNER/NAME'),
  base_url: storableText({ min: 1, max: TEXT_LIMITS.path })
    .optional()
    .describe('GitLab instance URL (default https://gitlab.com) or GitHub REST API URL (default api.github.com)'),
  token_env: storableText({ min: 1, max: TEXT_LIMITS.name })
    .optional()
    .describe('Environment variable of the server holding the token (default GITLAB_TOKEN / GITHUB_TOKEN)'),
  events: z
    .enum(['webhook', 'poll'])
    .optional()
    .describe('poll: the forge cannot reach this server; the scheduler service polls it (default webhook)'),
  name: storableText({ max: TEXT_LIMITS.name })
    .optional()
    .describe('Name used by stories (default: the directory name).'),
  test_command: storableText({ max: TEXT_LIMITS.command }).optional(),
  deploy_command: storableText({ max: TEXT_LIMITS.command }).optional(),
  lint_command: storableText({ max: TEXT_LIMITS.command }).optional(),
  coverage_threshold: z.number().min(0).max(100).optional(),
  deploy_secrets: z
    .array(storableText({ max: TEXT_LIMITS.name }))
    .max(50)
    .optional()
    .describe('Names only; values come from the environment.'),
  merge_method: z.enum(MERGE_METHODS).optional().describe('merge (default) or squash'),
});

const Command = storableText({ max: TEXT_LIMITS.command })
  .nullable()
  .optional()
  .describe('null or "" clears the command.');
const PatchRepoBody = z.strictObject({
  test_command: Command,
  deploy_command: Command,
  lint_command: Command,
  coverage_threshold: z.number().min(0).max(100).nullable().optional().describe('null clears it'),
  deploy_secrets: z
    .array(storableText({ max: TEXT_LIMITS.name }))
    .max(50)
    .nullable()
    .optional()
    .describe('null clears them'),
  merge_method: z.enum(MERGE_METHODS).nullable().optional().describe('null goes back to merge'),
});
const RepoParams = z.object({ id: idText('repository id') });

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

export interface ReposOptions {
  db: Kysely<Database>;
  clock: () => number;
  /** Where GitLab/GitHub clones go; without it only local repositories can be added. */
  dataDir?: string | undefined;
  /** Where forge tokens are read from. */
  env: Readonly<Record<string, string | undefined>>;
}

export const reposPlugin: FastifyPluginAsyncZod<ReposOptions> = async (app, { db, clock, dataDir, env }) => {
  app.get(
    '/repos',
    {
      schema: {
        summary: 'List registered repositories',
        tags: ['repos'],
        response: { 200: z.object({ repos: z.array(RepositorySchema) }), ...errors(401) },
      },
    },
    async () => ({ repos: (await listRepositories(db)).map(repositoryToJson) }),
  );

  app.post(
    '/repos',
    {
      onRequest: requireRole('admin'),
      schema: {
        summary: 'Register a local git repository, a GitLab project or a GitHub repository',
        tags: ['repos'],
        body: NewRepoBody,
        response: { 201: RepositorySchema, ...errors(400, 401, 403, 409, 415, 502, 503) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const actor = `api:${request.apiToken?.name ?? 'unknown'}`;
      if (body.forge === 'gitlab' || body.forge === 'github') {
        if (body.path !== undefined) {
          throw new AutodevError('VALIDATION_FAILED', `a ${body.forge} repository is cloned by Auto-Dev; send no path`);
        }
        if (body.project === undefined) {
          throw new AutodevError('VALIDATION_FAILED', `a ${body.forge} repository needs project`);
        }
        if (!dataDir) {
          throw new AutodevError('VALIDATION_FAILED', 'this server has no data directory for clones');
        }
        const row = await addForgeRepository(
          db,
          {
            forge: body.forge,
            project: body.project,
            baseUrl: body.base_url,
            tokenEnv: body.token_env,
            events: body.events,
            name: body.name,
            testCommand: body.test_command,
            deployCommand: body.deploy_command,
            lintCommand: body.lint_command,
            coverageThreshold: body.coverage_threshold,
            deploySecrets: body.deploy_secrets,
            mergeMethod: body.merge_method,
            actor,
            now: clock(),
          },
          { dataDir, env },
        );
        return reply.code(201).send(repositoryToJson(row));
      }
      for (const [field, value] of Object.entries({
        project: body.project,
        base_url: body.base_url,
        token_env: body.token_env,
        events: body.events,
      })) {
        if (value !== undefined)
          throw new AutodevError('VALIDATION_FAILED', `${field} goes with forge gitlab or github`);
      }
      if (body.path === undefined) {
        throw new AutodevError('VALIDATION_FAILED', 'path is required (or forge gitlab/github with project)');
      }
      if (!path.isAbsolute(body.path)) {
        throw new AutodevError('VALIDATION_FAILED', `path must be absolute (got "${body.path}")`);
      }
      const row = await addRepository(
        db,
        {
          path: body.path,
          name: body.name,
          testCommand: body.test_command,
          deployCommand: body.deploy_command,
          lintCommand: body.lint_command,
          coverageThreshold: body.coverage_threshold,
          deploySecrets: body.deploy_secrets,
          mergeMethod: body.merge_method,
          actor: `api:${request.apiToken?.name ?? 'unknown'}`,
          now: clock(),
        },
        '/',
      );
      return reply.code(201).send(repositoryToJson(row));
    },
  );

  app.patch(
    '/repos/:id',
    {
      onRequest: requireRole('admin'),
      schema: {
        summary: "Change a repository's test, deploy or lint command",
        description: 'Unknown id: 404. A command longer than 2000 characters: 400.',
        tags: ['repos'],
        params: RepoParams,
        body: PatchRepoBody,
        response: { 200: RepositorySchema, ...errors(400, 401, 403, 404, 415) },
      },
    },
    async (request) => {
      const body = request.body;
      const row = await updateRepositoryCommands(
        db,
        request.params.id,
        {
          testCommand: body.test_command,
          deployCommand: body.deploy_command,
          lintCommand: body.lint_command,
          coverageThreshold: body.coverage_threshold,
          deploySecrets: body.deploy_secrets,
          mergeMethod: body.merge_method,
        },
        { actor: `api:${request.apiToken?.name ?? 'unknown'}`, now: clock() },
      );
      return repositoryToJson(row);
    },
  );

  app.delete(
    '/repos/:id',
    {
      onRequest: requireRole('admin'),
      schema: {
        summary: 'Forget a repository (its files are untouched)',
        description: 'Unknown id: 404. A repository with workflows (open or in the audit history): 409 REPO_IN_USE.',
        tags: ['repos'],
        params: RepoParams,
        response: { 200: RepositorySchema, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const found = await findRepositoryById(db, request.params.id);
      const row = await removeRepository(db, found.name, {
        actor: `api:${request.apiToken?.name ?? 'unknown'}`,
        now: clock(),
      });
      return repositoryToJson(row);
    },
  );
};
